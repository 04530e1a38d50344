/** Response schemas of the checkout domain's own routes (the sale limit): what the document promises. */
import { z } from "zod";

export const saleLimitSchema = z
  .object({
    sku: z.string().meta({ example: "BK00002-PB" }),
    max_per_customer: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .nullable()
      .meta({ description: "Units one customer (account or guest device, and their IP) may hold or have bought; null: no sale limit." }),
  })
  .meta({ id: "SaleLimit" });
