/**
 * The production search engine: a Typesense collection per environment, one document per variant SKU, results
 * grouped by product (`group_by=product_id`), typo tolerance, prefix search, synonyms (the collection's synonyms
 * before Typesense 30, a synonym set from 30 on: the server version is read once from `GET /debug`),
 * facets and sorting. Query understanding (issue 13) matches the Postgres engine's tiers: a second collection,
 * `<collection>_entities`, holds the authors, series and subjects of entities.ts; a query is first looked up there
 * and what it names (wholly or in part) ranks that entity's books first through `_eval` in `sort_by`, the most
 * read first. Requests go through the official `typesense` client with its fetch adapter (Workers have no Node
 * HTTP stack).
 */
import { Client, Errors } from "typesense";
import type { CollectionCreateSchema } from "typesense/lib/Typesense/Collections";
import type { CollectionFieldSchema } from "typesense/lib/Typesense/Collection";
import type { SearchParams, SearchResponse, SearchResponseHit } from "typesense/lib/Typesense/Documents";
import type {
  FacetCount,
  FacetField,
  QueryIntent,
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
import type { SearchEntity } from "./entities";
import { entitiesOf } from "./entities";
import { understandQuery } from "./query-understanding";
import { bareTitle, editDistance, normPhrase } from "./subject-words";
import { escapeHtml, MARK_END, MARK_START, renderHighlight, stripMarkers } from "./highlight";

/** Where the cluster is and which collection this environment uses (platform/config.ts fills it). */
export interface TypesenseSettings {
  host: string;
  port: number;
  protocol: "http" | "https";
  apiKey: string;
  collection: string;
}

/**
 * A SKU as Typesense stores it: the search document plus what only this engine needs, derived from it at index
 * time — the first author (a co-author ranks below), and the title as queries are compared with it.
 */
type TypesenseDoc = SearchDocument & {
  id: string;
  lead_author_slug: string | null;
  /** The normalised title, and before any subtitle without articles, "and" and "of" ("game thrones"). */
  title_keys: string[];
  main_subjects: string[];
} & Record<string, unknown>;

/** An entity as the entity collection stores it (id: kind and slug or key, spaces as `_`). */
type EntityDoc = Omit<SearchEntity, "id"> & { id: string } & Record<string, unknown>;

/**
 * The collection schema (fields of seed 003's search document). The fields of query understanding are optional:
 * ensureReady adds them to a collection created before them, and Typesense refuses a required field that the
 * documents already stored lack.
 */
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
      { name: "subjects", type: "string[]", facet: true, optional: true },
      { name: "subject_names", type: "string[]", optional: true },
      { name: "subject_weights", type: "int32[]", index: false, optional: true },
      { name: "series_keys", type: "string[]", optional: true },
      { name: "is_collection", type: "bool", optional: true },
      { name: "lead_author_slug", type: "string", optional: true },
      { name: "title_keys", type: "string[]", optional: true },
      { name: "main_subjects", type: "string[]", optional: true },
    ],
  };
}

/** The entity collection: what a whole query can name (`keys`), the words of a partial match, and a weight. */
export function entitySchema(name: string): CollectionCreateSchema {
  return {
    name,
    default_sorting_field: "weight",
    token_separators: ["-", "'"],
    fields: [
      { name: "kind", type: "string", facet: true },
      { name: "label", type: "string" },
      { name: "slug", type: "string", optional: true },
      { name: "keys", type: "string[]" },
      { name: "tokens", type: "string[]" },
      { name: "tail", type: "string", optional: true },
      { name: "weight", type: "int32" },
    ],
  };
}

/**
 * Boosts when the query names no entity: in stock first, then featured. `_eval` scores the first condition that
 * matches, so the combination is listed first; an exact title (when there is one) leads its text-match bucket.
 */
const boosts = (exactTitle: string | null): string =>
  `_eval([ ${exactTitle ? `(${exactTitle}):8, ` : ""}(in_stock:true && featured:true):4, (in_stock:true):3, (featured:true):1 ]):desc`;
const relevanceSort = (exactTitle: string | null): string => `_text_match(buckets: 10):desc,${boosts(exactTitle)},popularity:desc`;
const sortBy: Record<Exclude<SearchSort, "relevance">, string> = {
  price_asc: "price:asc,_text_match:desc",
  price_desc: "price:desc,_text_match:desc",
  rating: "rating:desc,ratings_count:desc",
  popularity: "popularity:desc,_text_match:desc",
  newest: "published_year(missing_values: last):desc,_text_match:desc",
};
const browseRelevance = `${boosts(null)},popularity:desc`;

