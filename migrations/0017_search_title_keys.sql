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
-- One pass over the words for both the tsquery and the corrected words (search_tsquery's rules, typo look-ups from
-- three letters): search_understand called search_tsquery and search_correct, each repeating the look-ups.
CREATE OR REPLACE FUNCTION search_analyse(q text, match_all boolean, OUT tsq tsquery, OUT ctoks text[])
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
  w text := '';
  typo_words int := 0;
  trigram_scans int := 0;
BEGIN
  toks := array_remove(regexp_split_to_array(search_norm(left(coalesce(q, ''), 400)), '[^[:alnum:]]+'), '');
  ctoks := '{}';
  IF toks IS NULL OR cardinality(toks) = 0 THEN
    RETURN;
  END IF;
  toks := ARRAY(SELECT left(t, 32) FROM unnest(toks[1:10]) t);
  n := cardinality(toks);
  FOREACH tok IN ARRAY toks LOOP
    i := i + 1;
    IF i = n THEN
      alts := ARRAY[quote_literal(tok) || ':*' || w];
    ELSE
      alts := ARRAY[quote_literal(tok) || CASE WHEN w = '' THEN '' ELSE ':' || w END];
    END IF;
    IF length(tok) BETWEEN 3 AND 20 AND typo_words < 4
       AND clock_timestamp() - statement_timestamp() < interval '100 milliseconds'
       AND NOT EXISTS (SELECT 1 FROM search_terms WHERE word = tok)
       AND NOT (i = n AND EXISTS (SELECT 1 FROM search_terms WHERE word LIKE tok || '%')) THEN
      typo_words := typo_words + 1;
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
      -- Two typos in a long word share no deletion: fall back to trigram similarity (a scan of the dictionary,
      -- ~20-30 ms on 15k words), once per query.
      IF cardinality(fixes) = 0 AND length(tok) >= 6 AND trigram_scans < 1 THEN
        trigram_scans := trigram_scans + 1;
        fixes := ARRAY(SELECT word FROM search_terms WHERE word % tok ORDER BY similarity(word, tok) DESC, word LIMIT 3);
      END IF;
      alts := alts || ARRAY(SELECT quote_literal(f) || CASE WHEN w = '' THEN '' ELSE ':' || w END FROM unnest(fixes) f);
    END IF;
    ctoks := ctoks || coalesce(fixes[1], tok);
    fixes := NULL;
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
  tsq := to_tsquery('simple', base);
END;
$$;
--> statement-breakpoint
-- The words to offer as "did you mean": a name matched by edit distance, or the corrected words.
ALTER TYPE search_understanding ADD ATTRIBUTE fix text;
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
  last text;
  forced text;
  fz_kind text;
  fz_ref text;
  whole_refs text[];
  part_refs text[];
