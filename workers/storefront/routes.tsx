/**
 * The storefront's pages: home (GET /, which also answers the API's front door as JSON), search, categories and
 * books, server-rendered with Hono JSX from the catalog's and search's service functions (no HTTP to ourselves), and
 * the files they load (GET /storefront/assets/{file}, from the Worker's static assets: public/storefront/assets/).
 *
 * Each page has a CSP allowing its own origin's scripts, styles and fetches only: no inline script, style or
 * handler exists to allow. Anonymous pages are public for a short time and revalidate with an ETag, like the API.
 */
import { z } from "zod";
import type { Context, MiddlewareHandler } from "hono";
import { accepts } from "hono/accepts";
import type { JSX } from "hono/jsx/jsx-runtime";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { publicCache } from "../platform/http-cache";
import { apiRoute, apiRouter, empty, ok, prebuilt } from "../platform/openapi";
import { categoryTree, productDetail } from "../catalog";
import type { CategoryNode } from "../catalog";
import { searchQueryCodes, searchQuerySchema, searchResults } from "../search";
import type { SearchQuery } from "../search";
import { FRONT_DOOR, frontDoorSchema } from "../docs";
import { HomePage } from "./home-page";
import { SearchPage } from "./search-page";
import { ProductPage } from "./product-page";
import { browseStateOf } from "./links";
import { csrfToken, noStore } from "./web-session";
import { pageCsp } from "./page-policy";

/** The home page's body depends on Accept (HTML or the front door's JSON): caches must key on it. */
const varyAccept: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  c.header("Vary", "Accept", { append: true });
};

const CACHED = ["ETag", "Cache-Control"] as const;
const headersOf = (names: Parameters<typeof empty>[1]) => empty("", names).headers;
const html = (description: string) => ({ "text/html": { schema: z.string().meta({ description }) } });
const page = (description: string) => ({ description, headers: headersOf(CACHED), content: html("The page.") });
const notModified = empty("Not modified: the `If-None-Match` ETag is current.", CACHED);
const noQuery = z.strictObject({});
const slugParam = z.object({ slug: z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "must be a lowercase slug").max(200) });

const frontDoorJson = ok(frontDoorSchema, "The API's front door: its links, when `Accept` prefers `application/json`.", { headers: CACHED });

const home = apiRoute({
  method: "get",
  path: "/",
  tags: ["storefront"],
  summary: "The storefront home (featured, most read, best rated, categories), or the API's links as JSON",
  description: "`application/json` (`{ data }`: the API's links) when the `Accept` header prefers it; the storefront's home page otherwise. `Vary: Accept`.",
  middleware: [pageCsp, varyAccept, publicCache(60)],
  request: { query: noQuery },
  responses: {
    200: {
      ...frontDoorJson,
      headers: frontDoorJson.headers.extend({ Vary: z.string().meta({ description: "Includes `Accept`: the body depends on it." }) }),
      content: { ...frontDoorJson.content, ...html("The home page; its footer links the reference, the document and readiness.") },
    },
    304: notModified,
  },
  errors: ["SEARCH_UNAVAILABLE", "SEARCH_TIMEOUT"],
});

const search = apiRoute({
  method: "get",
  path: "/search",
  tags: ["storefront"],
  summary: "The search results page: facets, sorts and pages as links that work without JavaScript",
  description: "Takes the parameters of `GET /v1/search` (the page chooses `facets` and `limit` itself).",
  middleware: [pageCsp, publicCache(30)],
  request: { query: searchQuerySchema },
  responses: { 200: page("The results page, or a page suggesting a corrected search and popular categories."), 304: notModified },
  errors: ["SEARCH_UNAVAILABLE", "SEARCH_TIMEOUT"],
  fieldCodes: { query: searchQueryCodes },
});

const category = apiRoute({
  method: "get",
  path: "/category/{slug}",
  tags: ["storefront"],
  summary: "A category's page: its books (descendants included), with the search page's facets, sorts and pages",
  description: "Takes the parameters of `GET /v1/search`; the path's category replaces any `category` given.",
  middleware: [pageCsp, publicCache(60)],
  request: { params: slugParam, query: searchQuerySchema },
  responses: { 200: page("The category page."), 304: notModified },
  errors: ["CATEGORY_NOT_FOUND", "SEARCH_UNAVAILABLE", "SEARCH_TIMEOUT"],
  fieldCodes: { param: { slug: "INVALID_SLUG" }, query: searchQueryCodes },
});

const book = apiRoute({
  method: "get",
  path: "/books/{slug}",
  tags: ["storefront"],
  summary: "A book's page: authors, description, formats with price and availability, add to cart, ISBNs, rating, more by the author",
  description: "`private, no-store`: its add-to-cart forms carry the browser's CSRF token (set in a cookie on first visit).",
  middleware: [pageCsp],
  request: { params: slugParam, query: noQuery },
  responses: { 200: { ...page("The book's page."), headers: headersOf(["Cache-Control", "Set-Cookie"]) } },
  errors: ["PRODUCT_NOT_FOUND", "SEARCH_UNAVAILABLE", "SEARCH_TIMEOUT"],
  fieldCodes: { param: { slug: "INVALID_SLUG" } },
});

const ASSET_TYPES = { "text/javascript": "The autocomplete script.", "text/css": "The stylesheet.", "image/svg+xml": "The favicon." } as const;

