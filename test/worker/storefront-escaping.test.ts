/**
 * Storefront pages escape what they show: a product whose name, description, author and attributes are markup
 * renders as text (Hono JSX escapes every interpolated value; no component renders raw HTML).
 */
import { expect, it } from "vitest";
import { ProductPage } from "../../workers/storefront/product-page";
import { SearchPage } from "../../workers/storefront/search-page";
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
  const page = await render(ProductPage({ data: { product, moreByAuthor: [hit], nav: [] } }));
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