/** Typesense answers at most this many hits (groups) a page. */
const MAX_PAGE = 250;
/** Entities a query is compared with: the closest few by text match, the most read first. */
const ENTITY_CANDIDATES = 20;
/** Typesense's word lengths for one and two typos (min_len_1typo / min_len_2typo), sent so both sides agree. */
const MIN_LEN_1TYPO = 4;
const MIN_LEN_2TYPO = 7;

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

/**
 * The highlight of a stored text against the query's words, for hits of a filter search (`q=*`: Typesense
 * highlights nothing): words equal to one, within its typos, or starting with the last one are marked.
 */
function markWords(text: string, words: string[]): string | undefined {
  let marked = false;
  const raw = stripMarkers(text).replace(/[\p{L}\p{N}]+/gu, (w) => {
    const t = normPhrase(w);
    const hit = words.some((q, i) => t === q || (i === words.length - 1 && t.startsWith(q)) || withinTypos(q, t));
    if (!hit) return w;
    marked = true;
    return `${MARK_START}${w}${MARK_END}`;
  });
  return marked ? renderHighlight(raw) : undefined;
}

/** One product's hit from its group; `words` highlights it in TS when Typesense did not (a filter search). */
function toHit(hits: SearchResponseHit<TypesenseDoc>[], words: string[] | null = null): SearchHit | null {
  const first = hits[0];
  if (!first) return null;
  const d = first.document;
  const variants = hits
    .map((h) => ({ sku: h.document.sku, format: h.document.format ?? null, price: h.document.price, in_stock: h.document.in_stock }))
    .sort((a, b) => a.price - b.price || a.sku.localeCompare(b.sku));
  const highlight = first.highlight as Record<string, unknown>;
  const highlights: SearchHit["highlights"] = {};
  const name = words ? markWords(d.name, words) : snippet(highlight.name);
  if (name) highlights.name = name;
  const series = words ? (d.series ? markWords(d.series, words) : undefined) : snippet(highlight.series);
  if (series) highlights.series = series;
  if (words) {
    const authors = d.authors.map((a) => markWords(a, words));
    if (authors.some((a) => a !== undefined)) highlights.authors = authors.map((a, i) => a ?? escapeHtml(d.authors[i] ?? ""));
  } else if (Array.isArray(highlight.authors) && highlight.authors.some((a) => snippet(a))) {
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


/** A stored word the query word reaches with the typos Typesense allows for its length (none below 4 letters). */
function withinTypos(query: string, word: string): boolean {
  const allowed = query.length >= MIN_LEN_2TYPO ? 2 : query.length >= MIN_LEN_1TYPO ? 1 : 0;
  return allowed > 0 && editDistance(query, word, allowed) <= allowed;
}

/** "exact" when the words are equal, "typo" when each pair is within the query word's typos, else null. */
function sameWords(query: string[], key: string[]): "exact" | "typo" | null {
  if (query.length !== key.length || query.length === 0) return null;
  if (query.every((w, i) => w === key[i])) return "exact";
  return query.every((w, i) => w === key[i] || withinTypos(w, key[i] ?? "")) ? "typo" : null;
}

const ARTICLE = /^(the|a|an) (?=\S)/;
const withoutArticle = (phrase: string): string => phrase.replace(ARTICLE, "");

/** The words a title is compared with as a whole (documents.ts's title key, and the full title). */
export function titleKeysOf(name: string): string[] {
  const full = normPhrase(name);
  const head = bareTitle(name.split(":")[0] ?? "");
  return [...new Set([full, head].filter(Boolean))];
}

/** A book's main subjects, as the Postgres engine ranks them: its ten strongest with 50 shelvings or more. */
export function mainSubjects(d: Pick<SearchDocument, "subjects" | "subject_weights">): string[] {
  return d.subjects.filter((_, i) => i < 10 && (d.subject_weights[i] ?? 0) >= 50);
}

/** What the query names: entities wholly (the query is its name) or partly (the words are among its name's). */
export interface EntityMatches {
  authorsWhole: string[];
  authorsPartial: string[];
  seriesWhole: string[];
  seriesPartial: string[];
  subjects: string[];
  /** The key of a name matched only within typos ("ursula le giun" → ursula le guin): offered as "did you mean". */
  correction?: string | undefined;
}

/** The slug of an author or subject entity, the key of a series. */
const refOf = (e: Pick<EntityDoc, "kind" | "slug" | "keys">): string => (e.kind === "series" ? (e.keys[0] ?? "") : (e.slug ?? ""));

/**
 * Decides, as the Postgres engine does, which looked-up entities the query names. Whole: one of the entity's keys
 * equals the query without filler (or a candidate key, with or without a leading article) word for word; partial
 * (authors and series): every query word is among the entity's words, and for an author the surname is one of
 * them. Typo matches count only when nothing matched exactly (Postgres corrects only words it does not know). A
 * hint ("books by …") keeps only its kind when an entity of that kind matched.
 */
export function resolveEntities(intent: QueryIntent, found: Pick<EntityDoc, "kind" | "slug" | "keys" | "tokens" | "tail">[]): EntityMatches | null {
  const core = normPhrase(intent.core);
  const words = core.split(" ").filter(Boolean);
  const candidates = new Set<string>();
  for (const k of [core, ...intent.keys.map(normPhrase)]) {
    if (k === "") continue;
    candidates.add(k);
    candidates.add(withoutArticle(k));
  }
  const phrases = [...candidates].map((c) => c.split(" "));
  type Found = { e: (typeof found)[number]; whole: boolean; exact: boolean; key?: string };
  const matched: Found[] = [];
  for (const e of found) {
    let whole: "exact" | "typo" | null = null;
    let matchedKey: string | undefined;
    for (const key of e.keys) {
      for (const c of phrases) {
        const m = sameWords(c, key.split(" "));
        if (m === "exact" || (m === "typo" && whole === null)) {
          whole = m;
          matchedKey = key;
        }
      }
    }
    if (whole) {
      matched.push({ e, whole: true, exact: whole === "exact", key: matchedKey });
      continue;
    }
    if (e.kind === "subject" || words.length === 0) continue;
    // Each query word as the entity spells it (itself, or the entity's word within its typos).
    const reached = words.map((w) => (e.tokens.includes(w) ? w : e.tokens.find((t) => withinTypos(w, t))));
    if (reached.some((t) => t === undefined)) continue;
    // Typesense may leave a null optional field out of the stored document.
    const tail = e.tail ?? null;
    if (e.kind === "author" && (tail === null || !reached.includes(tail))) continue;
    matched.push({ e, whole: false, exact: reached.every((t, i) => t === words[i]) });
  }
  const keep = (whole: boolean): Found[] => {
    const group = matched.filter((m) => m.whole === whole);
    return group.some((m) => m.exact) ? group.filter((m) => m.exact) : group;
  };
  let chosen = [...keep(true), ...keep(false)];
  if (intent.hint && chosen.some((m) => m.e.kind === intent.hint)) chosen = chosen.filter((m) => m.e.kind === intent.hint);
  if (chosen.length === 0) return null;
  const refs = (kind: SearchEntity["kind"], whole: boolean): string[] => [...new Set(chosen.filter((m) => m.e.kind === kind && m.whole === whole).map((m) => refOf(m.e)).filter(Boolean))];
  return {
    authorsWhole: refs("author", true),
    authorsPartial: refs("author", false),
    seriesWhole: refs("series", true),
    seriesPartial: refs("series", false),
    subjects: refs("subject", true),
    correction: chosen.some((m) => m.whole && m.exact) ? undefined : chosen.find((m) => m.whole && !m.exact)?.key,
  };
}

/** `field:=[a,b]` (or `:!=`), null for no values. */
const anyOf = (field: string, values: string[], negate = false): string | null =>
  values.length === 0 ? null : `${field}:${negate ? "!=" : "="}[${values.map(quote).join(",")}]`;
/** Conditions joined by an operator, each parenthesised (Typesense gives `&&` and `||` the same precedence). */
const join = (op: "&&" | "||", parts: (string | null)[]): string | null => {
  const kept = parts.filter((p): p is string => p !== null && p !== "");
  return kept.length === 0 ? null : kept.length === 1 ? (kept[0] as string) : kept.map((p) => `(${p})`).join(` ${op} `);
};

/** What an exact title equals (`title_keys`): the query as typed or without filler, each with and without an article. */
function exactTitleKeys(q: string, intent: QueryIntent): string[] {
  const values = new Set<string>();
  for (const v of [normPhrase(q), normPhrase(intent.core)]) {
    if (v === "") continue;
    values.add(v);
    values.add(bareTitle(v));
  }
  return [...values];
}

/**
 * The tiers of books the query names, as `_eval` weights (the first matching expression scores): the exact title;
 * the whole query's first author, series or subject; a co-author; a partial author or series — each with box sets
 * and companions just below the books themselves.
 */
function entityTiers(m: EntityMatches, titleKeys: string[]): string {
  const exactTitle = anyOf("title_keys", titleKeys);
  const collection = (cond: string | null, w: number): string[] =>
    cond === null ? [] : [`(${join("&&", [cond, "is_collection:false"])}):${w}`, `(${cond}):${w - 5}`];
  const whole = join("||", [anyOf("lead_author_slug", m.authorsWhole), anyOf("series_keys", m.seriesWhole), anyOf("main_subjects", m.subjects)]);
  const partial = join("||", [anyOf("author_slugs", m.authorsPartial), anyOf("series_keys", m.seriesPartial)]);
  const parts = [
    ...(exactTitle ? [`(${exactTitle}):80`] : []),
    ...collection(whole, 50),
    ...collection(join("||", [anyOf("author_slugs", m.authorsWhole), anyOf("subjects", m.subjects)]), 40),
    ...collection(partial, 30),
  ];
  return `_eval([ ${parts.join(", ")} ]):desc`;
}

/** The books of the matched entities and the exact title, or (negated) every other book. */
function entityBooks(m: EntityMatches, titleKeys: string[], negate: boolean): string {
  const parts = [
    anyOf("author_slugs", [...m.authorsWhole, ...m.authorsPartial], negate),
    anyOf("series_keys", [...m.seriesWhole, ...m.seriesPartial], negate),
    anyOf("subjects", m.subjects, negate),
    anyOf("title_keys", titleKeys, negate),
  ];
  return join(negate ? "&&" : "||", parts) ?? "";
}

/** A group's sort key for a non-relevance sort (its first document is the one Typesense sorted the group by). */
function sortKey(sort: Exclude<SearchSort, "relevance">, d: TypesenseDoc): number[] {
  switch (sort) {
    case "price_asc":
      return [d.price];
    case "price_desc":
      return [-d.price];
    case "rating":
      return [-d.rating, -d.ratings_count];
    case "popularity":
      return [-d.popularity];
    case "newest":
      return [d.published_year === null || d.published_year === undefined ? Infinity : -d.published_year];
  }
}

/** Ascending on the first key that differs (a missing year is Infinity: subtraction would give NaN). */
const compareKeys = (a: number[], b: number[]): number => {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
};

type Group = { hits: SearchResponseHit<TypesenseDoc>[] };

/** One search's first `need` groups (several pages past 250), its count and its facets. */
interface Segment {
  found: number;
  groups: Group[];
  facets: SearchResponse<TypesenseDoc>["facet_counts"];
}

/** Facet counts of disjoint result sets added up, the largest 20 per facet. */
function mergeFacets(facets: FacetField[], segments: Segment[]): Partial<Record<FacetField, FacetCount[]>> {
  const out: Partial<Record<FacetField, FacetCount[]>> = {};
  for (const f of facets) {
    const counts = new Map<string, number>();
    for (const s of segments) {
      for (const c of s.facets?.find((fc) => fc.field_name === facetDocumentField[f])?.counts ?? []) {
        counts.set(String(c.value), (counts.get(String(c.value)) ?? 0) + c.count);
      }
    }
    out[f] = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 20).map(([value, count]) => ({ value, count }));
  }
  return out;
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

  private get entityCollection(): string {
    return `${this.collection}_entities`;
  }

  private get entities() {
    return this.client.collections<EntityDoc>(this.entityCollection).documents();
  }

  private async synonymApi(): Promise<SynonymApi> {
    if (this.detected) return this.detected;
    const debug = await this.call("version", () => this.client.debug.retrieve());
    this.detected = synonymApiFor(debug.version, this.collection);
    return this.detected;
  }

  /** Creates a missing collection; adds to an existing one the schema's fields it lacks (a collection of an older release). */
  private async ensureCollection(schema: CollectionCreateSchema): Promise<void> {
    let existing: { fields?: CollectionFieldSchema[] };
    try {
      existing = await this.call("retrieve collection", () => this.client.collections(schema.name).retrieve());
    } catch (err) {
      if (!(err instanceof Errors.ObjectNotFound)) throw err;
      await this.call("create collection", () => this.client.collections().create(schema));
      return;
    }
    const have = new Set((existing.fields ?? []).map((f) => f.name));
    const missing = schema.fields?.filter((f) => !have.has(f.name)) ?? [];
    if (missing.length > 0) await this.call("update collection", () => this.client.collections(schema.name).update({ fields: missing }));
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
    await this.ensureCollection(collectionSchema(this.collection, api.kind === "sets" ? api.set : null));
    await this.ensureCollection(entitySchema(this.entityCollection));
  }

  async replaceProducts(productIds: number[], docs: SearchDocument[]): Promise<void> {
    if (productIds.length === 0) return;
    if (docs.length > 0) {
      const docsWithId: TypesenseDoc[] = docs.map((d) => ({
        ...d,
        id: d.sku,
        lead_author_slug: d.author_slugs[0] ?? null,
        title_keys: titleKeysOf(d.name),
        main_subjects: mainSubjects(d),
      }));
      await this.call("import", () => this.docs.import(docsWithId, { action: "upsert" }));
      await this.upsertEntities(entitiesOf(docs));
    }
    const keep = docs.map((d) => quote(d.sku));
    const filter = `product_id:[${productIds.join(",")}]${keep.length > 0 ? ` && id:!=[${keep.join(",")}]` : ""}`;
    await this.call("delete", () => this.docs.delete({ filter_by: filter }));
  }

  /**
   * Upserts entities keeping each one's largest weight (a batch sees only some of an author's books, as in the
   * Postgres engine): the stored weights are read first. Entities of removed books stay, as they do there.
   */
  private async upsertEntities(entities: SearchEntity[]): Promise<void> {
    if (entities.length === 0) return;
    const docs: EntityDoc[] = entities.map(({ id, ...e }) => ({ ...e, id: id.replace(/ /g, "_") }));
    const stored = new Map<string, number>();
    const chunks: EntityDoc[][] = [];
    for (let i = 0; i < docs.length; i += MAX_PAGE) chunks.push(docs.slice(i, i + MAX_PAGE));
    await Promise.all(
      chunks.map(async (chunk) => {
        const res = await this.call("entity weights", () =>
          this.entities.search(
            { q: "*", query_by: "label", filter_by: `id:[${chunk.map((d) => quote(d.id)).join(",")}]`, include_fields: "id,weight", per_page: MAX_PAGE },
            { cacheSearchResultsForSeconds: 0 },
          ),
        );
        for (const h of res.hits ?? []) stored.set(h.document.id, h.document.weight);
      }),
    );
    const merged = docs.map((d) => ({ ...d, weight: Math.max(d.weight, stored.get(d.id) ?? 0) }));
    await this.call("entity import", () => this.entities.import(merged, { action: "upsert" }));
  }

  async delete(skus: string[]): Promise<void> {
    if (skus.length === 0) return;
    await this.call("delete", () => this.docs.delete({ filter_by: `id:[${skus.map(quote).join(",")}]` }));
  }

  /**
   * The entities whose keys are near the query's core (typos allowed, no prefix, no word dropped), plus those with
   * a candidate key exactly ("zombie" for "zombies", "science fiction" for "sci fi"). A missing entity collection
   * (a collection from before query understanding, until the reindex) names nothing.
   */
  private async lookupEntities(intent: QueryIntent): Promise<EntityDoc[]> {
    const core = withoutArticle(normPhrase(intent.core));
    if (core === "") return [];
    const keys = [...new Set(intent.keys.map(normPhrase).flatMap((k) => [k, withoutArticle(k)]))].filter((k) => k !== "" && k !== core);
    const opts = { cacheSearchResultsForSeconds: 0 };
    try {
      const [near, exact] = await Promise.all([
        this.call("entity lookup", () =>
          this.entities.search(
            {
              q: plainQuery(core),
              query_by: "keys",
              num_typos: 2,
              min_len_1typo: MIN_LEN_1TYPO,
              min_len_2typo: MIN_LEN_2TYPO,
              prefix: false,
              drop_tokens_threshold: 0,
              sort_by: "_text_match:desc,weight:desc",
              per_page: ENTITY_CANDIDATES,
            },
            opts,
          ),
        ),
        keys.length === 0
          ? null
          : this.call("entity lookup", () =>
              this.entities.search({ q: "*", query_by: "keys", filter_by: anyOf("keys", keys) ?? "", sort_by: "weight:desc", per_page: ENTITY_CANDIDATES }, opts),
            ),
      ]);
      return [...(near.hits ?? []), ...(exact?.hits ?? [])].map((h) => h.document);
    } catch (err) {
      if (err instanceof Errors.ObjectNotFound) return [];
      throw err;
    }
  }

  /** Parameters every search of the SKU collection shares: the fields matched and highlighted, grouping, synonyms. */
  private async textParams(): Promise<SearchParams<TypesenseDoc>> {
    const api = await this.synonymApi();
    return {
      // Named on every search too: a collection created before the server moved to 30 is not linked to the set.
      ...(api.kind === "sets" ? { synonym_sets: api.set } : {}),
      query_by: "name,series,authors,category_names,subject_names,isbn13",
      query_by_weights: "8,5,5,2,2,1",
      num_typos: "2,2,2,1,1,0",
      prefix: "true,true,true,false,false,false",
      group_by: "product_id",
      group_limit: 4,
      highlight_fields: "name,series,authors",
      highlight_start_tag: MARK_START,
      highlight_end_tag: MARK_END,
    };
  }

  /**
   * Groups `[start, start + count)` of a search, with its count and (from the first request) its facets: one page
   * when the window is a page, else pages of 250 from the first (a merge needs each search's whole prefix).
   */
  private async segment(params: SearchParams<TypesenseDoc>, start: number, count: number, facets: FacetField[]): Promise<Segment> {
    const facetParams = facets.length > 0 ? { facet_by: facets.map((f) => facetDocumentField[f]).join(","), max_facet_values: 20 } : {};
    const opts = { cacheSearchResultsForSeconds: 0 };
    const onePage = count > 0 && count <= MAX_PAGE && start % count === 0;
    const perPage = onePage ? count : Math.min(start + count, MAX_PAGE);
    const first = onePage ? start / count + 1 : 1;
    const pages = onePage ? 1 : Math.max(1, Math.ceil((start + count) / MAX_PAGE));
    const res = await Promise.all(
      Array.from({ length: pages }, (_, i) =>
        this.call("search", () => this.docs.search({ ...params, page: first + i, per_page: perPage, ...(i === 0 ? facetParams : {}) }, opts)),
      ),
    );
    const groups = res.flatMap((r) => r.grouped_hits ?? []);
    return { found: res[0]?.found ?? 0, groups: onePage ? groups : groups.slice(start, start + count), facets: res[0]?.facet_counts };
  }

  async search(req: SearchRequest): Promise<SearchResult> {
    const filter = filterBy(req.filters);
    const base = await this.textParams();
    const offset = (req.page - 1) * req.perPage;
    const single = async (params: SearchParams<TypesenseDoc>): Promise<SearchResult> => {
      const s = await this.segment({ ...base, ...params, ...(filter ? { filter_by: filter } : {}) }, offset, req.perPage, req.facets);
      const hits = s.groups.map((g) => toHit(g.hits)).filter((h): h is SearchHit => h !== null);
      return { found: s.found, hits, facets: mergeFacets(req.facets, [s]) };
    };
    if (req.q === null) return single({ q: "*", sort_by: req.sort === "relevance" ? browseRelevance : sortBy[req.sort] });

    const intent = req.intent ?? understandQuery(req.q);
    const q = plainQuery(intent.core);
    const titleKeys = exactTitleKeys(req.q, intent);
    const textOnly = (): Promise<SearchResult> => single({ q, sort_by: req.sort === "relevance" ? relevanceSort(anyOf("title_keys", titleKeys)) : sortBy[req.sort] });
    const matches = resolveEntities(intent, await this.lookupEntities(intent));
    if (!matches) return textOnly();

    // The books the query names come from a filter search (their text need not match: "sci fi" names science
    // fiction, "jk rowling" J.K. Rowling), every other book from the text search; the two sets are disjoint, so
    // counts and facets add up. By relevance the named books lead (Postgres' tiers 5-3 over text-only matches);
    // by another sort the two are merged on its key.
    const and = (cond: string): string => join("&&", [filter, cond]) ?? cond;
    const need = offset + req.perPage;
    const [named, rest] = await Promise.all([
      this.segment(
        { ...base, q: "*", filter_by: and(entityBooks(matches, titleKeys, false)), sort_by: req.sort === "relevance" ? `${entityTiers(matches, titleKeys)},popularity:desc` : sortBy[req.sort] },
        0,
        need,
        req.facets,
      ),
      // No words dropped: with named books there is an answer, and Postgres then keeps every word too.
      this.segment(
        { ...base, q, filter_by: and(entityBooks(matches, titleKeys, true)), sort_by: req.sort === "relevance" ? relevanceSort(null) : sortBy[req.sort], drop_tokens_threshold: 0 },
        0,
        need,
        req.facets,
      ),
    ]);
    // The filters left none of the named books and no book has every word: Postgres then matches any word, as the
    // plain text search (dropping words) does.
    if (named.found === 0 && rest.found === 0) return textOnly();
    const words = normPhrase(intent.core).split(" ").filter(Boolean);
    const tagged = [...named.groups.map((g) => ({ g, words })), ...rest.groups.map((g) => ({ g, words: null }))];
    if (req.sort !== "relevance") {
      const sort = req.sort;
      const key = (g: Group): number[] => (g.hits[0] ? sortKey(sort, g.hits[0].document) : []);
      // Stable: on equal keys the named books stay first, each search in its own order.
      tagged.sort((a, b) => compareKeys(key(a.g), key(b.g)));
    }
    const hits = tagged
      .slice(offset, need)
      .map((t) => toHit(t.g.hits, t.words))
      .filter((h): h is SearchHit => h !== null);
    return { found: named.found + rest.found, hits, facets: mergeFacets(req.facets, [named, rest]), didYouMean: matches.correction };
  }

  /**
   * Titles from the documents and authors, series and subjects from the entity collection, each matched as a
   * half-typed prefix; suggestions whose text starts with the query come first, then the most read.
   */
  async suggest(q: string, limit: number): Promise<Suggestion[]> {
    const opts = { cacheSearchResultsForSeconds: 0 };
    const common = { q: plainQuery(q), prefix: true, num_typos: 1, highlight_start_tag: MARK_START, highlight_end_tag: MARK_END, per_page: 20 };
    const [titles, entities] = await Promise.all([
      this.call("suggest", () =>
        this.docs.search({ ...common, query_by: "name", group_by: "product_id", group_limit: 1, sort_by: "_text_match:desc,popularity:desc", highlight_fields: "name" }, opts),
      ),
      this.call("suggest", () => this.entities.search({ ...common, query_by: "label", sort_by: "_text_match:desc,weight:desc", highlight_fields: "label" }, opts)).catch(
        (err: unknown) => {
          if (err instanceof Errors.ObjectNotFound) return null;
          throw err;
        },
      ),
    ]);
    type Candidate = Suggestion & { weight: number };
    const found: Candidate[] = [];
    for (const group of titles.grouped_hits ?? []) {
      const hit = group.hits[0];
      const highlight = hit ? snippet((hit.highlight as Record<string, unknown>).name) : undefined;
      if (hit && highlight) found.push({ kind: "title", text: hit.document.name, slug: hit.document.slug, highlight, weight: hit.document.ratings_count });
    }
    for (const hit of entities?.hits ?? []) {
      const highlight = snippet((hit.highlight as Record<string, unknown>).label);
      const d = hit.document;
      if (highlight) found.push({ kind: d.kind, text: d.label, slug: d.kind === "series" ? null : (d.slug ?? null), highlight, weight: d.weight });
    }
    const typed = normPhrase(q);
    const leads = (s: Candidate): number => (normPhrase(s.text).startsWith(typed) ? 1 : 0);
    found.sort((a, b) => leads(b) - leads(a) || b.weight - a.weight);
    const out: Suggestion[] = [];
    const seen = new Set<string>();
    for (const { weight: _weight, ...s } of found) {
      const key = `${s.kind}:${s.slug ?? s.text}`;
      if (out.length >= limit || seen.has(key)) continue;
      seen.add(key);
      out.push(s);
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
