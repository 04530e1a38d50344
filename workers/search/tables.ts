/**
 * Tables of the Postgres search engine (the embedded default when Typesense is not configured) and of the
 * queue-fed indexer that serves both engines. The search table holds one row per variant SKU, like a Typesense
 * document; only the indexer (queue consumer and reindex) writes it, never the catalog write path.
 * The tsquery builder, trigram indexes and the `search_norm` function are hand-written SQL in the migration.
 */
import { sql } from "drizzle-orm";
import { bigint, boolean, char, customType, index, integer, jsonb, pgTable, primaryKey, real, text, timestamp, uuid } from "drizzle-orm/pg-core";

const tsvector = customType<{ data: string }>({ dataType: () => "tsvector" });

/**
 * One searchable variant SKU: what matching, filtering, sorting and facet counting read, and nothing else. Columns
 * are ordered hot first (the tsvector right after the fixed-width ones) and display fields live per product in
 * `search_products`: a broad query ("the") checks thousands of rows, and measured on the 10k seed, the same scan
 * over the wide row took 13 ms against 3 ms over this one.
 */
export const searchDocuments = pgTable(
  "search_documents",
  {
    sku: text("sku").primaryKey(),
    productId: bigint("product_id", { mode: "number" }).notNull(),
    inStock: boolean("in_stock").notNull(),
    price: integer("price").notNull(),
    rating: real("rating").notNull().default(0),
    ratingsCount: integer("ratings_count").notNull().default(0),
    popularity: integer("popularity").notNull().default(0),
    featured: boolean("featured").notNull().default(false),
    publishedYear: integer("published_year"),
    document: tsvector("document").notNull(),
    format: text("format"),
    language: text("language"),
    /** `search_norm(name)`: unaccented lower case, for the exact-title boost and title coverage. */
    nameNorm: text("name_norm").notNull(),
    publisher: text("publisher"),
    isbn13: text("isbn13"),
    /** Every category of the product, ancestors included (a category filter matches descendants). */
    categorySlugs: text("category_slugs").array().notNull().default(sql`'{}'::text[]`),
    authorSlugs: text("author_slugs").array().notNull().default(sql`'{}'::text[]`),
    /** Every series of the book, normalised without a leading article: a series query's books. */
    seriesKeys: text("series_keys").array().notNull().default(sql`'{}'::text[]`),
    /** Subject slugs, strongest first, with each one's weight at the same position in `subject_weights`. */
    subjects: text("subjects").array().notNull().default(sql`'{}'::text[]`),
    subjectWeights: integer("subject_weights").array().notNull().default(sql`'{}'::int[]`),
    /** The title before a subtitle (":"), without a leading article: "game of thrones" for "A Game of Thrones". */
    titleKey: text("title_key").notNull().default(""),
    isCollection: boolean("is_collection").notNull().default(false),
    /** The product version the row was built from: an older build never overwrites a newer one. */
    productVersion: bigint("product_version", { mode: "number" }).notNull(),
    indexedAt: timestamp("indexed_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    index("search_documents_document_gin").using("gin", t.document),
    index("search_documents_product_idx").on(t.productId),
    index("search_documents_categories_gin").using("gin", t.categorySlugs),
    index("search_documents_authors_gin").using("gin", t.authorSlugs),
    index("search_documents_isbn13_idx").on(t.isbn13),
    index("search_documents_series_keys_gin").using("gin", t.seriesKeys),
    index("search_documents_subjects_gin").using("gin", t.subjects),
    index("search_documents_title_key_idx").on(t.titleKey),
  ],
);

/** What a hit shows of its product (read for one page of results, by product id), kept beside its SKUs' rows. */
export const searchProducts = pgTable("search_products", {
  productId: bigint("product_id", { mode: "number" }).primaryKey(),
  slug: text("slug").notNull(),
  name: text("name").notNull(),
  series: text("series"),
  authors: text("authors").array().notNull().default(sql`'{}'::text[]`),
  authorSlugs: text("author_slugs").array().notNull().default(sql`'{}'::text[]`),
  categoryNames: text("category_names").array().notNull().default(sql`'{}'::text[]`),
  categoryPath: text("category_path").notNull(),
  language: text("language"),
  publishedYear: integer("published_year"),
  isbn13: text("isbn13"),
  isbn10: text("isbn10"),
  imageUrl: text("image_url"),
  currency: char("currency", { length: 3 }).notNull(),
  featured: boolean("featured").notNull().default(false),
  rating: real("rating").notNull().default(0),
  ratingsCount: integer("ratings_count").notNull().default(0),
  salesCount: integer("sales_count").notNull().default(0),
  attributes: jsonb("attributes").$type<Record<string, string | number | boolean>>().notNull().default({}),
  productVersion: bigint("product_version", { mode: "number" }).notNull(),
  indexedAt: timestamp("indexed_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

/** Distinct words of titles, authors and series: the dictionary typo correction looks candidates up in. */
export const searchTerms = pgTable("search_terms", {
  word: text("word").primaryKey(),
  /**
   * The largest ratings count of a book carrying the word: ranks equally close corrections ("hrose" → horse over
   * house). Only ever raised, like a suggestion's weight: a prior for typo correction, not a statistic.
   */
  weight: integer("weight").notNull().default(0),
});

/**
 * Symmetric-delete typo index: every dictionary word under itself and under each of its one-letter deletions
 * (`horse` under horse, orse, hrse, hose, hore, hors). A query word's own deletions then find, through this
 * primary key alone, every word one insertion, deletion, substitution or adjacent swap away ("hrose" shares hrse
 * and hose with horse), which trigram similarity ranks poorly and pays a scan of the dictionary for.
 */
export const searchTermVariants = pgTable(
  "search_term_variants",
  {
    variant: text("variant").notNull(),
    word: text("word").notNull(),
  },
  (t) => [primaryKey({ columns: [t.variant, t.word] })],
);

/**
 * Autocomplete entries and the entity dictionary of query understanding: titles, authors, series and subjects, each
 * with a tsvector, a popularity weight, the whole-phrase `keys` a query matches it by, and its words.
 */
export const searchSuggestions = pgTable(
  "search_suggestions",
  {
    /** `title:<product_id>`, `author:<slug>`, `series:<series key>` or `subject:<slug>`. */
    id: text("id").primaryKey(),
    kind: text("kind").$type<"title" | "author" | "series" | "subject">().notNull(),
    label: text("label").notNull(),
    slug: text("slug"),
    productId: bigint("product_id", { mode: "number" }),
    weight: integer("weight").notNull().default(0),
    /** The label's words as queries are normalised: "starts with what was typed" ranks first without re-parsing. */
    labelNorm: text("label_norm").notNull().default(""),
    document: tsvector("document").notNull(),
    /**
     * What a whole query must equal to mean this entity: an author's full name, the name without initials
     * ("ursula le guin", "tolkien") and with initials joined ("jk rowling"); a series key; a subject's key.
     */
    keys: text("keys").array().notNull().default(sql`'{}'::text[]`),
    /** The label's words (and joined initials): a query whose words are all among them is a partial match. */
    tokens: text("tokens").array().notNull().default(sql`'{}'::text[]`),
    /** An author's surname: a partial author match must name it. */
    tail: text("tail"),
  },
  (t) => [
    index("search_suggestions_document_gin").using("gin", t.document),
    index("search_suggestions_product_idx").on(t.productId),
    index("search_suggestions_keys_gin").using("gin", t.keys),
    index("search_suggestions_tokens_gin").using("gin", t.tokens),
  ],
);

/** Synonym sets of the Postgres engine, shaped like Typesense's: multi-way without `root`, one-way with it. */
export const searchSynonyms = pgTable("search_synonyms", {
  id: text("id").primaryKey(),
  root: text("root"),
  synonyms: text("synonyms").array().notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

/** Index jobs already applied, by the outbox row id they came from: a redelivered message is acknowledged only. */
export const searchIndexJobs = pgTable(
  "search_index_jobs",
  {
    jobId: uuid("job_id").primaryKey(),
    productId: bigint("product_id", { mode: "number" }),
    processedAt: timestamp("processed_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [index("search_index_jobs_processed_idx").on(t.processedAt)],
);

/** Where a resumable full reindex got to (`npm run search:reindex`). */
export const searchReindexRuns = pgTable("search_reindex_runs", {
  engine: text("engine").primaryKey(),
  lastProductId: bigint("last_product_id", { mode: "number" }).notNull().default(0),
  indexed: integer("indexed").notNull().default(0),
  startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  finishedAt: timestamp("finished_at", { withTimezone: true, mode: "date" }),
  /** The document shape (documents.ts DOCUMENT_SCHEMA) the run builds: an index from an older shape is rebuilt. */
  documentSchema: integer("document_schema").notNull().default(1),
});
