/**
 * The embedded search engine: Postgres full text (a weighted tsvector per SKU, 'simple' configuration on
 * unaccented text) for matching and ranking; typo tolerance from a symmetric-delete dictionary and synonyms from
 * a table, both inside `search_tsquery`; facet counts and grouping by product in one statement. Matching reads the
 * narrow per-SKU `search_documents`; a page of hits reads its display fields from `search_products`.
 */
import { sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { SqlReader as Reader } from "./sql-gateway";
import type { SqlGateway } from "./sql-gateway";
import type {
  FacetCount,
  FacetField,
  SearchDocument,
  SearchEngine,
  SearchFilters,
  SearchHit,
  SearchRequest,
  SearchResult,
  SearchSort,
  Suggestion,
  SynonymSet,
} from "./engine";
import { facetDocumentField } from "./engine";
import { entitiesOf } from "./entities";
import { understandQuery } from "./query-understanding";
import { escapeHtml, hasMatch, MARK_END, MARK_START, MARKERS, renderHighlight } from "./highlight";

/** The words of a text, unaccented, lower case, single-spaced: how queries and titles are compared. */
const normWords = (expr: SQL): SQL =>
  sql`array_to_string(array_remove(regexp_split_to_array(search_norm(${expr}), '[^[:alnum:]]+'), ''), ' ')`;

/**
 * A weighted tsvector of a text: split into words exactly as queries are (so "11/22/63" is three words, not a
 * path), unaccented and lower-cased, with the 'simple' configuration (no stemming, no stop words: titles are
 * names, and Typesense does not stem either).
 */
const weighted = (expr: SQL, weight: "A" | "B" | "C" | "D"): SQL => sql`setweight(to_tsvector('simple', ${normWords(expr)}), ${weight})`;

/**
 * A title's key, as `search_documents.title_key`: the words before a subtitle without articles, "and" and "of"
 * ("game thrones" for "A Game of Thrones", "angels demons" for "Angels & Demons"), so a title typed without them
 * is still the title itself. Queries go through the same function.
 */
const keyOf = (words: SQL): SQL => sql`btrim(regexp_replace(regexp_replace(${words}, '\\m(the|a|an|and|of)\\M', '', 'g'), '\\s+', ' ', 'g'))`;
const titleKey = (expr: SQL): SQL => keyOf(normWords(sql`split_part(${expr}, ':', 1)`));

// Matches are marked with private-use characters, and the text is escaped in TS before they become <mark> (highlight.ts).
const HEADLINE = `HighlightAll=true, StartSel="${MARK_START}", StopSel="${MARK_END}"`;
/** A text column without the markers, as ts_headline's input. */
const unmarked = (expr: SQL): SQL => sql`translate(${expr}, ${MARKERS}, '')`;

/**
 * Facet counts are products, not SKUs. Fields that belong to the product (categories, authors, publisher) are
 * counted on one row per product (its representative SKU), so unnesting arrays never multiplies by formats and
 * no distinct count is needed; format, language and stock vary by SKU and count distinct products.
 */
const perProduct = sql`matched m join groups g on g.rep_sku = m.sku`;
const facetSql: Record<FacetField, SQL> = {
  category: sql`select c as value, count(*)::int as n from ${perProduct}, unnest(m.category_slugs) c group by c`,
  author: sql`select a as value, count(*)::int as n from ${perProduct}, unnest(m.author_slugs) a group by a`,
  publisher: sql`select m.publisher as value, count(*)::int as n from ${perProduct} where m.publisher is not null group by m.publisher`,
  format: sql`select format as value, count(distinct product_id)::int as n from matched where format is not null group by format`,
  language: sql`select language as value, count(distinct product_id)::int as n from matched where language is not null group by language`,
  in_stock: sql`select in_stock::text as value, count(distinct product_id)::int as n from matched group by in_stock`,
};

const orderBy: Record<SearchSort, SQL> = {
  relevance: sql`score desc, popularity desc`,
  price_asc: sql`min_price asc, score desc`,
  price_desc: sql`min_price desc, score desc`,
  rating: sql`rating desc, ratings_count desc`,
  popularity: sql`popularity desc, score desc`,
  newest: sql`published_year desc nulls last, score desc`,
};

/** The filters as a condition on the search_documents row `d` (the matched set) or `v` (a hit's variants). */
function filterSql(f: SearchFilters, alias: "d" | "v" = "d"): SQL {
  const col = (name: string): SQL => sql.raw(`${alias}.${name}`);
  const parts: SQL[] = [sql`true`];
  if (f.category !== undefined) parts.push(sql`${col("category_slugs")} @> array[${f.category}]::text[]`);
  if (f.author !== undefined) parts.push(sql`${col("author_slugs")} @> array[${f.author}]::text[]`);
  if (f.format.length > 0) parts.push(sql`${col("format")} in (${sql.join(f.format.map((v) => sql`${v}`), sql`, `)})`);
  if (f.language.length > 0) parts.push(sql`${col("language")} in (${sql.join(f.language.map((v) => sql`${v}`), sql`, `)})`);
  if (f.priceMin !== undefined) parts.push(sql`${col("price")} >= ${f.priceMin}`);
  if (f.priceMax !== undefined) parts.push(sql`${col("price")} <= ${f.priceMax}`);
  if (f.inStock !== undefined) parts.push(sql`${col("in_stock")} = ${f.inStock}`);
  if (f.ratingMin !== undefined) parts.push(sql`${col("rating")} >= ${f.ratingMin}`);
  if (f.isbn13 !== undefined) parts.push(sql`${col("isbn13")} = ${f.isbn13}`);
  return sql.join(parts, sql` and `);
}

/**
 * Product-level sort keys each sort needs from the matched rows (the same on every variant of a product, so
 * grouping takes any): carrying only these keeps broad queries (thousands of matches) cheap to group.
 */
const sortColumns: Record<SearchSort, string[]> = {
  relevance: ["popularity"],
  price_asc: [],
  price_desc: [],
  rating: ["rating", "ratings_count"],
  popularity: ["popularity"],
  newest: ["published_year"],
};

interface SearchRow extends Record<string, unknown> {
  found: number;
  hits: (Omit<SearchHit, "highlights"> & { h_name: string | null; h_series: string | null; h_authors: string[] | null })[];
  facets: Partial<Record<FacetField, FacetCount[]>> | null;
  index_version: number | null;
  did_you_mean: string | null;
}

/** Postgres implementation of the search contract. */
export class PostgresSearchEngine implements SearchEngine {
  readonly name = "postgres" as const;

  constructor(
    private readonly db: SqlGateway,
    /** Search reads go to the primary (read-your-writes sessions, tests that must see a just-indexed change). */
    private readonly readPrimary = false,
    /** Bound on each search and suggest statement (unbounded when undefined: the Node tools). */
    private readonly statementTimeoutMs?: number,
  ) {}

  private readOpts(primary: boolean): { primary: boolean; statementTimeoutMs?: number } {
    return this.statementTimeoutMs === undefined ? { primary } : { primary, statementTimeoutMs: this.statementTimeoutMs };
  }

  async ensureReady(): Promise<void> {
    await this.db.read((r) => r.rows(sql`select 1 from search_documents limit 1`), { primary: true });
  }

  async replaceProducts(productIds: number[], docs: SearchDocument[]): Promise<void> {
    if (productIds.length === 0) return;
    const ids = sql`array[${sql.join(productIds.map((id) => sql`${id}`), sql`, `)}]::bigint[]`;
    await this.db.write((w) =>
      w.rows(sql`
      with input as (
        select * from jsonb_to_recordset(${JSON.stringify(docs)}::jsonb) as x(
          sku text, product_id bigint, name text, slug text, series text, authors text[], author_slugs text[],
          publisher text, category_slugs text[], category_names text[], category_path text, subjects text[],
          subject_names text[], subject_weights int[], series_keys text[], series_names text[], is_collection boolean, format text,
          language text, price int, currency text, in_stock boolean, attributes jsonb, rating real,
          ratings_count int, sales_count int, popularity int, featured boolean, published_year int, isbn13 text,
          isbn10 text, image_url text, product_version bigint)
      ),
      removed as (
        delete from search_documents d where d.product_id = any(${ids})
          and not exists (select 1 from input i where i.sku = d.sku)
      ),
      upserted as (
        insert into search_documents (sku, product_id, in_stock, price, rating, ratings_count, popularity, featured,
          published_year, document, format, language, name_norm, publisher, isbn13, category_slugs, author_slugs,
          series_keys, subjects, subject_weights, title_key, is_collection, product_version, indexed_at)
        select sku, product_id, in_stock, price, rating, ratings_count, popularity, featured, published_year,
          ${weighted(sql`name`, "A")}
          || ${weighted(sql`coalesce(series, '') || ' ' || array_to_string(authors, ' ')`, "B")}
          || ${weighted(sql`array_to_string(category_names[2:], ' ') || ' ' || array_to_string(subject_names, ' ') || ' ' || coalesce(attributes ->> 'original_title', '') || ' ' || coalesce(publisher, '')`, "C")}
          || ${weighted(sql`coalesce(isbn13, '') || ' ' || coalesce(isbn10, '') || ' ' || sku`, "D")},
          format, language, ${normWords(sql`name`)}, publisher, isbn13, category_slugs, author_slugs,
          coalesce(series_keys, '{}'), coalesce(subjects, '{}'), coalesce(subject_weights, '{}'), ${titleKey(sql`name`)}, coalesce(is_collection, false),
          product_version, now()
        from input
        on conflict (sku) do update set
          product_id = excluded.product_id, in_stock = excluded.in_stock, price = excluded.price, rating = excluded.rating,
          ratings_count = excluded.ratings_count, popularity = excluded.popularity, featured = excluded.featured,
          published_year = excluded.published_year, document = excluded.document, format = excluded.format,
          language = excluded.language, name_norm = excluded.name_norm, publisher = excluded.publisher,
          isbn13 = excluded.isbn13, category_slugs = excluded.category_slugs, author_slugs = excluded.author_slugs,
          series_keys = excluded.series_keys, subjects = excluded.subjects, subject_weights = excluded.subject_weights,
          title_key = excluded.title_key, is_collection = excluded.is_collection,
          product_version = excluded.product_version, indexed_at = now()
        -- A build from an older product version (a slow, redelivered job) never overwrites a newer one, and a build
        -- that changes nothing (a full reindex, a sibling SKU's change) writes no new row version.
        where search_documents.product_version <= excluded.product_version
          and (search_documents.product_id, search_documents.in_stock, search_documents.price, search_documents.rating,
               search_documents.ratings_count, search_documents.popularity, search_documents.featured,
               search_documents.published_year, search_documents.document, search_documents.format,
               search_documents.language, search_documents.name_norm, search_documents.publisher, search_documents.isbn13,
               search_documents.category_slugs, search_documents.author_slugs, search_documents.series_keys,
               search_documents.subjects, search_documents.subject_weights, search_documents.title_key,
               search_documents.is_collection, search_documents.product_version)
          is distinct from
              (excluded.product_id, excluded.in_stock, excluded.price, excluded.rating, excluded.ratings_count,
               excluded.popularity, excluded.featured, excluded.published_year, excluded.document, excluded.format,
               excluded.language, excluded.name_norm, excluded.publisher, excluded.isbn13, excluded.category_slugs,
               excluded.author_slugs, excluded.series_keys, excluded.subjects, excluded.subject_weights,
               excluded.title_key, excluded.is_collection, excluded.product_version)
        returning 1
      ),
      products as (
        select distinct on (product_id) product_id, slug, name, series, authors, author_slugs, category_names, category_path,
          language, published_year, isbn13, isbn10, image_url, currency, featured, rating, ratings_count, sales_count,
          attributes, product_version
        from input order by product_id, sku
      ),
      product_rows as (
        insert into search_products (product_id, slug, name, series, authors, author_slugs, category_names, category_path,
          language, published_year, isbn13, isbn10, image_url, currency, featured, rating, ratings_count, sales_count,
          attributes, product_version, indexed_at)
        select product_id, slug, name, series, authors, author_slugs, category_names, category_path, language,
          published_year, isbn13, isbn10, image_url, currency, featured, rating, ratings_count, sales_count, attributes,
          product_version, now()
        from products
        on conflict (product_id) do update set
          slug = excluded.slug, name = excluded.name, series = excluded.series, authors = excluded.authors,
          author_slugs = excluded.author_slugs, category_names = excluded.category_names,
          category_path = excluded.category_path, language = excluded.language,
          published_year = excluded.published_year, isbn13 = excluded.isbn13, isbn10 = excluded.isbn10,
          image_url = excluded.image_url, currency = excluded.currency, featured = excluded.featured,
          rating = excluded.rating, ratings_count = excluded.ratings_count, sales_count = excluded.sales_count,
          attributes = excluded.attributes, product_version = excluded.product_version, indexed_at = now()
        where search_products.product_version <= excluded.product_version
      ),
      products_gone as (
        delete from search_products sp where sp.product_id = any(${ids})
          and not exists (select 1 from products p where p.product_id = sp.product_id)
      ),
      words as (
        select t as word, max(ratings_count) as weight from input,
          unnest(regexp_split_to_array(search_norm(name || ' ' || coalesce(series, '') || ' ' || array_to_string(authors, ' ') || ' ' || array_to_string(coalesce(subject_names, '{}'), ' ')), '[^[:alnum:]]+')) t
        where length(t) >= 2 and length(t) <= 40
        group by t
      ),
      terms as (
        insert into search_terms (word, weight) select word, weight from words
        on conflict (word) do update set weight = excluded.weight where search_terms.weight < excluded.weight
      ),
      term_variants as (
        insert into search_term_variants (variant, word)
        select v, words.word from words, search_word_variants(words.word) v
        on conflict do nothing
      ),
      gone as (
        delete from search_suggestions s where s.product_id = any(${ids})
          and not exists (select 1 from products p where p.product_id = s.product_id)
      ),
      entities as (
        select * from jsonb_to_recordset(${JSON.stringify(entitiesOf(docs))}::jsonb) as x(
          id text, kind text, label text, slug text, weight int, keys text[], tokens text[], tail text)
      ),
      suggestions as (
        select 'title:' || product_id as id, 'title' as kind, name as label, slug, product_id, ratings_count as weight,
          '{}'::text[] as keys, '{}'::text[] as tokens, null::text as tail
        from products
        union all
        select id, kind, label, slug, null::bigint, weight, keys, tokens, tail from entities
      ),
      suggested as (
        insert into search_suggestions (id, kind, label, slug, product_id, weight, label_norm, document, keys, tokens, tail)
        select id, kind, label, slug, product_id, weight, ${normWords(sql`label`)}, to_tsvector('simple', ${normWords(sql`label`)}), keys, tokens, tail
        from suggestions
        -- An entity is labelled as its most read book names it ("The Wheel of Time", not a box set's "Wheel of Time").
        on conflict (id) do update set
          label = case when search_suggestions.kind = 'title' or excluded.weight >= search_suggestions.weight then excluded.label else search_suggestions.label end,
          label_norm = case when search_suggestions.kind = 'title' or excluded.weight >= search_suggestions.weight then excluded.label_norm else search_suggestions.label_norm end,
          document = case when search_suggestions.kind = 'title' or excluded.weight >= search_suggestions.weight then excluded.document else search_suggestions.document end,
          slug = excluded.slug, keys = excluded.keys, tokens = excluded.tokens, tail = excluded.tail,
          weight = case when search_suggestions.kind = 'title' then excluded.weight
                        else greatest(search_suggestions.weight, excluded.weight) end
      )
      select (select count(*) from upserted)::int as n`),
    );
  }

  async delete(skus: string[]): Promise<void> {
    if (skus.length === 0) return;
    const list = sql.join(skus.map((s) => sql`${s}`), sql`, `);
    // The statement's snapshot does not see its own CTE's deletes, hence the sku filter on what is left.
    await this.db.write((w) =>
      w.rows(sql`
      with gone as (delete from search_documents where sku in (${list}) returning product_id)
      delete from search_products sp where sp.product_id in (select product_id from gone)
        and not exists (select 1 from search_documents d where d.product_id = sp.product_id and d.sku not in (${list}))`),
    );
  }

  async search(req: SearchRequest, opts: { fresh?: boolean } = {}): Promise<SearchResult> {
    const { value } = await this.db.read(async (r) => {
      const all = await this.runSearch(r, req, true);
      // Nothing has every word: like Typesense's drop_tokens, fall back to documents with any of them.
      if (all.found === 0 && req.q !== null && /\s/.test(req.q.trim())) return this.runSearch(r, req, false);
      return all;
    }, this.readOpts(this.readPrimary || opts.fresh === true));
    return value;
  }

  private async runSearch(r: Reader, req: SearchRequest, matchAll: boolean): Promise<SearchResult> {
    const q = req.q ?? "";
    const textual = req.q !== null;
    const facets = req.facets.length === 0
      ? sql`'{}'::json`
      : sql`json_build_object(${sql.join(
          req.facets.map(
            (f) => sql`${f}::text, (select coalesce(json_agg(json_build_object('value', value, 'count', n) order by n desc, value), '[]'::json)
                      from (${facetSql[f]} order by n desc, value limit 20) f)`,
          ),
          sql`, `,
        )})`;
    const intent = req.intent ?? understandQuery(q);
    // Tiers decide which books answer the query; within a tier the most read come first (score = tier·100 + ln
    // popularity + small adjustments), like Typesense's text-match buckets followed by a popularity sort:
    //   5  the title itself (as typed, without filler, or corrected), or the author / series / main subject the
    //      whole query names (a first author; a co-author or a minor subject is 4)
    //   3  every word in the title, series or author names ("hobbit tolkien"), or a partial author / series name
    //      ("tolkien", "narnia")
    //   2  every word somewhere (title, authors, series, subjects, categories, ISBN)
    // The whole name as typed gets +3 (twenty times the readers) so it leads its own series; a title otherwise
    // exact (before its subtitle, without filler, corrected) +1.5; box sets and companions −1.5 (not when the query
    // names their author: an omnibus can be among an author's most read books).
    // Without filler the words left may be a title; with a hint ("… series", "books by …") they name something else.
    // The title as typed beats the title without filler ("the jungle book" is not "The Jungle").
    const typedName = sql`(d.name_norm = x.nq)`;
    const typedTitle = sql`(${typedName} or d.title_key = x.nq_key)`;
    const exactTitle = intent.hint === null
      ? sql`(${typedTitle} or d.name_norm = x.nc or d.title_key = x.nc_key or d.title_key = x.cq_key)`
      : typedTitle;
    // A book is about a subject when it is among its ten strongest with 50 shelvings or more (a main subject, tier
    // 5); a weaker one still ranks it above books that merely have the word in a title (tier 4). A query names one
    // subject (the longest that matched): array_position, not an unnest per row.
    const subjectAt = sql`array_position(d.subjects, x.subj[1])`;
    const mainSubject = sql`(${subjectAt} <= 10 and d.subject_weights[${subjectAt}] >= 50)`;
    const score = textual && req.sort !== "relevance"
      ? sql`0`
      : textual
      ? sql`100 * greatest(
              case when ${exactTitle} then 5 else 0 end,
              case when d.author_slugs[1] = any(x.a_full) or d.series_keys && x.s_full or ${mainSubject} then 5
                   when d.author_slugs && x.a_full or d.subjects && x.subj then 4 else 0 end,
              case when x.tsq_title is not null and d.document @@ x.tsq_title then 3
                   when d.author_slugs && x.a_part or d.series_keys && x.s_part then 3 else 0 end,
              ${matchAll ? sql`2` : sql`1 + (select count(*) from unnest(x.word_tsqs) wq where d.document @@ wq)::float4 / greatest(cardinality(x.word_tsqs), 1)`})
            + ln(1 + d.popularity)
            + case when ${typedName} then 3 when ${exactTitle} then 1.5 else 0 end
            - case when d.is_collection and not d.author_slugs && x.a_full then 1.5 else 0 end
            + 0.5 * ts_rank('{0.05,0.2,0.5,1.0}', d.document, x.tsq, 1)
            + case when d.in_stock then 0.1 else 0 end + case when d.featured then 0.05 else 0 end`
      : sql`ln(1 + d.popularity) * 0.02 + case when d.in_stock then 0.1 else 0 end + case when d.featured then 0.05 else 0 end`;
    const entityMatch = (alias: "d" | "v"): SQL =>
      sql.raw(`(${alias}.author_slugs && (x.a_full || x.a_part) or ${alias}.series_keys && (x.s_full || x.s_part) or ${alias}.subjects && x.subj)`);
    const offset = (req.page - 1) * req.perPage;
    // Only the columns this request's facets and sort read: a broad query groups thousands of rows.
    const extraCols = [...new Set([...req.facets.map((f) => facetDocumentField[f]), ...sortColumns[req.sort]])].filter((c) => c !== "in_stock");
    const extra = sql.raw(extraCols.map((c) => `d.${c},`).join(" "));
    const sortKeys = sql.raw(sortColumns[req.sort].map((c) => `max(${c}) as ${c},`).join(" "));
    // A hit lists its variants that pass the filters and match the words (an ISBN or SKU word matches one).
    const variantMatch = textual ? sql`(v.document @@ x.tsq or ${entityMatch("v")})` : sql`true`;
    const keys = sql`array[${sql.join([...intent.keys, ""].map((k) => sql`${k}`), sql`, `)}]::text[]`;
    // Entities (authors, series, subjects) the whole query names, or partly names: search_understand (0016).
    const hint = intent.hint ?? "";
    const rows = await r.rows<SearchRow>(sql`
      with u as materialized (
        -- In FROM, so the function runs once (as "(f()).*" it would run once per column).
        select su.*, ${normWords(sql`${q}::text`)} as nq, ${normWords(sql`${intent.core}::text`)} as nc
          ${matchAll ? sql`` : sql`, array(select search_tsquery(w, true) from unnest((regexp_split_to_array(search_norm(${intent.core}), '[^[:alnum:]]+'))[1:10]) w where w <> '') as word_tsqs`}
        from search_understand(${intent.core}, ${keys}, ${hint === "" ? null : hint}::text, ${matchAll}) su
      ),
      x as materialized (
        select u.*, array_to_string(u.ctoks, ' ') as cq,
          ${keyOf(sql`u.nq`)} as nq_key, ${keyOf(sql`u.nc`)} as nc_key, ${keyOf(sql`array_to_string(u.ctoks, ' ')`)} as cq_key
        from u
      ),
      matched as materialized (
        select d.sku, d.product_id, d.price, d.in_stock, ${extra} ${score} as score
        from search_documents d, x
        where ${textual ? sql`d.document @@ x.tsq` : sql`true`} and ${filterSql(req.filters)}
        ${textual ? sql`union all
        select d.sku, d.product_id, d.price, d.in_stock, ${extra} ${score} as score
        from search_documents d, x
        where ${entityMatch("d")} and not coalesce(d.document @@ x.tsq, false) and ${filterSql(req.filters)}` : sql``}
      ),
      groups as (
        select product_id, max(score) as score, min(price) as min_price, bool_or(in_stock) as in_stock,
               ${sortKeys} min(sku) as rep_sku
        from matched group by product_id
      ),
      page as (
        select g.*, row_number() over (order by ${orderBy[req.sort]}, product_id) as ord
        from groups g order by ${orderBy[req.sort]}, product_id limit ${req.perPage} offset ${offset}
      )
      select (select count(*) from groups)::int as found,
        (select coalesce(json_agg(json_build_object(
            'product_id', d.product_id, 'slug', d.slug, 'name', d.name, 'series', d.series, 'authors', d.authors,
            'author_slugs', d.author_slugs, 'category_path', d.category_path, 'language', d.language,
            'published_year', d.published_year, 'isbn13', d.isbn13, 'image_url', d.image_url,
            'price', json_build_object('amount', pg.min_price, 'currency', d.currency), 'in_stock', pg.in_stock,
            'featured', d.featured, 'rating', json_build_object('average', round(d.rating::numeric, 2), 'count', d.ratings_count),
            'variants', (select json_agg(json_build_object('sku', v.sku, 'format', v.format, 'price', v.price, 'in_stock', v.in_stock) order by v.price, v.sku)
                         from search_documents v where v.product_id = pg.product_id and ${variantMatch} and ${filterSql(req.filters, "v")}),
            'h_name', ${textual ? sql`ts_headline('simple', ${unmarked(sql`d.name`)}, x.tsq, ${HEADLINE})` : sql`null`},
            'h_series', ${textual ? sql`case when d.series is not null then ts_headline('simple', ${unmarked(sql`d.series`)}, x.tsq, ${HEADLINE}) end` : sql`null`},
            'h_authors', ${textual ? sql`(select array_agg(ts_headline('simple', ${unmarked(sql`a`)}, x.tsq, ${HEADLINE}) order by o) from unnest(d.authors) with ordinality as ax(a, o))` : sql`null`}
          ) order by pg.ord), '[]'::json)
          from page pg join search_products d on d.product_id = pg.product_id, x) as hits,
        ${facets} as facets,
        (select version from cache_versions where scope = 'search')::int as index_version,
        ${textual ? sql`(select x.fix from x)` : sql`null`} as did_you_mean`);
    const row = rows[0];
    if (!row) return { found: 0, hits: [], facets: {} };
    const hits: SearchHit[] = row.hits.map(({ h_name, h_series, h_authors, ...hit }) => {
      const highlights: SearchHit["highlights"] = {};
      if (hasMatch(h_name)) highlights.name = renderHighlight(h_name);
      if (hasMatch(h_series)) highlights.series = renderHighlight(h_series);
      if (h_authors?.some(hasMatch)) highlights.authors = h_authors.map(renderHighlight);
      return { ...hit, product_id: Number(hit.product_id), highlights };
    });
    return { found: row.found, hits, facets: row.facets ?? {}, indexVersion: row.index_version ?? 0, didYouMean: row.did_you_mean ?? undefined };
  }

  async suggest(q: string, limit: number): Promise<Suggestion[]> {
    const { value } = await this.db.read(
      (r) =>
        r.rows<{ kind: Suggestion["kind"]; text: string; slug: string | null; highlight: string }>(sql`
        with p as materialized (select search_tsquery(${q}, true) as tsq, ${normWords(sql`${q}::text`)} as nq),
        -- What was typed starts the label first, then the most read; at most a few authors, series and subjects, so
        -- titles are never crowded out.
        ranked as (
          select s.kind, s.label, s.slug, s.id, p.tsq,
            (case when starts_with(s.label_norm, p.nq) then 1 else 0 end) as starts,
            ts_rank(s.document, p.tsq) + ln(1 + s.weight) * 0.3 as rank
          from search_suggestions s, p
          where p.tsq is not null and s.document @@ p.tsq
          order by starts desc, rank desc, s.id limit 60
        ),
        capped as (
          select *, row_number() over (partition by kind order by starts desc, rank desc, id) as nth,
            -- A readers' shelf named like a series or a title ("Sherlock holmes") is not suggested twice.
            bool_or(kind <> 'subject') over (partition by lower(label)) as named_otherwise
          from ranked
        )
        select kind, label as text, slug, ts_headline('simple', ${unmarked(sql`label`)}, tsq, ${HEADLINE}) as highlight
        from capped
        where kind = 'title' or (kind = 'subject' and nth <= 2 and not named_otherwise) or (kind in ('author', 'series') and nth <= 3)
        order by starts desc, rank desc, id
        limit ${limit}`),
      this.readOpts(this.readPrimary),
    );
    return value.map((s) => ({ ...s, highlight: hasMatch(s.highlight) ? renderHighlight(s.highlight) : escapeHtml(s.highlight) }));
  }

  async upsertSynonym(set: SynonymSet): Promise<void> {
    await this.db.write((w) =>
      w.rows(sql`insert into search_synonyms (id, root, synonyms) values (${set.id}, ${set.root}, array[${sql.join(set.synonyms.map((s) => sql`${s}`), sql`, `)}]::text[])
                 on conflict (id) do update set root = excluded.root, synonyms = excluded.synonyms, updated_at = now()`),
    );
  }

  async deleteSynonym(id: string): Promise<void> {
    await this.db.write((w) => w.rows(sql`delete from search_synonyms where id = ${id}`));
  }

  async listSynonyms(): Promise<SynonymSet[]> {
    const { value } = await this.db.read((r) => r.rows<SynonymSet & Record<string, unknown>>(sql`select id, root, synonyms from search_synonyms order by id`), { primary: true });
    return value.map((s) => ({ id: s.id, root: s.root, synonyms: s.synonyms }));
  }
}
