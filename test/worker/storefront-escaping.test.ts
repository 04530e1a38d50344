/**
 * Storefront pages escape what they show: a product whose name, description, author and attributes are markup
 * renders as text (Hono JSX escapes every interpolated value; no component renders raw HTML).
 */
import { expect, it } from "vitest";
import { ProductPage } from "../../workers/storefront/product-page";
import { SearchPage } from "../../workers/storefront/search-page";
import { CartPage } from "../../workers/storefront/cart-page";
import { OrderPage } from "../../workers/storefront/order-page";
import { PaymentPage } from "../../workers/storefront/checkout-page";
import { STRIPE_PAGE_DIRECTIVES } from "../../workers/storefront/shop-routes";
import type { CartView } from "../../workers/cart";
import type { OrderDetail } from "../../workers/orders";
import type { ProductDetail } from "../../workers/catalog";
import type { SearchHit } from "../../workers/search";

const EVIL = "<script>alert(1)</script>";

const product: ProductDetail = {
  id: 9999,
  slug: "evil-book",
  name: EVIL,
  subtitle: `"><img src=x onerror=alert(2)>`,
  description: `${EVIL}\n\nSecond <b>paragraph</b>`,
  isbn13: "9780000000002",
  isbn10: null,
  gtin: "9780000000002",
  language: "en",
  published_year: 2020,
  authors: [{ slug: "evil-author", name: `<i onclick="alert(3)">Evil</i>`, role: "author" }],
  brand: { slug: "evil-press", name: EVIL, kind: "publisher" },
  category: { slug: "fantasy", name: EVIL, path: "books/fiction/fantasy" },
  categories: [],
  images: [],
  attributes: { series: `${EVIL} #1`, format: "paperback" },
  price: { from: { amount: 999, currency: "USD" }, to: { amount: 999, currency: "USD" } },
  rating: { average: 4.5, count: 10 },
  featured: false,
  variants: [
    { sku: "EV-PB", name: EVIL, attributes: { format: EVIL }, price: { amount: 999, currency: "USD" }, status: "active", availability: "in_stock", in_stock: true, backorder: false },
  ],
  version: 1,
  updated_at: "2026-01-01T00:00:00Z",
};

const hit: SearchHit = {
  product_id: 9999,
  slug: "evil-book",
  name: EVIL,
  series: EVIL,
  authors: [EVIL],
  author_slugs: ["evil-author"],
  category_path: "books/fiction/fantasy",
  language: "en",
  published_year: 2020,
  isbn13: null,
  image_url: null,
  price: { amount: 999, currency: "USD" },
  in_stock: true,
  featured: false,
  rating: { average: 4, count: 1 },
  variants: [],
  highlights: { name: "<mark>evil</mark>" },
};

const render = async (el: unknown) => String(await (el as Promise<string>));

