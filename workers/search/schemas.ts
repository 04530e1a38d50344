/** Input schemas of the search routes. Query strings are strict: an unknown parameter is a 400. */
import { z } from "zod";
import { MAX_PRICE } from "../platform/price-bounds";
import { facetFields, searchSorts } from "./engine";
import { queryInt } from "../platform/validation";
import type { FieldCodes } from "../platform/validation";

export const MAX_QUERY_LENGTH = 200;
export const MAX_PER_PAGE = 50;
export const DEFAULT_PER_PAGE = 20;
/** Deepest result reachable by paging (Typesense answers at most 250 per page; nobody reads past 1,000). */
export const MAX_RESULT_DEPTH = 1000;
export const MAX_SUGGESTIONS = 10;

const slug = z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "must be a lowercase slug").max(120);

const list = <T extends string>(item: z.ZodType<T, string>, max: number) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(item).max(max))
    .default([]);

const boolParam = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

/** Words of a query the engines consider; the rest is dropped (the response's `query.q` shows what was searched). */
export const MAX_QUERY_WORDS = 10;
/** Characters of a word the engines consider (the longest dictionary words are shorter). */
export const MAX_WORD_LENGTH = 32;

/** The first MAX_QUERY_WORDS words, each cut to MAX_WORD_LENGTH characters: bounded work in either engine. */
export function boundQueryWords(q: string): string {
  return q
    .split(" ")
    .slice(0, MAX_QUERY_WORDS)
    .map((w) => Array.from(w).slice(0, MAX_WORD_LENGTH).join(""))
    .join(" ");
}

/** Words to search: trimmed, 1–200 characters, no control characters, at most 10 words of at most 32 characters. */
const queryText = z
  .string()
  .transform((s) => s.replace(/[\p{Cc}\p{Cf}]/gu, " ").replace(/\s+/g, " ").trim())
  .pipe(z.string().min(1, "must not be empty").max(MAX_QUERY_LENGTH, `must be at most ${MAX_QUERY_LENGTH} characters`))
  .transform(boundQueryWords);

export const searchQuerySchema = z
  .strictObject({
    q: queryText.optional(),
    category: slug.optional(),
    author: slug.optional(),
    format: list(z.enum(["paperback", "hardcover", "ebook", "audiobook"]), 4),
    language: list(z.string().regex(/^[a-z]{2,3}$/, "must be an ISO 639 code such as 'en'"), 10),
    price_min: queryInt({ min: 0, max: MAX_PRICE, description: "Lowest variant price, minor units." }),
    price_max: queryInt({ min: 0, max: MAX_PRICE, description: "Highest variant price, minor units." }),
    in_stock: boolParam.optional(),
    rating_min: z.string().regex(/^\d(\.\d{1,2})?$/, "must be a number from 0 to 5").transform(Number).pipe(z.number().min(0).max(5)).optional(),
    facets: list(z.enum(facetFields), facetFields.length),
    sort: z.enum(searchSorts).optional(),
    page: queryInt({ min: 1, max: MAX_RESULT_DEPTH, default: 1, description: `1-based; page × limit is at most ${MAX_RESULT_DEPTH}.` }),
    limit: queryInt({ min: 1, max: MAX_PER_PAGE, default: DEFAULT_PER_PAGE, description: "Products per page." }),
  })
  .refine((q) => q.price_min === undefined || q.price_max === undefined || q.price_min <= q.price_max, {
    message: "price_min must not exceed price_max",
    path: ["price_min"],
  })
  .refine((q) => q.page * q.limit <= MAX_RESULT_DEPTH, {
    message: `page × limit must be at most ${MAX_RESULT_DEPTH}; narrow the search instead`,
    path: ["page"],
  });
export type SearchQuery = z.output<typeof searchQuerySchema>;

/** Error codes for search query fields (see platform/validation.ts). */
export const searchQueryCodes: FieldCodes = {
  q: { too_big: "QUERY_TOO_LONG", too_small: "INVALID_QUERY" },
  limit: { too_big: "PAGE_SIZE_TOO_LARGE" },
  page: "PAGE_OUT_OF_RANGE",
  sort: "INVALID_SORT",
  facets: "INVALID_FACET",
  price_min: "INVALID_PRICE_RANGE",
  price_max: "INVALID_PRICE_RANGE",
  rating_min: "INVALID_RATING",
};

export const suggestQuerySchema = z.strictObject({
  q: queryText.pipe(z.string().max(100, "must be at most 100 characters")),
  limit: queryInt({ min: 1, max: MAX_SUGGESTIONS, default: MAX_SUGGESTIONS, description: "Suggestions at most." }),
});
export type SuggestQuery = z.output<typeof suggestQuerySchema>;

export const suggestQueryCodes: FieldCodes = {
  q: { too_big: "QUERY_TOO_LONG", too_small: "INVALID_QUERY", invalid_type: "INVALID_QUERY" },
  limit: { too_big: "PAGE_SIZE_TOO_LARGE" },
};

/** A synonym term: normalised to lower-case words of letters and digits, as the index stores them. */
const term = z
  .string()
  .transform((s) => s.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim())
  .pipe(z.string().min(1, "must contain a letter or digit").max(60));

export const synonymIdParamSchema = z.strictObject({ id: slug });

export const synonymBodySchema = z
  .strictObject({
    root: term.nullable().optional(),
    synonyms: z.array(term).min(1).max(20),
  })
  .refine((b) => (b.root ? b.synonyms.length >= 1 : b.synonyms.length >= 2), {
    message: "a multi-way set needs at least two synonyms",
    path: ["synonyms"],
  });
export type SynonymBody = z.output<typeof synonymBodySchema>;
