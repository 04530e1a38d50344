-- Title keys without "and"/"of"/articles (DOCUMENT_SCHEMA 4: the reindex rebuilds them), and candidate keys from
-- a corrected last word ("john gren" → john green), which search_correct keeps as typed for prefix matching; names
-- with two typos in a word matched by edit distance (fuzzystrmatch).
DROP FUNCTION IF EXISTS search_correct(text);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION search_correct(q text, fix_last boolean DEFAULT false) RETURNS text[]
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
       AND NOT (i = n AND NOT fix_last AND EXISTS (SELECT 1 FROM search_terms WHERE word LIKE tok || '%')) THEN
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
--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION search_understand(core text, extra_keys text[], hint text, match_all boolean)
  RETURNS search_understanding LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  r search_understanding;
  qkeys text[];
  nc text;
  cq text;
  fuzzy boolean;
  anchors text[];
BEGIN
  r.tsq := search_tsquery(core, match_all);
  -- Every word in the title, series or author names: the same tsquery restricted to weights A and B (no second
  -- round of typo look-ups): 'w' becomes 'w':AB and 'w':* becomes 'w':*AB.
  r.tsq_title := CASE WHEN match_all AND r.tsq IS NOT NULL
    THEN regexp_replace(r.tsq::text, '''([^'']*)''(:(\*))?', '''\1'':\3AB', 'g')::tsquery END;
  r.ctoks := search_correct(core);
  nc := array_to_string(array_remove(regexp_split_to_array(search_norm(coalesce(core, '')), '[^[:alnum:]]+'), ''), ' ');
  -- A last word that starts a known word ("john gren": grendel) is kept as typed for matching, but may still be
  -- a typo of a whole name: its correction is a candidate key too.
  qkeys := ARRAY(
    SELECT DISTINCT k FROM unnest(coalesce(extra_keys, '{}') || ARRAY[nc, array_to_string(r.ctoks, ' '),
        array_to_string(search_correct(core, true), ' ')]) k0,
      LATERAL (SELECT k0 AS k UNION ALL SELECT regexp_replace(k0, '^(the|a|an) ', '')) kk
    WHERE k <> '');
  -- Two typos in one word of a name ("ricelpe mead") defeat the per-word dictionary: when nothing is named whole,
  -- an author or series sharing a correctly typed word, whose whole name is within 1 (2 from 8 letters) edits of
  -- the words as typed or as corrected, is named whole.
  cq := array_to_string(r.ctoks, ' ');
  fuzzy := cardinality(r.ctoks) >= 2 AND length(cq) BETWEEN 5 AND 60
    AND NOT EXISTS (SELECT 1 FROM search_suggestions s WHERE s.keys && qkeys AND s.kind <> 'title');
  anchors := ARRAY(SELECT t FROM unnest(r.ctoks) t WHERE length(t) >= 3 AND t NOT IN ('the', 'and', 'of'));
  WITH ent AS (
    SELECT kind, ref, bool_or(whole) AS whole, max(weight) AS weight FROM (
      SELECT s.kind, coalesce(s.slug, substr(s.id, 8)) AS ref, true AS whole, s.weight
      FROM search_suggestions s WHERE s.keys && qkeys AND s.kind <> 'title'
      UNION ALL
      SELECT s.kind, coalesce(s.slug, substr(s.id, 8)), true, s.weight
      FROM search_suggestions s
      WHERE fuzzy AND s.tokens && anchors AND s.kind IN ('author', 'series')
        AND EXISTS (SELECT 1 FROM unnest(s.keys) k, unnest(ARRAY[nc, cq]) w
                    WHERE abs(length(k) - length(w)) <= 2
                      AND levenshtein(k, w) <= CASE WHEN length(w) >= 8 THEN 2 ELSE 1 END)
      UNION ALL
      SELECT s.kind, coalesce(s.slug, substr(s.id, 8)), false, s.weight
      FROM search_suggestions s
      WHERE cardinality(r.ctoks) > 0 AND s.tokens @> r.ctoks AND s.kind IN ('author', 'series')
        AND (s.kind <> 'author' OR s.tail = ANY (r.ctoks))
    ) e GROUP BY kind, ref
    ORDER BY bool_or(whole) DESC, max(weight) DESC LIMIT 60
  ),
  h AS (SELECT (SELECT kind FROM ent WHERE kind = hint LIMIT 1) AS on_kind)
  SELECT
    coalesce(array_agg(ref) FILTER (WHERE whole AND kind = 'author' AND (h.on_kind IS NULL OR h.on_kind = 'author')), '{}'),
    coalesce(array_agg(ref) FILTER (WHERE NOT whole AND kind = 'author' AND (h.on_kind IS NULL OR h.on_kind = 'author')), '{}'),
    coalesce(array_agg(ref) FILTER (WHERE whole AND kind = 'series' AND (h.on_kind IS NULL OR h.on_kind = 'series')), '{}'),
    coalesce(array_agg(ref) FILTER (WHERE NOT whole AND kind = 'series' AND (h.on_kind IS NULL OR h.on_kind = 'series')), '{}'),
    coalesce(array_agg(ref ORDER BY length(ref) DESC) FILTER (WHERE whole AND kind = 'subject' AND (h.on_kind IS NULL OR h.on_kind = 'subject')), '{}')
  INTO r.a_full, r.a_part, r.s_full, r.s_part, r.subj
  FROM h LEFT JOIN ent ON true;
  RETURN r;
END;
$$;