/** Every <script> tag of a page is the layout's own, by src, and no attribute of ours is an event handler. */
function expectNoInjectedMarkup(page: string): void {
  expect(page).not.toContain(EVIL);
  expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
  expect([...page.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual(['<script src="/storefront/assets/autocomplete.js" defer="">']);
  expect(page).not.toMatch(/<img\b|<i\b|<b>/i);
  // Escaped text may spell "onerror=", a tag of the page never has a handler.
  for (const [tag] of page.matchAll(/<[a-z][^>]*>/gi)) expect(tag).not.toMatch(/\son[a-z]+=/i);
}

it("the book page renders a product named <script>alert(1)</script> as text", async () => {
  const page = await render(ProductPage({ data: { product, moreByAuthor: [hit], nav: [], csrf: "t".repeat(32), maxLineQty: 10 } }));
  expectNoInjectedMarkup(page);
  expect(page).toContain("<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>");
  expect(page).toContain("<title>&lt;script&gt;alert(1)&lt;/script&gt; · NexusBooks</title>");
});

it("the results page renders hits, the query and facet values as text", async () => {
  const page = await render(
    SearchPage({
      data: {
        base: "/search",
        heading: `Results for “${EVIL}”`,
        state: { q: EVIL, format: [], language: [], page: 1 },
        result: {
          data: [hit],
          facets: { author: [{ value: "evil-author", count: 1 }], language: [{ value: EVIL, count: 1 }] },
          page: { page: 1, limit: 20, found: 1, total_pages: 1, has_more: false },
          query: { q: EVIL, isbn13: null, sort: "relevance", did_you_mean: EVIL },
          engine: "postgres",
        },
        nav: [],
        popularCategories: [],
        sorts: ["relevance"],
      },
    }),
  );
  expectNoInjectedMarkup(page);
  // The search box echoes the query as an attribute value, escaped.
  expect(page).toContain('value="&lt;script&gt;alert(1)&lt;/script&gt;"');
});

const cart: CartView = {
  id: "g-1",
  status: "open",
  version: 3,
  currency: "USD",
  lines: [{ sku: "EV-PB", title: EVIL, slug: "evil-book", format: EVIL, quantity: 2, unit_price: 999, line_total: 1998, currency: "USD", available: 5, in_stock: true }],
  item_count: 2,
  subtotal: 1998,
  coupon: `"><img src=x>`,
  expires_at: "2026-01-01T00:00:00Z",
  order_id: null,
};

const order = {
  id: "00000000-0000-4000-8000-000000000001",
  number: "NB-000001",
  status: "pending_payment",
  email: `${EVIL}@example.com`,
  currency: "USD",
  subtotal: 1998,
  discount_total: 0,
  tax_total: 165,
  shipping_total: 499,
  grand_total: 2662,
  amount_paid: 0,
  amount_refunded: 0,
  payment_intent_id: "pi_1",
  holds_expire_at: "2026-01-01T00:00:00Z",
  created_at: "2026-01-01T00:00:00Z",
  lines: [{ sku: "EV-PB", title: EVIL, format: EVIL, quantity: 2, unit_price: 999, line_total: 1998 }],
  history: [],
  shipping_address: { name: EVIL, line1: EVIL, city: EVIL, postal_code: "95014", country: "US" },
} as unknown as OrderDetail;

it("the cart page renders lines and the coupon as text, with a CSRF field in every form", async () => {
  const page = await render(CartPage({ data: { cart, csrf: "c".repeat(32), notice: null, maxLineQty: 10, nav: [] } }));
  expectNoInjectedMarkup(page);
  const forms = [...page.matchAll(/<form\b[^>]*method="post"[^>]*>/g)].length;
  expect(forms).toBe(3);
  expect([...page.matchAll(/name="csrf_token" value="c{32}"/g)].length).toBe(forms);
  expect(page).toContain('max="10"');
});

it("the order page renders lines and the email as text", async () => {
  const page = await render(OrderPage({ data: { order, placed: true, nav: [] } }));
  expect(page).not.toMatch(/<img\b|<i\b|<b>/i);
  expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;@example.com");
  expect(page).toContain('<script src="/storefront/assets/order-status.js" defer="">');
});

it("the deployed payment page carries the publishable key and the client secret for Stripe.js, with Stripe allowed by its CSP", async () => {
  const step = { kind: "stripe", publishableKey: "pk_test_abcdefgh12345678", clientSecret: "pi_1_secret_xyz", returnUrl: "https://shop.example/orders/1" } as const;
  const page = await render(PaymentPage({ data: { order, orderToken: "tok".repeat(5), csrf: "c".repeat(32), step, nav: [] } }));
  expect(page).toContain('data-publishable-key="pk_test_abcdefgh12345678"');
  expect(page).toContain('data-client-secret="pi_1_secret_xyz"');
  expect(page).toContain('<script src="https://js.stripe.com/v3/">');
  expect(page).toContain('<div id="payment-element">');
  expect(page).not.toContain("test card");
  expect(STRIPE_PAGE_DIRECTIVES["script-src"]).toEqual(["'self'", "https://js.stripe.com"]);
  expect(STRIPE_PAGE_DIRECTIVES["frame-src"]).toContain("https://js.stripe.com");
  const local = await render(PaymentPage({ data: { order, orderToken: "tok".repeat(5), csrf: "c".repeat(32), step: { kind: "test-card" }, nav: [] } }));
  expect(local).not.toContain("js.stripe.com");
  expect(local).toContain("Pay $26.62 with the test card");
  expect(local).toContain("<dd class=\"tax\">$1.65</dd>");
});
