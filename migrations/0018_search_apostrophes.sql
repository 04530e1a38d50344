-- An apostrophe joins its word ("Ender's Game" is "enders game", as shoppers type it; before, "ender s" made every
-- possessive a typo to correct). Documents are rebuilt by the reindex that DOCUMENT_SCHEMA 5 requires, which also
-- leaves the root category ("Books", on every document) out of the words.
CREATE OR REPLACE FUNCTION search_norm(t text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, replace(replace(replace(t, '&', ' and '), '''', ''), '’', ''))) $$;
--> statement-breakpoint
-- The name matched by edit distance is compared without a leading article too ("the alex crosd series").
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
      FROM search_suggestions s, unnest(s.keys) k,
        unnest(ARRAY[nc, cq, regexp_replace(nc, '^(the|a|an) ', ''), regexp_replace(cq, '^(the|a|an) ', '')]) w
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
