CREATE TABLE "search_documents" (
	"sku" text PRIMARY KEY NOT NULL,
	"product_id" bigint NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"name_norm" text NOT NULL,
	"series" text,
	"authors" text[] DEFAULT '{}'::text[] NOT NULL,
	"author_slugs" text[] DEFAULT '{}'::text[] NOT NULL,
	"publisher" text,
	"category_slugs" text[] DEFAULT '{}'::text[] NOT NULL,
	"category_names" text[] DEFAULT '{}'::text[] NOT NULL,
	"category_path" text NOT NULL,
	"format" text,
	"language" text,
	"price" integer NOT NULL,
	"currency" char(3) NOT NULL,
	"in_stock" boolean NOT NULL,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"rating" real DEFAULT 0 NOT NULL,
	"ratings_count" integer DEFAULT 0 NOT NULL,
	"sales_count" integer DEFAULT 0 NOT NULL,
	"popularity" integer DEFAULT 0 NOT NULL,
	"featured" boolean DEFAULT false NOT NULL,
	"published_year" integer,
	"isbn13" text,
	"isbn10" text,
	"image_url" text,
	"product_version" bigint NOT NULL,
	"document" "tsvector" NOT NULL,
	"indexed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "search_index_jobs" (
	"job_id" uuid PRIMARY KEY NOT NULL,
	"product_id" bigint,
	"processed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "search_reindex_runs" (
	"engine" text PRIMARY KEY NOT NULL,
	"last_product_id" bigint DEFAULT 0 NOT NULL,
	"indexed" integer DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "search_suggestions" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"label" text NOT NULL,
	"slug" text,
	"product_id" bigint,
	"weight" integer DEFAULT 0 NOT NULL,
	"document" "tsvector" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "search_synonyms" (
	"id" text PRIMARY KEY NOT NULL,
	"root" text,
	"synonyms" text[] NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "search_terms" (
	"word" text PRIMARY KEY NOT NULL
);
--> statement-breakpoint
CREATE INDEX "search_documents_document_gin" ON "search_documents" USING gin ("document");--> statement-breakpoint
CREATE INDEX "search_documents_product_idx" ON "search_documents" USING btree ("product_id");--> statement-breakpoint
CREATE INDEX "search_documents_categories_gin" ON "search_documents" USING gin ("category_slugs");--> statement-breakpoint
CREATE INDEX "search_documents_authors_gin" ON "search_documents" USING gin ("author_slugs");--> statement-breakpoint
CREATE INDEX "search_documents_isbn13_idx" ON "search_documents" USING btree ("isbn13");--> statement-breakpoint
CREATE INDEX "search_index_jobs_processed_idx" ON "search_index_jobs" USING btree ("processed_at");--> statement-breakpoint
CREATE INDEX "search_suggestions_document_gin" ON "search_suggestions" USING gin ("document");--> statement-breakpoint
CREATE INDEX "search_suggestions_product_idx" ON "search_suggestions" USING btree ("product_id");--> statement-breakpoint
-- Hand-written from here: what drizzle-kit cannot express (the search engine's SQL functions and trigram indexes).
-- unaccent() is only STABLE because its dictionary could change; naming the dictionary makes this safe to mark
-- IMMUTABLE, so it can be used in index expressions and is folded once per query.
CREATE OR REPLACE FUNCTION search_norm(t text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, t)) $$;
--> statement-breakpoint
CREATE INDEX "search_terms_word_trgm" ON "search_terms" USING gin ("word" gin_trgm_ops);
--> statement-breakpoint
CREATE INDEX "search_terms_word_prefix" ON "search_terms" ("word" text_pattern_ops);
--> statement-breakpoint
-- Builds the tsquery of a shopper's query, the way Typesense treats one: every word must match (match_all) or any
-- may (the fallback when nothing matches all), the last word also as a prefix (half-typed words), a word that is not
-- in the dictionary also as its closest dictionary words by trigram similarity (typos), and synonyms as
-- alternatives (a multi-word synonym as a phrase). `weights` restricts matches to tsvector weights (e.g. 'A').
-- Every lexeme goes through quote_literal, so nothing in the query can change the tsquery's structure.
CREATE OR REPLACE FUNCTION search_tsquery(q text, match_all boolean DEFAULT true, weights text DEFAULT '') RETURNS tsquery
  LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  toks text[];
  tok text;
  i int := 0;
  n int;
  alts text[];
  parts text[] := '{}';
  whole text;
  base text;
  syn text;
  w text := coalesce(weights, '');
BEGIN
  toks := array_remove(regexp_split_to_array(search_norm(coalesce(q, '')), '[^[:alnum:]]+'), '');
  IF toks IS NULL OR cardinality(toks) = 0 THEN
    RETURN NULL;
  END IF;
  toks := toks[1:12];
  n := cardinality(toks);
  FOREACH tok IN ARRAY toks LOOP
    i := i + 1;
    tok := left(tok, 40);
    IF i = n THEN
      alts := ARRAY[quote_literal(tok) || ':*' || w];
    ELSE
      alts := ARRAY[quote_literal(tok) || CASE WHEN w = '' THEN '' ELSE ':' || w END];
    END IF;
    IF length(tok) >= 4 AND NOT EXISTS (SELECT 1 FROM search_terms WHERE word = tok)
       AND NOT (i = n AND EXISTS (SELECT 1 FROM search_terms WHERE word LIKE tok || '%')) THEN
      alts := alts || ARRAY(
        SELECT quote_literal(s.word) || CASE WHEN w = '' THEN '' ELSE ':' || w END
        FROM (SELECT word FROM search_terms WHERE word % tok ORDER BY similarity(word, tok) DESC, word LIMIT 3) s);
    END IF;
    FOR syn IN
      SELECT DISTINCT x FROM search_synonyms s, unnest(s.synonyms) x
      WHERE ((s.root IS NULL AND tok = ANY (s.synonyms)) OR s.root = tok) AND x <> tok
    LOOP
      alts := alts || ('(' || array_to_string(ARRAY(
        SELECT quote_literal(y) || CASE WHEN w = '' THEN '' ELSE ':' || w END
        FROM unnest(array_remove(regexp_split_to_array(syn, '[^[:alnum:]]+'), '')) y), ' <-> ') || ')');
    END LOOP;
    parts := parts || ('(' || array_to_string(alts, ' | ') || ')');
  END LOOP;
  base := array_to_string(parts, CASE WHEN match_all THEN ' & ' ELSE ' | ' END);
  -- A multi-word query that is itself a synonym ("sci fi") also matches its synonyms as phrases.
  whole := array_to_string(toks, ' ');
  IF n > 1 THEN
    FOR syn IN
      SELECT DISTINCT x FROM search_synonyms s, unnest(s.synonyms) x
      WHERE ((s.root IS NULL AND whole = ANY (s.synonyms)) OR s.root = whole) AND x <> whole
    LOOP
      base := '(' || base || ') | (' || array_to_string(ARRAY(
        SELECT quote_literal(y) || CASE WHEN w = '' THEN '' ELSE ':' || w END
        FROM unnest(array_remove(regexp_split_to_array(syn, '[^[:alnum:]]+'), '')) y), ' <-> ') || ')';
    END LOOP;
  END IF;
  RETURN to_tsquery('simple', base);
END;
$$;
--> statement-breakpoint
INSERT INTO cache_versions (scope, version) VALUES ('search', 1) ON CONFLICT (scope) DO NOTHING;
--> statement-breakpoint
-- Starter synonyms (staff manage them with /v1/admin/search/synonyms); stored normalised like the index.
INSERT INTO search_synonyms (id, root, synonyms) VALUES
  ('science-fiction', NULL, ARRAY['sci fi', 'scifi', 'science fiction', 'sf']),
  ('young-adult', NULL, ARRAY['ya', 'young adult', 'teen']),
  ('biography', NULL, ARRAY['bio', 'biography', 'biographies']),
  ('cookbook', NULL, ARRAY['cookbook', 'cookbooks', 'cooking', 'recipes'])
ON CONFLICT (id) DO NOTHING;
