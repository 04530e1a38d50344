/**
 * The one contract both search engines honour (Typesense in production, Postgres embedded): index and delete
 * variant-SKU documents, search grouped by product, suggest, and manage synonyms. Routes, the queue consumer
 * and the reindex command only ever talk to this interface.
 */

/** One searchable variant SKU (seed 003's search document). */
export interface SearchDocument {
  sku: string;
  product_id: number;
  name: string;
  slug: string;
  series: string | null;
  authors: string[];
  author_slugs: string[];
  /** For books the publisher (seed 003's brand). */
  publisher: string | null;
  category_slugs: string[];
  category_names: string[];
  category_path: string;
  /** Subject slugs ("zombie", "time-travel"), strongest first; `subject_weights` holds each one's weight. */
  subjects: string[];
  /** Display names of `subjects`, in the same order (matched as words). */
  subject_names: string[];
  /** How many readers shelved the book under each subject: ranks a subject's books. */
  subject_weights: number[];
  /**
   * Every series the book belongs to ("Mort" is Death #1 and Discworld #4), as compared with queries: normalised
   * words without a leading article; `series_names` holds their display names in the same order.
   */
  series_keys: string[];
  series_names: string[];
  /** A box set, omnibus, companion or in-between volume (#1-3, #0.5): ranked below the series' own books. */
  is_collection: boolean;
  format: string | null;
  language: string | null;
  price: number;
  currency: string;
  in_stock: boolean;
  attributes: Record<string, string | number | boolean>;
  rating: number;
  ratings_count: number;
  sales_count: number;
  popularity: number;
  featured: boolean;
  published_year: number | null;
  isbn13: string | null;
  isbn10: string | null;
  image_url: string | null;
  product_version: number;
}

export const facetFields = ["category", "author", "format", "language", "in_stock", "publisher"] as const;
export type FacetField = (typeof facetFields)[number];

/** The SearchDocument field each facet counts (the same name in the Postgres table and the Typesense schema). */
export const facetDocumentField: Record<FacetField, keyof SearchDocument> = {
  category: "category_slugs",
  author: "author_slugs",
  format: "format",
  language: "language",
  in_stock: "in_stock",
  publisher: "publisher",
};

export const searchSorts = ["relevance", "price_asc", "price_desc", "rating", "popularity", "newest"] as const;
export type SearchSort = (typeof searchSorts)[number];

export interface SearchFilters {
  category?: string | undefined;
  author?: string | undefined;
  format: string[];
  language: string[];
  priceMin?: number | undefined;
  priceMax?: number | undefined;
  inStock?: boolean | undefined;
  ratingMin?: number | undefined;
  /** Exact book by ISBN-13 (the ISBN shortcut of `q`). */
  isbn13?: string | undefined;
}

/**
 * What the service understood of the words before the engine sees them (query-understanding.ts): the words
 * without shopper filler ("books by", "novels", "the … series"), the phrase's subject keys (singular, synonyms
 * folded), and what the filler hinted at.
 */
export interface QueryIntent {
  /** The words to match, filler removed (equal to `q` when there was none). */
  core: string;
  /** Candidate whole-phrase keys of an author, series or subject ("zombie" for "zombies"). */
  keys: string[];
  hint: "author" | "series" | "subject" | null;
}

export interface SearchRequest {
  /** The shopper's words; null browses everything that passes the filters. */
  q: string | null;
  /** Set with `q` by the service; engines fall back to `q` as typed without it. */
  intent?: QueryIntent | undefined;
  filters: SearchFilters;
  facets: FacetField[];
  sort: SearchSort;
  page: number;
  perPage: number;
}

export interface HitVariant {
  sku: string;
  format: string | null;
  price: number;
  in_stock: boolean;
}

/** One product (a group of matching SKUs). Highlights wrap matched words in `<mark>`. */
export interface SearchHit {
  product_id: number;
  slug: string;
  name: string;
  series: string | null;
  authors: string[];
  author_slugs: string[];
  category_path: string;
  language: string | null;
  published_year: number | null;
  isbn13: string | null;
  image_url: string | null;
  price: { amount: number; currency: string };
  in_stock: boolean;
  featured: boolean;
  rating: { average: number; count: number };
  variants: HitVariant[];
  highlights: { name?: string; authors?: string[]; series?: string };
}

export interface FacetCount {
  value: string;
  count: number;
}

export interface SearchResult {
  /** Products matching (groups, not SKUs). */
  found: number;
  /**
   * The index version the answer was read at, when the engine can tell (Postgres: a replica may lag the
   * primary); the service re-asks with `fresh` when it is older than the version Redis knows.
   */
  indexVersion?: number;
  hits: SearchHit[];
  facets: Partial<Record<FacetField, FacetCount[]>>;
  /** The words as the engine's dictionary corrected them, when a word was not in it ("did you mean …?"). */
  didYouMean?: string | undefined;
}

export type SuggestionKind = "title" | "author" | "series" | "subject";

export interface Suggestion {
  kind: SuggestionKind;
  text: string;
  /** Product slug for titles, author slug for authors, subject slug for subjects, null for series. */
  slug: string | null;
  highlight: string;
}

/** A synonym set: multi-way without `root`, one-way (root → synonyms) with it. Terms are normalised. */
export interface SynonymSet {
  id: string;
  root: string | null;
  synonyms: string[];
}

/** Thrown by an engine whose backend cannot be reached: the API answers 503 with a retry hint. */
export class SearchUnavailableError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "SearchUnavailableError";
  }
}

export interface SearchEngine {
  readonly name: "postgres" | "typesense";
  /** Creates the collection / checks the tables; idempotent. */
  ensureReady(): Promise<void>;
  /**
   * Makes the index hold exactly `docs` for these products: upserts the documents and deletes the products'
   * SKUs that are not among them (inactive variants, archived products).
   */
  replaceProducts(productIds: number[], docs: SearchDocument[]): Promise<void>;
  /** Removes SKUs. */
  delete(skus: string[]): Promise<void>;
  /** `fresh`: read the newest state (Postgres: the primary), for read-your-writes and lagging replicas. */
  search(req: SearchRequest, opts?: { fresh?: boolean }): Promise<SearchResult>;
  /** Up to `limit` (≤ 10) titles, authors, series and subjects for a half-typed query, the most read first. */
  suggest(q: string, limit: number): Promise<Suggestion[]>;
  upsertSynonym(set: SynonymSet): Promise<void>;
  deleteSynonym(id: string): Promise<void>;
  listSynonyms(): Promise<SynonymSet[]>;
}
