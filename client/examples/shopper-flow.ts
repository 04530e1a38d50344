/**
 * The whole shopper journey through the typed client: browse the categories, list books, open one, search, fill a
 * guest cart, check out, pay (simulated), and wait for the order to be paid.
 *
 *   npm run example:shopper [-- --base-url http://127.0.0.1:8787]
 *
 * Payment is the one step a real storefront does elsewhere: the browser confirms the PaymentIntent with Stripe.js
 * and Stripe's webhook tells the API. Here the development-only `/dev/orders/{id}/simulate-payment` confirms it in
 * the local Stripe fake, whose webhook then reaches the Worker the way Stripe's would. That route is not part of the
 * client (it does not exist in staging or production), so it is called with plain fetch.
 */
import { createNexusBooksClient, expectData } from "../index";
import type { NexusBooksClient } from "../index";

export interface ShopperFlowResult {
  category: string;
  product: string;
  sku: string;
  searchHits: number;
  orderId: string;
  orderNumber: string;
  grandTotal: number;
  finalStatus: string;
  steps: string[];
}

export interface ShopperFlowOptions {
  baseUrl: string;
  fetch?: (request: Request) => Promise<Response>;
  /** Headers on every request (e.g. a client address for a local stack behind no proxy). */
  headers?: Record<string, string>;
  /** How long to wait for the payment to land (webhook → order paid). */
  paidTimeoutMs?: number;
  log?: (line: string) => void;
}

const ADDRESS = { name: "Ada Lovelace", line1: "1 Infinite Loop", city: "Cupertino", region: "CA", postal_code: "95014", country: "US" };

/** Picks an in-stock variant of a listed product, opening product pages until one has stock. */
async function pickBook(api: NexusBooksClient): Promise<{ slug: string; name: string; sku: string }> {
  const list = expectData(await api.GET("/v1/products", { params: { query: { in_stock: "true", limit: 10, sort: "popularity" } } }));
  for (const item of list.data) {
    const product = expectData(await api.GET("/v1/products/{slug}", { params: { path: { slug: item.slug } } }));
    const variant = product.data.variants.find((v) => v.in_stock && v.status === "active");
    if (variant) return { slug: product.data.slug, name: product.data.name, sku: variant.sku };
  }
  throw new Error("no in-stock product on the first page");
}

/** Runs the journey; throws (with the API's error code) on any step that fails. */
export async function runShopperFlow(opts: ShopperFlowOptions): Promise<ShopperFlowResult> {
  const log = opts.log ?? (() => undefined);
  const steps: string[] = [];
  const step = (s: string): void => {
    steps.push(s);
    log(s);
  };
  const api = createNexusBooksClient({ baseUrl: opts.baseUrl, ...(opts.fetch ? { fetch: opts.fetch } : {}), headers: opts.headers ?? {} });

  const tree = expectData(await api.GET("/v1/categories"));
  const category = tree.data[0];
  if (!category) throw new Error("the catalog has no categories");
  step(`browse: ${tree.data.length} top-level categories, first '${category.name}'`);

  const book = await pickBook(api);
  step(`product: '${book.name}' (${book.slug}), variant ${book.sku}`);

  const word = book.name.split(/\s+/).find((w) => w.length >= 4) ?? book.name;
  const search = expectData(await api.GET("/v1/search", { params: { query: { q: word, limit: 5 } } }));
  step(`search '${word}': ${search.page.found} found`);

  const cart = expectData(await api.POST("/v1/carts"));
  api.credentials.cartToken = cart.data.cart_token;
  const filled = expectData(await api.POST("/v1/cart/items", { body: { sku: book.sku, quantity: 1 } }));
  step(`cart: ${filled.data.lines.length} line(s), ${filled.data.item_count} item(s)`);

  const key = `example-${crypto.randomUUID()}`;
  const checkout = expectData(
    await api.POST("/v1/checkout", { params: { header: { "Idempotency-Key": key } }, body: { email: "ada@example.com", shipping_address: ADDRESS } }),
  );
  const order = checkout.data.order;
  api.credentials.orderToken = checkout.data.order_token;
  step(`checkout: order ${order.number}, total ${order.grand_total}, status ${order.status}`);

  // Development only (see the file comment): the Stripe fake confirms the PaymentIntent and sends the webhook.
  const simulated = await (opts.fetch ?? fetch)(
    new Request(`${opts.baseUrl}/dev/orders/${order.id}/simulate-payment`, {
      method: "POST",
      headers: { ...(opts.headers ?? {}), "content-type": "application/json", "x-order-token": checkout.data.order_token },
      body: JSON.stringify({ outcome: "succeeded" }),
    }),
  );
  if (simulated.status !== 200) throw new Error(`simulate-payment answered ${simulated.status}: ${await simulated.text()}`);
  step("payment: confirmed with the test card");

  const deadline = Date.now() + (opts.paidTimeoutMs ?? 15_000);
  let status: string = order.status;
  while (Date.now() < deadline) {
    const detail = expectData(await api.GET("/v1/orders/{id}", { params: { path: { id: order.id } } }));
    status = detail.data.status;
    if (status === "paid") break;
    await new Promise((r) => setTimeout(r, 250));
  }
  step(`order ${order.number}: ${status}`);
  if (status !== "paid") throw new Error(`order ${order.id} is ${status}, not paid, after waiting`);

  return {
    category: category.slug,
    product: book.slug,
    sku: book.sku,
    searchHits: search.page.found,
    orderId: order.id,
    orderNumber: order.number,
    grandTotal: order.grand_total,
    finalStatus: status,
    steps,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const baseUrl = args.includes("--base-url") ? (args[args.indexOf("--base-url") + 1] as string) : "http://127.0.0.1:8787";
  const result = await runShopperFlow({ baseUrl, log: (l) => console.log(l) });
  console.log(JSON.stringify({ order: result.orderNumber, status: result.finalStatus }, null, 2));
}
