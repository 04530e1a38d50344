/**
 * The production search engine: a Typesense collection per environment, one document per variant SKU, results
 * grouped by product (`group_by=product_id`), typo tolerance, prefix search, synonyms (the collection's synonyms
 * before Typesense 30, a synonym set from 30 on: the server version is read once from `GET /debug`),
 * facets, sorting, and in-stock / featured boosts through `_eval` in `sort_by`. Requests go through the official
 * `typesense` client with its fetch adapter (Workers have no Node HTTP stack).
 */
import { Client, Errors } from "typesense";
import type { CollectionCreateSchema } from "typesense/lib/Typesense/Collections";
import type { SearchParams, SearchResponse, SearchResponseHit } from "typesense/lib/Typesense/Documents";
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
import { facetDocumentField, SearchUnavailableError } from "./engine";
import { escapeHtml, MARK_END, MARK_START, renderHighlight } from "./highlight";

/** Where the cluster is and which collection this environment uses (platform/config.ts fills it). */
export interface TypesenseSettings {
  host: string;
  port: number;
  protocol: "http" | "https";
  apiKey: string;
  collection: string;
}

type TypesenseDoc = SearchDocument & { id: string } & Record<string, unknown>;

/** The collection schema (fields of seed 003's search document). */
export function collectionSchema(name: string, synonymSet: string | null = null): CollectionCreateSchema {
  return {
    name,
    ...(synonymSet === null ? {} : { synonym_sets: [synonymSet] }),
    enable_nested_fields: true,
    default_sorting_field: "popularity",
    token_separators: ["-", "'"],
    fields: [
      { name: "sku", type: "string" },
      { name: "product_id", type: "int64", facet: true },
      { name: "name", type: "string" },
      { name: "slug", type: "string", index: false, optional: true },
      { name: "series", type: "string", optional: true },
      { name: "authors", type: "string[]" },
      { name: "author_slugs", type: "string[]", facet: true },
      { name: "publisher", type: "string", facet: true, optional: true },
      { name: "category_slugs", type: "string[]", facet: true },
      { name: "category_names", type: "string[]" },
      { name: "category_path", type: "string", facet: true },
      { name: "format", type: "string", facet: true, optional: true },
      { name: "language", type: "string", facet: true, optional: true },
      { name: "price", type: "int32" },
      { name: "currency", type: "string", index: false, optional: true },
      { name: "in_stock", type: "bool", facet: true },
      { name: "attributes", type: "object", index: false, optional: true },
      { name: "rating", type: "float" },
      { name: "ratings_count", type: "int32" },
      { name: "sales_count", type: "int32" },
      { name: "popularity", type: "int32" },
      { name: "featured", type: "bool", facet: true },
      { name: "published_year", type: "int32", optional: true },
      { name: "isbn13", type: "string", optional: true },
      { name: "isbn10", type: "string", optional: true },
      { name: "image_url", type: "string", index: false, optional: true },
      { name: "product_version", type: "int64" },
    ],
  };
}

const BOOSTS = "_eval([ (in_stock:true):3, (featured:true):1 ]):desc";
const sortBy: Record<SearchSort, string> = {
  relevance: `_text_match(buckets: 10):desc,${BOOSTS},popularity:desc`,
  price_asc: "price:asc,_text_match:desc",
  price_desc: "price:desc,_text_match:desc",
  rating: "rating:desc,ratings_count:desc",
  popularity: "popularity:desc,_text_match:desc",
  newest: "published_year(missing_values: last):desc,_text_match:desc",
};
const browseSortBy: Record<SearchSort, string> = { ...sortBy, relevance: `${BOOSTS},popularity:desc` };

/** A filter value in backticks, Typesense's quoting for values with spaces, commas or operators. */
const quote = (v: string): string => `\`${v.replace(/`/g, "")}\``;

