/** Response schemas of the meta routes (the front door): what the document promises and the conformance tests check. */
import { z } from "zod";

export const frontDoorSchema = z
  .object({
    name: z.string().meta({ example: "NexusBooks API" }),
    version: z.string().meta({ description: "The API's version (the OpenAPI document's `info.version`).", example: "1.0.0" }),
    links: z.object({
      docs: z.string().meta({ description: "The interactive API reference (HTML).", example: "/docs" }),
      openapi: z.string().meta({ description: "The OpenAPI 3.1 document.", example: "/openapi.json" }),
      readyz: z.string().meta({ description: "Readiness of the service and its dependencies.", example: "/readyz" }),
      storefront: z.string().nullable().meta({ description: "The shop's storefront (HTML).", example: "/" }),
    }),
  })
  .meta({ id: "FrontDoor" });

export type FrontDoor = z.infer<typeof frontDoorSchema>;
