DROP INDEX "search_documents_series_key_idx";--> statement-breakpoint
ALTER TABLE "search_documents" DROP COLUMN "series_key";--> statement-breakpoint
ALTER TABLE "search_documents" ADD COLUMN "series_keys" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
CREATE INDEX "search_documents_series_keys_gin" ON "search_documents" USING gin ("series_keys");--> statement-breakpoint
-- A book may belong to several series ("Mort": Death #1 and Discworld #4). Series entries are keyed again by the
-- reindex that DOCUMENT_SCHEMA 3 requires.
DELETE FROM search_suggestions WHERE kind = 'series';
--> statement-breakpoint
-- As in 0015, and three-letter words too ("stephen kng"): the correction only names entities, never widens a match.
CREATE OR REPLACE FUNCTION search_correct(q text) RETURNS text[]
  LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  toks text[];
  tok text;
  out text[] := '{}';
  i int := 0;
  n int;
  fix text;
  typo_words int := 0;
  trigram_scans int := 0;
BEGIN
  toks := array_remove(regexp_split_to_array(search_norm(left(coalesce(q, ''), 400)), '[^[:alnum:]]+'), '');
  IF toks IS NULL OR cardinality(toks) = 0 THEN
    RETURN '{}';
  END IF;
  toks := ARRAY(SELECT left(t, 32) FROM unnest(toks[1:10]) t);
  n := cardinality(toks);
  FOREACH tok IN ARRAY toks LOOP
    i := i + 1;
    fix := NULL;
    IF length(tok) BETWEEN 3 AND 20 AND typo_words < 4
       AND clock_timestamp() - statement_timestamp() < interval '100 milliseconds'
       AND NOT EXISTS (SELECT 1 FROM search_terms WHERE word = tok)
       AND NOT (i = n AND EXISTS (SELECT 1 FROM search_terms WHERE word LIKE tok || '%')) THEN
      typo_words := typo_words + 1;
      SELECT c.word INTO fix FROM (
        SELECT v.word, count(*) AS shared, max(count(*)) OVER () AS best
        FROM search_term_variants v
        WHERE v.variant = ANY (ARRAY(SELECT search_word_variants(tok))) AND v.word <> tok
        GROUP BY v.word
      ) c JOIN search_terms t ON t.word = c.word
      WHERE c.shared = c.best
      ORDER BY t.weight DESC, c.word LIMIT 1;
      IF fix IS NULL AND length(tok) >= 6 AND trigram_scans < 1 THEN
        trigram_scans := trigram_scans + 1;
        SELECT word INTO fix FROM search_terms WHERE word % tok ORDER BY similarity(word, tok) DESC, weight DESC, word LIMIT 1;
      END IF;
    END IF;
    out := out || coalesce(fix, tok);
  END LOOP;
  RETURN out;
END;
$$;
