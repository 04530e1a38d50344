/**
 * Response schemas of the order routes: what the document promises and the conformance tests check. The service's
 * return types are inferred from them, so what is sent and what is documented cannot drift apart.
 */
import { z } from "zod";
import { orderStatuses } from "./tables";

const minor = (description: string) => z.number().int().meta({ description: `${description} Minor units of the order's currency.` });
const timestamp = (description: string) => z.string().meta({ description: `${description} ISO 8601 with offset.`, example: "2025-03-14T09:26:53.589793+00:00" });

export const orderStatusSchema = z.enum(orderStatuses).meta({ id: "OrderStatus" });

export const orderLineSchema = z.object({
  sku: z.string(),
  title: z.string(),
  format: z.string(),
  quantity: z.number().int(),
  unit_price: minor("Price of one unit."),
  line_total: minor("unit_price × quantity."),
});

export const orderHistoryEntrySchema = z.object({
  from: orderStatusSchema.nullable().meta({ description: "null for the order's creation." }),
  to: orderStatusSchema,
  reason: z.string().meta({ description: "Why: `checkout`, `payment_intent.succeeded`, `charge.refunded`, `holds_expired`, `staff` …" }),
  at: timestamp("When."),
});

/** The shipping address as checkout took it (optional parts are absent when they were not given). */
export const orderAddressSchema = z.object({
  name: z.string(),
  line1: z.string(),
  line2: z.string().optional(),
  city: z.string(),
  region: z.string().optional().meta({ description: "ISO 3166-2 subdivision code (required for US and CA)." }),
  postal_code: z.string(),
  country: z.string().length(2).meta({ description: "ISO 3166-1 alpha-2." }),
  phone: z.string().optional(),
});
export type OrderAddress = z.infer<typeof orderAddressSchema>;

export const orderDetailSchema = z
  .object({
    id: z.uuid(),
    number: z.string().meta({ description: "Human-facing order number.", example: "NB-000042" }),
    status: orderStatusSchema,
    email: z.string(),
    currency: z.string().length(3),
    subtotal: minor("Sum of the lines."),
    discount_total: minor("Coupon discount."),
    tax_total: minor("Tax."),
    shipping_total: minor("Shipping."),
    grand_total: minor("subtotal − discount_total + tax_total + shipping_total."),
    amount_paid: minor("Captured by the payment provider (0 until paid)."),
    amount_refunded: minor("Refunded so far."),
    payment_intent_id: z.string().nullable().meta({ description: "The Stripe PaymentIntent; null until checkout created it." }),
    holds_expire_at: timestamp("When the checkout's stock holds lapse; an unpaid order past this expires."),
    created_at: timestamp("When the order was placed."),
    lines: z.array(orderLineSchema),
    history: z.array(orderHistoryEntrySchema).meta({ description: "Every status change, oldest first." }),
    shipping_address: orderAddressSchema,
  })
  .meta({ id: "OrderDetail" });
export type OrderDetail = z.infer<typeof orderDetailSchema>;

export const orderSummarySchema = z
  .object({
    id: z.uuid(),
    number: z.string().meta({ example: "NB-000042" }),
    status: orderStatusSchema,
    currency: z.string().length(3),
    grand_total: minor("Total."),
    created_at: timestamp("When the order was placed."),
    item_count: z.number().int().meta({ description: "Units across all lines." }),
  })
  .meta({ id: "OrderSummary" });
export type OrderSummary = z.infer<typeof orderSummarySchema>;

export const refundSchema = z.object({
  refund_id: z.string().meta({ example: "re_3PQx0a2eZvKYlo2C1kQm8Ydu" }),
  amount: minor("Refunded by this request."),
  status: z.string().nullable().meta({ description: "Stripe's refund status (`pending`, `succeeded`, `failed`, `requires_action`, `canceled`); the charge.refunded webhook then updates the order." }),
});
export type RefundResult = z.infer<typeof refundSchema>;

export const simulatedPaymentSchema = z.object({
  payment_intent: z.string(),
  status: z.string().meta({
    description:
      "The PaymentIntent's status after the confirmation, as Stripe names it: `succeeded`, `processing`, `requires_action`, or `requires_payment_method` after a decline.",
    example: "succeeded",
  }),
});
export type SimulatedPayment = z.infer<typeof simulatedPaymentSchema>;

/** A real order (seed catalog, test stack; Oregon has no sales tax and ships this free) as GET /v1/orders/{id} answers it. */
export const orderExample = {
  data: {
    id: "66fb3235-a15e-4860-a57c-54b138824bcb",
    number: "NB-000034",
    status: "paid",
    email: "reader@example.com",
    currency: "USD",
    subtotal: 4398,
    discount_total: 0,
    tax_total: 0,
    shipping_total: 0,
    grand_total: 4398,
    amount_paid: 4398,
    amount_refunded: 0,
    payment_intent_id: "pi_8i1gkZ37S8JI1qbg0I5rZMpQ",
    holds_expire_at: "2026-12-01T11:48:37.29+00:00",
    created_at: "2026-12-01T11:43:37.336176+00:00",
    lines: [
      { sku: "BK00007-PB", title: "The Hobbit", format: "paperback", quantity: 1, unit_price: 1599, line_total: 1599 },
      { sku: "BK00007-HC", title: "The Hobbit", format: "hardcover", quantity: 1, unit_price: 2799, line_total: 2799 },
    ],
    history: [
      { from: null, to: "pending_payment", reason: "checkout", at: "2026-12-01T11:43:37.336176+00:00" },
      { from: "pending_payment", to: "paid", reason: "payment_intent.succeeded", at: "2026-12-01T11:43:38.524153+00:00" },
    ],
    shipping_address: { name: "Bilbo Baggins", line1: "1 Bagshot Row", city: "Portland", region: "OR", postal_code: "97201", country: "US" },
  },
} as const;
