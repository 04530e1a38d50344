/** Cart and checkout routes: validate, call the service, answer. */
import { Hono } from "hono";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { validate } from "../platform/validation";
import type { FieldCodes } from "../platform/validation";
import { addItemSchema, checkoutSchema, paymentStartedSchema, couponSchema, emptyQuerySchema, idempotencyKey, setQuantitySchema, skuParamSchema } from "./schemas";
import { addItem, checkout, paymentStarted, clearCart, createCart, getCart, removeItem, setCoupon, setQuantity } from "./service";

const noStore = { "Cache-Control": "no-store" };
const quantityCodes: FieldCodes = { quantity: "INVALID_QUANTITY", sku: "INVALID_SKU" };

export const cartRoutes = new Hono<AppEnv>()
  .post("/carts", validate("query", emptyQuerySchema), async (c) => c.json({ data: await createCart(c) }, 201, noStore))
  .get("/cart", validate("query", emptyQuerySchema), async (c) => c.json({ data: await getCart(c) }, 200, noStore))
  .delete("/cart", async (c) => c.json({ data: await clearCart(c) }, 200, noStore))
  .post("/cart/items", validate("json", addItemSchema, quantityCodes), async (c) => {
    const { sku, quantity } = c.req.valid("json");
    return c.json({ data: await addItem(c, sku, quantity) }, 200, noStore);
  })
  .patch("/cart/items/:sku", validate("param", skuParamSchema, quantityCodes), validate("json", setQuantitySchema, quantityCodes), async (c) =>
    c.json({ data: await setQuantity(c, c.req.valid("param").sku, c.req.valid("json").quantity) }, 200, noStore),
  )
  .delete("/cart/items/:sku", validate("param", skuParamSchema, quantityCodes), async (c) => c.json({ data: await removeItem(c, c.req.valid("param").sku) }, 200, noStore))
  .put("/cart/coupon", validate("json", couponSchema, { code: "INVALID_COUPON" }), async (c) => c.json({ data: await setCoupon(c, c.req.valid("json").code) }, 200, noStore))
  .delete("/cart/coupon", async (c) => c.json({ data: await setCoupon(c, null) }, 200, noStore))
  .post("/checkout", validate("json", checkoutSchema, { email: "INVALID_EMAIL", shipping_address: "INVALID_ADDRESS" }), async (c) => {
    const key = idempotencyKey.safeParse(c.req.header("idempotency-key"));
    if (!key.success) {
      throw new AppError("IDEMPOTENCY_KEY_REQUIRED", "Send an Idempotency-Key header (8-100 characters) with every checkout");
    }
    const result = await checkout(c, key.data, c.req.valid("json"));
    const { replayed, ...body } = result;
    return c.json({ data: body }, replayed ? 200 : 201, { ...noStore, ...(replayed ? { "Idempotent-Replayed": "true" } : {}) });
  })
  .post("/checkout/payment-started", validate("json", paymentStartedSchema, { order_id: "INVALID_ORDER_ID" }), async (c) =>
    c.json({ data: await paymentStarted(c, c.req.valid("json").order_id) }, 200, noStore),
  );
