CREATE TABLE "search_term_variants" (
	"variant" text NOT NULL,
	"word" text NOT NULL,
	CONSTRAINT "search_term_variants_variant_word_pk" PRIMARY KEY("variant","word")
);
--> statement-breakpoint
ALTER TABLE "search_terms" ADD COLUMN "weight" integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
-- A word and its one-letter deletions (words of 3 letters or more): the keys of search_term_variants, computed the
-- same way for dictionary words (indexer) and query words (search_tsquery).
CREATE OR REPLACE FUNCTION search_word_variants(word text) RETURNS SETOF text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT ROWS 10 AS $$
  SELECT word
  UNION
  SELECT left(word, i - 1) || substr(word, i + 1) FROM generate_series(1, length(word)) i WHERE length(word) >= 3
$$;
--> statement-breakpoint
-- Postgres 15's pg_trgm serves `word = $1` from the trigram GIN index when it guesses wrong (3 ms a probe instead of
-- a primary-key look-up); the similarity fallback scans the 15k-word dictionary anyway.
DROP INDEX IF EXISTS "search_terms_word_trgm";
--> statement-breakpoint
UPDATE search_terms t SET weight = w.weight FROM (
  SELECT x AS word, max(d.ratings_count) AS weight FROM search_documents d,
    unnest(regexp_split_to_array(search_norm(d.name || ' ' || coalesce(d.series, '') || ' ' || array_to_string(d.authors, ' ')), '[^[:alnum:]]+')) x
  GROUP BY x
) w WHERE w.word = t.word;
--> statement-breakpoint
INSERT INTO search_term_variants (variant, word)
SELECT v, t.word FROM search_terms t, search_word_variants(t.word) v ON CONFLICT DO NOTHING;
--> statement-breakpoint
ANALYZE search_terms, search_term_variants;
--> statement-breakpoint
-- As in 0007, with typo candidates from the symmetric-delete index instead of a trigram scan.
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
  fixes text[];
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
      -- Symmetric deletes: the words sharing most one-letter deletions with the query word (2 for a swap, 1 for
      -- a wrong, missing or extra letter), the most read first; only the closest tier, at most 3.
      fixes := ARRAY(
        SELECT c.word FROM (
          SELECT v.word, count(*) AS shared, max(count(*)) OVER () AS best
          FROM search_term_variants v
          WHERE v.variant = ANY (ARRAY(SELECT search_word_variants(tok))) AND v.word <> tok
          GROUP BY v.word
        ) c JOIN search_terms t ON t.word = c.word
        WHERE c.shared = c.best
        ORDER BY t.weight DESC, c.word LIMIT 3);
      -- Two typos in a long word share no deletion: fall back to trigram similarity (a scan of the dictionary).
      IF cardinality(fixes) = 0 AND length(tok) >= 6 THEN
        fixes := ARRAY(SELECT word FROM search_terms WHERE word % tok ORDER BY similarity(word, tok) DESC, word LIMIT 3);
      END IF;
      alts := alts || ARRAY(SELECT quote_literal(f) || CASE WHEN w = '' THEN '' ELSE ':' || w END FROM unnest(fixes) f);
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