const asset = apiRoute({
  method: "get",
  path: "/storefront/assets/{file}",
  tags: ["storefront"],
  summary: "A file the storefront's pages load (the stylesheet, the autocomplete script, the favicon)",
  description: "From the Worker's static assets, with the asset server's `ETag` (send it back in `If-None-Match` for a 304).",
  request: {
    params: z.object({ file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/).meta({ example: "storefront.css" }) }),
    query: noQuery,
  },
  errors: ["NOT_FOUND"],
  responses: {
    200: {
      description: "The file.",
      headers: headersOf(CACHED),
      content: Object.fromEntries(Object.entries(ASSET_TYPES).map(([type, description]) => [type, { schema: z.string().meta({ description }) }])),
    },
    304: empty("Not modified.", CACHED),
  },
});

/** A search with the service's defaults, from query-string values (the same validation as the API's). */
const query = (input: Record<string, string>): SearchQuery => searchQuerySchema.parse(input);

/** The nav's categories: the children of a lone root (the tree is rooted at "Books"), or the roots. */
function navOf(tree: readonly CategoryNode[]): readonly CategoryNode[] {
  const [only, ...rest] = tree;
  return only && rest.length === 0 ? only.children : tree;
}

function findCategory(nodes: readonly CategoryNode[], slug: string): CategoryNode | null {
  for (const n of nodes) {
    if (n.slug === slug) return n;
    const inside = findCategory(n.children, slug);
    if (inside) return inside;
  }
  return null;
}

/** The categories with the most books, below the root, for "no results". */
function popularCategories(tree: readonly CategoryNode[], n = 6): CategoryNode[] {
  const all: CategoryNode[] = [];
  const walk = (nodes: readonly CategoryNode[]) => nodes.forEach((c) => (all.push(c), walk(c.children)));
  walk(navOf(tree));
  return all.sort((a, b) => b.product_count - a.product_count).slice(0, n);
}

/** The doctype, then the page: Hono JSX renders elements only. */
async function render(c: Context<AppEnv>, element: JSX.Element): Promise<Response> {
  return c.html(`<!doctype html>\n${String(await element)}`, 200);
}

const PAGE_FACETS = "format,language,author,in_stock";

async function resultsPage(c: Context<AppEnv>, base: string, heading: string, q: SearchQuery, tree: readonly CategoryNode[]) {
  const result = await searchResults(c, { ...q, facets: PAGE_FACETS.split(",") as SearchQuery["facets"] });
  const sorts = q.q ? (["relevance", "popularity", "rating", "newest", "price_asc", "price_desc"] as const) : (["popularity", "rating", "newest", "price_asc", "price_desc"] as const);
  return render(
    c,
    <SearchPage
      data={{ base, heading, state: browseStateOf(q), result, nav: navOf(tree), popularCategories: result.page.found === 0 ? popularCategories(tree) : [], sorts }}
    />,
  );
}

export const storefrontRoutes = apiRouter()
  .openapi(home, async (c) => {
    const type = accepts(c, { header: "Accept", supports: ["text/html", "application/json"], default: "text/html" });
    if (type === "application/json") return c.json({ data: FRONT_DOOR }, 200);
    const [tree, popular, rated] = await Promise.all([
      categoryTree(c),
      searchResults(c, query({ sort: "popularity", limit: "48" })),
      searchResults(c, query({ sort: "rating", limit: "8" })),
    ]);
    const featured = popular.data.filter((h) => h.featured).slice(0, 8);
    const data = { featured, mostRead: popular.data.slice(0, 8), bestRated: rated.data, categories: navOf(tree) };
    return prebuilt(home, await render(c, <HomePage data={data} />));
  })
  .openapi(search, async (c) => {
    const q = c.req.valid("query");
    const tree = await categoryTree(c);
    const heading = q.q ? `Results for “${q.q}”` : "All books";
    return prebuilt(search, await resultsPage(c, "/search", heading, q, tree));
  })
  .openapi(category, async (c) => {
    const { slug } = c.req.valid("param");
    const tree = await categoryTree(c);
    const node = findCategory(tree, slug);
    if (!node) throw new AppError("CATEGORY_NOT_FOUND", `Category '${slug}' does not exist`, { category: slug });
    const q = { ...c.req.valid("query"), category: slug };
    return prebuilt(category, await resultsPage(c, `/category/${slug}`, node.name, q, tree));
  })
  .openapi(book, async (c) => {
    const { slug } = c.req.valid("param");
    const [product, tree] = await Promise.all([productDetail(c, slug), categoryTree(c)]);
    if (!product) throw new AppError("PRODUCT_NOT_FOUND", `No product with slug '${slug}'`, { slug });
    const author = product.authors[0];
    const more = author ? await searchResults(c, query({ author: author.slug, sort: "popularity", limit: "7" })) : null;
    const moreByAuthor = (more?.data ?? []).filter((h) => h.slug !== product.slug).slice(0, 6);
    const data = { product, moreByAuthor, nav: navOf(tree), csrf: csrfToken(c), maxLineQty: c.get("config").cart.maxLineQty };
    noStore(c);
    return prebuilt(book, await render(c, <ProductPage data={data} />));
  })
  .openapi(asset, async (c) => {
    const { file } = c.req.valid("param");
    const res = await c.env.ASSETS.fetch(c.req.raw);
    if (res.status === 404) throw new AppError("NOT_FOUND", `No asset named ${file.slice(0, 100)}`);
    return prebuilt(asset, c.newResponse(res.body, res));
  });