/** Builds `filter_by`; every string value is quoted, so a value can never extend the expression. */
export function filterBy(f: SearchFilters): string {
  const parts: string[] = [];
  if (f.category !== undefined) parts.push(`category_slugs:=${quote(f.category)}`);
  if (f.author !== undefined) parts.push(`author_slugs:=${quote(f.author)}`);
  if (f.format.length > 0) parts.push(`format:=[${f.format.map(quote).join(",")}]`);
  if (f.language.length > 0) parts.push(`language:=[${f.language.map(quote).join(",")}]`);
  if (f.priceMin !== undefined) parts.push(`price:>=${f.priceMin}`);
  if (f.priceMax !== undefined) parts.push(`price:<=${f.priceMax}`);
  if (f.inStock !== undefined) parts.push(`in_stock:=${f.inStock}`);
  if (f.ratingMin !== undefined) parts.push(`rating:>=${f.ratingMin}`);
  if (f.isbn13 !== undefined) parts.push(`isbn13:=${quote(f.isbn13)}`);
  return parts.join(" && ");
}

/** Typesense treats a few characters in `q` as operators (`-` exclusion, `"` phrases, `*` wildcard): neutralised. */
const plainQuery = (q: string): string => q.replace(/["*`]/g, " ").replace(/(^|\s)-+/g, "$1").replace(/\s+/g, " ").trim() || "*";

/**
 * A field's highlight as escaped HTML with <mark> around matches, or undefined when nothing in it matched. Typesense
 * returns the stored text unescaped, so matches come back between private-use markers (highlight.ts).
 */
function snippet(h: unknown): string | undefined {
  if (!h || typeof h !== "object") return undefined;
  const { snippet: s, matched_tokens: m } = h as { snippet?: string; matched_tokens?: unknown[] };
  return s && Array.isArray(m) && m.length > 0 ? renderHighlight(s) : undefined;
}

function toHit(hits: SearchResponseHit<TypesenseDoc>[]): SearchHit | null {
  const first = hits[0];
  if (!first) return null;
  const d = first.document;
  const variants = hits
    .map((h) => ({ sku: h.document.sku, format: h.document.format ?? null, price: h.document.price, in_stock: h.document.in_stock }))
    .sort((a, b) => a.price - b.price || a.sku.localeCompare(b.sku));
  const highlight = first.highlight as Record<string, unknown>;
  const highlights: SearchHit["highlights"] = {};
  const name = snippet(highlight.name);
  if (name) highlights.name = name;
  const series = snippet(highlight.series);
  if (series) highlights.series = series;
  if (Array.isArray(highlight.authors) && highlight.authors.some((a) => snippet(a))) {
    highlights.authors = highlight.authors.map((a, i) => snippet(a) ?? escapeHtml(d.authors[i] ?? ""));
  }
  return {
    product_id: Number(d.product_id),
    slug: d.slug,
    name: d.name,
    series: d.series ?? null,
    authors: d.authors,
    author_slugs: d.author_slugs,
    category_path: d.category_path,
    language: d.language ?? null,
    published_year: d.published_year ?? null,
    isbn13: d.isbn13 ?? null,
    image_url: d.image_url ?? null,
    price: { amount: variants[0]?.price ?? d.price, currency: d.currency },
    in_stock: variants.some((v) => v.in_stock),
    featured: d.featured,
    rating: { average: Math.round(d.rating * 100) / 100, count: d.ratings_count },
    variants,
    highlights,
  };
}

/**
 * Where synonyms live: Typesense 30 moved them from the collection (`/collections/{c}/synonyms`, gone in 30) to
 * named synonym sets (`/synonym_sets/{name}`) that collections and searches refer to.
 */
type SynonymApi = { kind: "collection" } | { kind: "sets"; set: string };

/** The synonym API of a server version string from `GET /debug` ("29.0", "30.1", …). */
export function synonymApiFor(version: string, collection: string): SynonymApi {
  const major = Number(/^v?(\d+)/.exec(version.trim())?.[1] ?? "0");
  return major >= 30 ? { kind: "sets", set: `${collection}_synonyms` } : { kind: "collection" };
}

/** Typesense implementation of the search contract. */
export class TypesenseSearchEngine implements SearchEngine {
  readonly name = "typesense" as const;
  private readonly client: Client;
  private readonly collection: string;
  /** Detected once per engine (engines are kept per isolate); a failed detection is tried again. */
  private detected: SynonymApi | null = null;

  constructor(ts: TypesenseSettings) {
    this.collection = ts.collection;
    this.client = new Client({
      nodes: [{ host: ts.host, port: ts.port, protocol: ts.protocol }],
      apiKey: ts.apiKey,
      connectionTimeoutSeconds: 3,
      timeoutSeconds: 5,
      numRetries: 1,
      retryIntervalSeconds: 0.1,
      axiosAdapter: "fetch",
      logLevel: "silent",
    });
  }

  /** Runs a call; anything that is not an answer from a healthy server becomes SearchUnavailableError. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof Errors.ObjectNotFound || err instanceof Errors.RequestMalformed || err instanceof Errors.ObjectUnprocessable) throw err;
      throw new SearchUnavailableError(`Typesense ${what} failed: ${err instanceof Error ? err.message : String(err)}`, err);
    }
  }

  private get docs() {
    return this.client.collections<TypesenseDoc>(this.collection).documents();
  }

  private async synonymApi(): Promise<SynonymApi> {
    if (this.detected) return this.detected;
    const debug = await this.call("version", () => this.client.debug.retrieve());
    this.detected = synonymApiFor(debug.version, this.collection);
    return this.detected;
  }

  async ensureReady(): Promise<void> {
    const api = await this.synonymApi();
    if (api.kind === "sets") {
      // Created empty when missing; an existing set keeps its items (an upsert of the set would replace them).
      try {
        await this.call("retrieve synonym set", () => this.client.synonymSets(api.set).retrieve());
      } catch (err) {
        if (!(err instanceof Errors.ObjectNotFound)) throw err;
        await this.call("create synonym set", () => this.client.synonymSets(api.set).upsert({ items: [] }));
      }
    }
    try {
      await this.call("retrieve collection", () => this.client.collections(this.collection).retrieve());
    } catch (err) {
      if (!(err instanceof Errors.ObjectNotFound)) throw err;
      await this.call("create collection", () =>
        this.client.collections().create(collectionSchema(this.collection, api.kind === "sets" ? api.set : null)),
      );
    }
  }

  async replaceProducts(productIds: number[], docs: SearchDocument[]): Promise<void> {
    if (productIds.length === 0) return;
    if (docs.length > 0) {
      const docsWithId: TypesenseDoc[] = docs.map((d) => ({ ...d, id: d.sku }));
      await this.call("import", () => this.docs.import(docsWithId, { action: "upsert" }));
    }
    const keep = docs.map((d) => quote(d.sku));
    const filter = `product_id:[${productIds.join(",")}]${keep.length > 0 ? ` && id:!=[${keep.join(",")}]` : ""}`;
    await this.call("delete", () => this.docs.delete({ filter_by: filter }));
  }

  async delete(skus: string[]): Promise<void> {
    if (skus.length === 0) return;
    await this.call("delete", () => this.docs.delete({ filter_by: `id:[${skus.map(quote).join(",")}]` }));
  }

  async search(req: SearchRequest): Promise<SearchResult> {
    const filter = filterBy(req.filters);
    const api = await this.synonymApi();
    const params: SearchParams<TypesenseDoc> = {
      // Named on every search too: a collection created before the server moved to 30 is not linked to the set.
      ...(api.kind === "sets" ? { synonym_sets: api.set } : {}),
      q: req.q === null ? "*" : plainQuery(req.q),
      query_by: "name,series,authors,category_names,isbn13",
      query_by_weights: "8,5,5,2,1",
      num_typos: "2,2,2,1,0",
      prefix: "true,true,true,false,false",
      sort_by: (req.q === null ? browseSortBy : sortBy)[req.sort],
      group_by: "product_id",
      group_limit: 4,
      highlight_fields: "name,series,authors",
      highlight_start_tag: MARK_START,
      highlight_end_tag: MARK_END,
      page: req.page,
      per_page: req.perPage,
      ...(filter ? { filter_by: filter } : {}),
      ...(req.facets.length > 0 ? { facet_by: req.facets.map((f) => facetDocumentField[f]).join(","), max_facet_values: 20 } : {}),
    };
    const res: SearchResponse<TypesenseDoc> = await this.call("search", () => this.docs.search(params, { cacheSearchResultsForSeconds: 0 }));
    const hits = (res.grouped_hits ?? []).map((g) => toHit(g.hits)).filter((h): h is SearchHit => h !== null);
    const facets: Partial<Record<FacetField, FacetCount[]>> = {};
    for (const f of req.facets) {
      const counts = res.facet_counts?.find((fc) => fc.field_name === facetDocumentField[f])?.counts ?? [];
      facets[f] = counts.map((c) => ({ value: String(c.value), count: c.count }));
    }
    return { found: res.found, hits, facets };
  }

  async suggest(q: string, limit: number): Promise<Suggestion[]> {
    const res = await this.call("suggest", () =>
      this.docs.search(
        {
          q: plainQuery(q),
          query_by: "name,authors,series",
          query_by_weights: "3,2,2",
          prefix: true,
          num_typos: 1,
          group_by: "product_id",
          group_limit: 1,
          sort_by: "_text_match:desc,popularity:desc",
          highlight_fields: "name,authors,series",
          highlight_start_tag: MARK_START,
          highlight_end_tag: MARK_END,
          per_page: 20,
        },
        { cacheSearchResultsForSeconds: 0 },
      ),
    );
    const out: Suggestion[] = [];
    const seen = new Set<string>();
    const add = (s: Suggestion): void => {
      const key = `${s.kind}:${s.slug ?? s.text}`;
      if (out.length < limit && !seen.has(key)) {
        seen.add(key);
        out.push(s);
      }
    };
    for (const group of res.grouped_hits ?? []) {
      const hit = group.hits[0];
      if (!hit) continue;
      const d = hit.document;
      const h = hit.highlight as Record<string, unknown>;
      const name = snippet(h.name);
      if (name) add({ kind: "title", text: d.name, slug: d.slug, highlight: name });
      if (Array.isArray(h.authors)) {
        h.authors.forEach((a, i) => {
          const s = snippet(a);
          const author = d.authors[i];
          if (s && author) add({ kind: "author", text: author, slug: d.author_slugs[i] ?? null, highlight: s });
        });
      }
      const series = snippet(h.series);
      if (series && d.series) add({ kind: "series", text: d.series, slug: null, highlight: series });
    }
    return out;
  }

  async upsertSynonym(set: SynonymSet): Promise<void> {
    const body = set.root ? { root: set.root, synonyms: set.synonyms } : { synonyms: set.synonyms };
    const api = await this.synonymApi();
    if (api.kind === "sets") {
      await this.call("synonym upsert", () => this.client.synonymSets(api.set).items().upsert(set.id, body));
      return;
    }
    await this.call("synonym upsert", () => this.client.collections(this.collection).synonyms().upsert(set.id, body));
  }

  async deleteSynonym(id: string): Promise<void> {
    const api = await this.synonymApi();
    try {
      if (api.kind === "sets") await this.call("synonym delete", () => this.client.synonymSets(api.set).items(id).delete());
      else await this.call("synonym delete", () => this.client.collections(this.collection).synonyms(id).delete());
    } catch (err) {
      if (!(err instanceof Errors.ObjectNotFound)) throw err;
    }
  }

  async listSynonyms(): Promise<SynonymSet[]> {
    const api = await this.synonymApi();
    if (api.kind === "sets") {
      const items = await this.call("synonym list", () => this.client.synonymSets(api.set).items().retrieve());
      return items.map((s) => ({ id: s.id, root: s.root ?? null, synonyms: s.synonyms }));
    }
    const res = await this.call("synonym list", () => this.client.collections(this.collection).synonyms().retrieve());
    return res.synonyms.map((s) => ({ id: s.id, root: s.root ?? null, synonyms: s.synonyms }));
  }
}
