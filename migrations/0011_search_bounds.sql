-- Bounded work per query (issue 10: 12 gibberish words of 30 letters cost ~1.2 s, one trigram scan of the dictionary
-- per unknown word). As in 0008, plus: at most 10 words of at most 32 characters; typo candidates only for words of
-- 4-20 characters, at most 4 words a query; the trigram fallback (a scan of the dictionary) for at most one word a
-- query; and no typo work at all once the statement has run 100 ms (what remains is matched as typed). The Worker also
-- sets a statement_timeout on search reads; these limits keep an honest query far below it.
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
  typo_words int := 0;
  trigram_scans int := 0;
BEGIN
  toks := array_remove(regexp_split_to_array(search_norm(left(coalesce(q, ''), 400)), '[^[:alnum:]]+'), '');
  IF toks IS NULL OR cardinality(toks) = 0 THEN
    RETURN NULL;
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
    IF length(tok) BETWEEN 4 AND 20 AND typo_words < 4
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
