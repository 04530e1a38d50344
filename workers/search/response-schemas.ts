/**
 * Response schemas of the search routes: what the document promises and the conformance tests check. Search and
 * suggest bodies are built (and cached) by the service as JSON text, so these describe the cached bytes too.
 */
import { z } from "zod";
import { facetFields, searchSorts } from "./engine";

const highlight = (what: string) => z.string().meta({ description: `${what} as escaped HTML; the only tags are <mark>…</mark> around matched words.` });

export const searchHitSchema = z
  .object({
    product_id: z.number().int(),
    slug: z.string(),
    name: z.string(),
    series: z.string().nullable(),
    authors: z.array(z.string()),
    author_slugs: z.array(z.string()),
    category_path: z.string().meta({ example: "books/fiction/fantasy" }),
    language: z.string().nullable(),
    published_year: z.number().int().nullable(),
    isbn13: z.string().nullable(),
    image_url: z.string().nullable(),
    price: z.object({
      amount: z.number().int().meta({ description: "The lowest matching variant's price, minor units." }),
      currency: z.string().length(3),
    }),
    in_stock: z.boolean().meta({ description: "Some matching variant is in stock." }),
    featured: z.boolean(),
    rating: z.object({ average: z.number(), count: z.number().int() }),
    variants: z
      .array(z.object({ sku: z.string(), format: z.string().nullable(), price: z.number().int(), in_stock: z.boolean() }))
      .meta({ description: "The product's variants that match, cheapest first." }),
    highlights: z
      .object({ name: highlight("The title").optional(), authors: z.array(highlight("An author")).optional(), series: highlight("The series").optional() })
      .meta({ description: "Only the fields where a word matched." }),
  })
  .meta({ id: "SearchHit" });

const facetCount = z.object({ value: z.string(), count: z.number().int().meta({ description: "Products (not SKUs)." }) });

export const searchFacetsSchema = z
  .object(Object.fromEntries(facetFields.map((f) => [f, z.array(facetCount).optional()])) as Record<(typeof facetFields)[number], z.ZodOptional<z.ZodArray<typeof facetCount>>>)
  .meta({ description: "Counts (top 20 values) of the facets asked for in `facets`; `{}` when none were." });

export const searchPageSchema = z.object({
  page: z.number().int(),
  limit: z.number().int(),
  found: z.number().int().meta({ description: "Products matching." }),
  total_pages: z.number().int(),
  has_more: z.boolean(),
});

export const searchQueryEchoSchema = z.object({
  q: z.string().nullable().meta({ description: "The words searched after normalisation (at most 10 words); null when browsing or for an ISBN." }),
  isbn13: z.string().nullable().meta({ description: "Set when `q` was an ISBN: the exact book it looked up." }),
  sort: z.enum(searchSorts),
  did_you_mean: z
    .string()
    .nullable()
    .meta({ description: "The words as the dictionary corrects them, when a typed word is not in it (the results already include the corrections): show \"did you mean …?\" and offer it as a new search." }),
});

export const searchEngineSchema = z.enum(["postgres", "typesense"]).meta({ description: "The engine that answered." });

export const suggestionSchema = z
  .object({
    kind: z.enum(["title", "author", "series", "subject"]),
    text: z.string(),
    slug: z.string().nullable().meta({ description: "Product slug for titles, author slug for authors, subject slug for subjects, null for series." }),
    highlight: highlight("The text"),
  })
  .meta({ id: "Suggestion" });

export const synonymSetSchema = z
  .object({
    id: z.string(),
    root: z.string().nullable().meta({ description: "One-way set: the root expands to the synonyms. null: multi-way." }),
    synonyms: z.array(z.string()),
  })
  .meta({ id: "SynonymSet", example: { id: "sci-fi", root: null, synonyms: ["sci fi", "science fiction", "scifi"] } });

/** A real answer from the seed catalog: `GET /v1/search?q=hobbit&limit=1&facets=format`. */
export const searchExample = {
  data: [
    {
      product_id: 7,
      slug: "the-hobbit",
      name: "The Hobbit",
      series: null,
      authors: ["J.R.R. Tolkien"],
      author_slugs: ["j-r-r-tolkien"],
      category_path: "books/fiction/fantasy",
      language: "en",
      published_year: 1937,
      isbn13: "9780618260300",
      image_url: "https://images.gr-assets.com/books/1372847500s/5907.jpg",
      price: { amount: 1199, currency: "USD" },
      in_stock: true,
      featured: false,
      rating: { average: 4.25, count: 2071616 },
      variants: [
        { sku: "BK00007-EB", format: "ebook", price: 1199, in_stock: true },
        { sku: "BK00007-PB", format: "paperback", price: 1599, in_stock: true },
        { sku: "BK00007-HC", format: "hardcover", price: 2799, in_stock: true },
      ],
      highlights: { name: "The <mark>Hobbit</mark>" },
    },
  ],
  facets: { format: [{ value: "ebook", count: 2 }, { value: "hardcover", count: 2 }, { value: "paperback", count: 2 }] },
  page: { page: 1, limit: 1, found: 2, total_pages: 2, has_more: true },
  query: { q: "hobbit", isbn13: null, sort: "relevance", did_you_mean: null },
  engine: "postgres",
} as const;

/** A real answer from the seed catalog: `GET /v1/search/suggest?q=hobb&limit=2`. */
export const suggestExample = {
  data: [
    { kind: "title", text: "The Hobbit", slug: "the-hobbit", highlight: "The <mark>Hobbit</mark>" },
    { kind: "title", text: "The Hobbit: Graphic Novel", slug: "the-hobbit-graphic-novel", highlight: "The <mark>Hobbit</mark>: Graphic Novel" },
  ],
} as const;

/** The body of GET /v1/search (what `searchResults` returns as data). */
export interface SearchBody {
  data: z.infer<typeof searchHitSchema>[];
  facets: z.infer<typeof searchFacetsSchema>;
  page: z.infer<typeof searchPageSchema>;
  query: z.infer<typeof searchQueryEchoSchema>;
  engine: z.infer<typeof searchEngineSchema>;
}
export type SearchHit = z.infer<typeof searchHitSchema>;
