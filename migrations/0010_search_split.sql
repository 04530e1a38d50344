CREATE TABLE "search_products" (
	"product_id" bigint PRIMARY KEY NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"series" text,
	"authors" text[] DEFAULT '{}'::text[] NOT NULL,
	"author_slugs" text[] DEFAULT '{}'::text[] NOT NULL,
	"category_names" text[] DEFAULT '{}'::text[] NOT NULL,
	"category_path" text NOT NULL,
	"language" text,
	"published_year" integer,
	"isbn13" text,
	"isbn10" text,
	"image_url" text,
	"currency" char(3) NOT NULL,
	"featured" boolean DEFAULT false NOT NULL,
	"rating" real DEFAULT 0 NOT NULL,
	"ratings_count" integer DEFAULT 0 NOT NULL,
	"sales_count" integer DEFAULT 0 NOT NULL,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"product_version" bigint NOT NULL,
	"indexed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- Display fields move to search_products (one row per product); search_documents is rebuilt narrow with its hot
-- columns first (dropping columns in place would leave them in every row and keep the old order). Both tables are
-- derived data: `npm run search:reindex` rebuilds them from the catalog.
INSERT INTO "search_products" (product_id, slug, name, series, authors, author_slugs, category_names, category_path, language,
  published_year, isbn13, isbn10, image_url, currency, featured, rating, ratings_count, sales_count, attributes, product_version, indexed_at)
SELECT DISTINCT ON (product_id) product_id, slug, name, series, authors, author_slugs, category_names, category_path, language,
  published_year, isbn13, isbn10, image_url, currency, featured, rating, ratings_count, sales_count, attributes, product_version, indexed_at
FROM "search_documents" ORDER BY product_id, sku;
--> statement-breakpoint
CREATE TABLE "search_documents_narrow" (
	"sku" text NOT NULL,
	"product_id" bigint NOT NULL,
	"in_stock" boolean NOT NULL,
	"price" integer NOT NULL,
	"rating" real DEFAULT 0 NOT NULL,
	"ratings_count" integer DEFAULT 0 NOT NULL,
	"popularity" integer DEFAULT 0 NOT NULL,
	"featured" boolean DEFAULT false NOT NULL,
	"published_year" integer,
	"document" "tsvector" NOT NULL,
	"format" text,
	"language" text,
	"name_norm" text NOT NULL,
	"publisher" text,
	"isbn13" text,
	"category_slugs" text[] DEFAULT '{}'::text[] NOT NULL,
	"author_slugs" text[] DEFAULT '{}'::text[] NOT NULL,
	"product_version" bigint NOT NULL,
	"indexed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
INSERT INTO "search_documents_narrow" (sku, product_id, in_stock, price, rating, ratings_count, popularity, featured, published_year,
  document, format, language, name_norm, publisher, isbn13, category_slugs, author_slugs, product_version, indexed_at)
SELECT sku, product_id, in_stock, price, rating, ratings_count, popularity, featured, published_year,
  document, format, language, name_norm, publisher, isbn13, category_slugs, author_slugs, product_version, indexed_at
FROM "search_documents";
--> statement-breakpoint
DROP TABLE "search_documents";
--> statement-breakpoint
ALTER TABLE "search_documents_narrow" RENAME TO "search_documents";
--> statement-breakpoint
ALTER TABLE "search_documents" ADD CONSTRAINT "search_documents_pkey" PRIMARY KEY ("sku");
--> statement-breakpoint
CREATE INDEX "search_documents_document_gin" ON "search_documents" USING gin ("document");--> statement-breakpoint
CREATE INDEX "search_documents_product_idx" ON "search_documents" USING btree ("product_id");--> statement-breakpoint
CREATE INDEX "search_documents_categories_gin" ON "search_documents" USING gin ("category_slugs");--> statement-breakpoint
CREATE INDEX "search_documents_authors_gin" ON "search_documents" USING gin ("author_slugs");--> statement-breakpoint
CREATE INDEX "search_documents_isbn13_idx" ON "search_documents" USING btree ("isbn13");
--> statement-breakpoint
ANALYZE "search_documents", "search_products";
