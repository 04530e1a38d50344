/**
 * Builds search documents from the catalog tables (one per active variant of an active product). The indexer
 * and the reindex command both use it, so the queue path and a full rebuild cannot disagree.
 */
import { sql } from "drizzle-orm";
import type { SqlReader as Reader } from "./sql-gateway";
import type { SearchDocument } from "./engine";
import { normPhrase } from "./subject-words";

type DocumentRow = Omit<SearchDocument, "product_id" | "rating" | "product_version" | "series" | "series_keys" | "series_names" | "is_collection"> & {
  product_id: string | number;
  rating: string | number;
  product_version: string | number;
  series_raw: string | null;
};

/**
 * The shape of a search document: raised when documents gain what existing indexes lack (2: subjects, series
 * keys, collections; 3: every series of a book; 4: title keys without "and"/"of"; 5: apostrophes join words, no
 * root category), so the start-up reindex of the local stack rebuilds them and operators know to reindex.
 */
export const DOCUMENT_SCHEMA = 5;

/** Titles of box sets, omnibuses and companions: ranked below the books themselves. */
const COLLECTION_TITLE = /\b(box(ed)? ?set|boxset|omnibus|collection|complete|compendium|companion|trilogy|quartet|books? \d+\s*(-|–|to|&|and|through)\s*\d+|volumes? \d+\s*(-|–|&)\s*\d+)\b/i;

/** A series number that is not a plain volume: a range (#1-3), an in-between novella (#0.5, #2.5) or a list. */
const MINOR_NUMBER = /#\s*(\d+(\.\d+)?\s*[-–,&]\s*\d+|\d*\.\d+)/;

/**
 * The series of a book from its catalog attribute ("Discworld, #1; Rincewind #1"): each name without its number,
 * and whether the book is a minor volume of its first series.
 */
export function parseSeries(raw: string | null): { names: string[]; minor: boolean } {
  if (raw === null || raw.trim() === "") return { names: [], minor: false };
  const parts = raw.split(";").map((p) => p.trim()).filter(Boolean);
  const names = parts.map((p) => p.replace(/\s*[,(]?\s*#\s*[0-9.\s,&+–-]+\)?\s*$/, "").trim()).filter(Boolean);
  return { names: [...new Set(names)], minor: MINOR_NUMBER.test(parts[0] ?? "") };
}

/** The words of a series name as queries are compared: unaccented, lower case, no leading article. */
export function seriesKey(series: string | null): string | null {
  if (series === null) return null;
  const words = normPhrase(series).split(" ").filter(Boolean);
  if (words.length > 1 && (words[0] === "the" || words[0] === "a" || words[0] === "an")) words.shift();
  return words.length > 0 ? words.join(" ") : null;
}

/** The documents of these products as they are now (primary reads: the index must not lag the write). */
export async function loadDocuments(db: Reader, productIds: number[]): Promise<SearchDocument[]> {
  if (productIds.length === 0) return [];
  const rows = await db.rows<DocumentRow>(sql`
    select v.sku, p.id as product_id, p.name, p.slug,
      p.attributes ->> 'series' as series_raw,
      coalesce(sj.slugs, '{}') as subjects, coalesce(sj.names, '{}') as subject_names, coalesce(sj.weights, '{}') as subject_weights,
      coalesce(a.names, '{}') as authors, coalesce(a.slugs, '{}') as author_slugs, b.name as publisher,
      coalesce(cat.slugs, '{}') as category_slugs, coalesce(cat.names, '{}') as category_names, pc.path as category_path,
      v.attributes ->> 'format' as format, p.language, coalesce(v.price_override, p.base_price) as price, p.currency,
      (v.track_inventory = false or v.backorder_allowed or coalesce(i.on_hand - i.reserved, 0) > 0) as in_stock,
      p.attributes || v.attributes as attributes, p.rating_avg as rating, p.ratings_count, p.sales_count, p.popularity,
      p.featured, p.published_year,
      case when p.gtin ~ '^97[89][0-9]{10}$' then p.gtin end as isbn13, p.attributes ->> 'isbn10' as isbn10,
      coalesce(p.images -> 0 ->> 'thumbUrl', p.images -> 0 ->> 'url') as image_url, p.version as product_version
    from products p
    join variants v on v.product_id = p.id and v.status = 'active'
    join categories pc on pc.id = p.category_id
    left join inventory i on i.variant_id = v.id
    left join brands b on b.id = p.brand_id
    left join lateral (
      select array_agg(au.name order by pa.position) as names, array_agg(au.slug order by pa.position) as slugs
      from product_authors pa join authors au on au.id = pa.author_id where pa.product_id = p.id
    ) a on true
    left join lateral (
      select array_agg(c.slug order by c.depth, c.slug) as slugs, array_agg(c.name order by c.depth, c.slug) as names
      from product_categories x join categories c on c.id = x.category_id where x.product_id = p.id
    ) cat on true
    left join lateral (
      select array_agg(s.slug order by ps.weight desc, s.slug) as slugs, array_agg(s.name order by ps.weight desc, s.slug) as names,
        array_agg(ps.weight order by ps.weight desc, s.slug) as weights
      from product_subjects ps join subjects s on s.id = ps.subject_id where ps.product_id = p.id
    ) sj on true
    where p.id in (${sql.join(productIds.map((id) => sql`${id}`), sql`, `)}) and p.status = 'active'
    order by p.id, v.position`);
  return rows.map(({ series_raw, ...r }) => {
    const series = parseSeries(series_raw);
    const keys = series.names.map((n) => [seriesKey(n), n] as const).filter((k): k is [string, string] => k[0] !== null);
    return {
    ...r,
    series: series.names[0] ?? null,
    series_keys: keys.map(([k]) => k),
    series_names: keys.map(([, n]) => n),
    product_id: Number(r.product_id),
    rating: Number(r.rating),
    product_version: Number(r.product_version),
    subject_weights: r.subject_weights.map(Number),
    is_collection: COLLECTION_TITLE.test(r.name) || series.minor,
    };
  });
}

/** The next `limit` product ids after `afterId` (reindex batches walk the catalog in id order). */
export async function nextProductIds(db: Reader, afterId: number, limit: number): Promise<number[]> {
  const rows = await db.rows<{ id: string | number }>(sql`select id from products where id > ${afterId} order by id limit ${limit}`);
  return rows.map((r) => Number(r.id));
}