BEGIN
  SELECT a.tsq, a.ctoks INTO r.tsq, r.ctoks FROM search_analyse(core, match_all) a;
  -- Every word in the title, series or author names: the same tsquery restricted to weights A and B (no second
  -- round of typo look-ups): 'w' becomes 'w':AB and 'w':* becomes 'w':*AB.
  r.tsq_title := CASE WHEN match_all AND r.tsq IS NOT NULL
    THEN regexp_replace(r.tsq::text, '''([^'']*)''(:(\*))?', '''\1'':\3AB', 'g')::tsquery END;
  nc := array_to_string(array_remove(regexp_split_to_array(search_norm(coalesce(core, '')), '[^[:alnum:]]+'), ''), ' ');
  -- A last word that starts a known word ("john gren": grendel) is kept as typed for matching, but may still be
  -- a typo of a whole name: its correction is a candidate key too.
  last := r.ctoks[cardinality(r.ctoks)];
  IF length(last) >= 3 AND NOT EXISTS (SELECT 1 FROM search_terms WHERE word = last) THEN
    forced := array_to_string(search_correct(core, true), ' ');
  END IF;
  qkeys := ARRAY(
    SELECT DISTINCT k FROM unnest(coalesce(extra_keys, '{}') || ARRAY[nc, array_to_string(r.ctoks, ' '), forced]) k0,
      LATERAL (SELECT k0 AS k UNION ALL SELECT regexp_replace(k0, '^(the|a|an) ', '')) kk
    WHERE k IS NOT NULL AND k <> '');
  -- Two typos in one word of a name ("ricelpe mead") defeat the per-word dictionary: when a word was corrected and
  -- nothing is named whole,
  -- an author or series sharing a correctly typed word, whose whole name is within 1 (2 from 8 letters) edits of
  -- the words as typed or as corrected, is named whole.
  cq := array_to_string(r.ctoks, ' ');
  fuzzy := false;
  IF cardinality(r.ctoks) >= 2 AND length(cq) BETWEEN 5 AND 60 AND cq <> nc THEN
    fuzzy := NOT EXISTS (SELECT 1 FROM search_suggestions s WHERE s.keys && qkeys AND s.kind <> 'title');
    anchors := ARRAY(SELECT t FROM unnest(r.ctoks) t WHERE length(t) >= 3 AND t NOT IN ('the', 'and', 'of'));
    IF fuzzy THEN
      SELECT s.kind, coalesce(s.slug, substr(s.id, 8)), k INTO fz_kind, fz_ref, r.fix
      FROM search_suggestions s, unnest(s.keys) k, unnest(ARRAY[nc, cq]) w
      WHERE s.tokens && anchors AND s.kind IN ('author', 'series') AND abs(length(k) - length(w)) <= 2
        AND levenshtein(k, w) <= CASE WHEN length(w) >= 8 THEN 2 ELSE 1 END
      ORDER BY levenshtein(k, w), s.weight DESC LIMIT 1;
    END IF;
  END IF;
  -- "Did you mean": the name matched by edit distance, else the corrected words when a word was corrected.
  IF r.fix IS NULL AND cq <> nc THEN
    r.fix := cq;
  END IF;
  -- Whole names first, then partial ones; a hint keeps only its kind when one of that kind matched.
  whole_refs := ARRAY(
    SELECT s.kind || ':' || coalesce(s.slug, substr(s.id, 8)) FROM search_suggestions s
    WHERE s.keys && qkeys AND s.kind <> 'title' ORDER BY s.weight DESC LIMIT 40);
  IF fz_ref IS NOT NULL THEN
    whole_refs := whole_refs || (fz_kind || ':' || fz_ref);
  END IF;
  part_refs := '{}';
  IF cardinality(r.ctoks) > 0 THEN
    part_refs := ARRAY(
      SELECT s.kind || ':' || coalesce(s.slug, substr(s.id, 8)) FROM search_suggestions s
      WHERE s.tokens @> r.ctoks AND s.kind IN ('author', 'series') AND (s.kind <> 'author' OR s.tail = ANY (r.ctoks))
      ORDER BY s.weight DESC LIMIT 40);
  END IF;
  IF hint IS NOT NULL AND EXISTS (SELECT 1 FROM unnest(whole_refs || part_refs) e WHERE starts_with(e, hint || ':')) THEN
    whole_refs := ARRAY(SELECT e FROM unnest(whole_refs) e WHERE starts_with(e, hint || ':'));
    part_refs := ARRAY(SELECT e FROM unnest(part_refs) e WHERE starts_with(e, hint || ':'));
  END IF;
  r.a_full := ARRAY(SELECT substr(e, 8) FROM unnest(whole_refs) e WHERE starts_with(e, 'author:'));
  r.s_full := ARRAY(SELECT substr(e, 8) FROM unnest(whole_refs) e WHERE starts_with(e, 'series:'));
  r.subj := ARRAY(SELECT substr(e, 9) FROM unnest(whole_refs) e WHERE starts_with(e, 'subject:') ORDER BY length(e) DESC);
  r.a_part := ARRAY(SELECT substr(e, 8) FROM unnest(part_refs) e WHERE starts_with(e, 'author:') AND NOT e = ANY (whole_refs));
  r.s_part := ARRAY(SELECT substr(e, 8) FROM unnest(part_refs) e WHERE starts_with(e, 'series:') AND NOT e = ANY (whole_refs));
  RETURN r;
END;
$$;
