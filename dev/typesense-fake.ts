/**
 * A local stand-in for the Typesense HTTP API (the v29 reference, or v30 with `version: "30.0"`: synonyms move from
 * `/collections/{c}/synonyms`, which 30 removed, to `/synonym_sets` linked by the collection schema's
 * `synonym_sets` or the `synonym_sets` search parameter). The Typesense server cannot run on these machines,
 * so the Typesense engine is tested against this fake. It holds any number of collections and checks each
 * request against the API reference — paths and methods, the API key header, collection schema field types and
 * schema changes (PATCH adds or drops fields; a required field every stored document lacks is refused),
 * `query_by` fields being indexed strings, `facet_by`/`group_by` fields declared `facet: true`, `filter_by` and
 * `sort_by` fields existing and being indexed (`index: false` fields cannot be filtered or sorted), `sort_by`
 * fields numeric (or `sort: true`) and at most three, list parameters matching `query_by` in length,
 * `per_page`/`limit` ≤ 250 — and answers in Typesense's response shapes (grouped_hits, facet_counts, highlight,
 * import JSONL). Unknown search parameters are refused (Typesense ignores them) so that a misspelt one fails a test.
 *
 * What it evaluates the way Typesense does (read from Typesense's source: filter.cpp, index.cpp, collection.cpp):
 * - `filter_by`: `&&` and `||` have the same precedence and group from the left (parentheses group explicitly);
 *   on string fields `:` means every word of the value is in the field, `:=` a whole value (an array element)
 *   equal word for word, `:!=` none equal, `:!` not containing; bool fields take only `true`/`false`; numbers
 *   compare; `[a, b]` is any of.
 * - `_eval(expr)` scores 1 or 0; `_eval([ (e1):w1, (e2):w2 ])` scores the weight of the first expression that
 *   matches (not the sum), 0 when none does.
 * - `_text_match(buckets: N)` / `(bucket_size: N)`: the sorted results (groups, with `group_by`; at most the first
 *   250) are cut into N blocks by position and each block ties on text match, so the next sort field orders it;
 *   with fewer results than N nothing is bucketed.
 * - `drop_tokens_threshold` (words dropped from the right while fewer results than it; 0 never drops) and
 *   `typo_tokens_threshold` (typos are tried only while fewer results than it), `min_len_1typo` / `min_len_2typo`.
 * Its text matching and scores are deliberately simple (prefix on the last word, Levenshtein typos, synonyms, the
 * sum of the best field weight of each word); it is a contract check, not a relevance model.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

type Field = { name: string; type: string; facet?: boolean; optional?: boolean; index?: boolean; sort?: boolean };
type SynonymItem = { id: string; root?: string; synonyms: string[] };
type Collection = { name: string; fields: Field[]; default_sorting_field?: string; docs: Map<string, Record<string, unknown>>; synonyms: Map<string, SynonymItem>; synonymSets: string[] };
type Doc = Record<string, unknown>;
type Pred = (d: Doc) => boolean;

const FIELD_TYPES = new Set(["string", "string[]", "int32", "int32[]", "int64", "int64[]", "float", "float[]", "bool", "bool[]", "object", "object[]", "auto", "string*"]);
const NUMERIC = new Set(["int32", "int64", "float"]);
const SEARCH_PARAMS = new Set([
  "q", "query_by", "query_by_weights", "num_typos", "prefix", "filter_by", "facet_by", "max_facet_values", "sort_by", "group_by",
  "group_limit", "highlight_fields", "highlight_start_tag", "highlight_end_tag", "page", "per_page", "offset", "limit",
  "drop_tokens_threshold", "typo_tokens_threshold", "min_len_1typo", "min_len_2typo", "include_fields", "exclude_fields",
  "use_cache", "cache_ttl", "text_match_type",
]);
/** Typesense buckets at most this many results (Index::DEFAULT_TOPSTER_SIZE). */
const MAX_BUCKETED = 250;

class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function levenshtein(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length] ?? max + 1;
}

const tokens = (s: string): string[] => s.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);

function splitTop(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let tick = false;
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    if (ch === "`") tick = !tick;
    if (!tick && (ch === "(" || ch === "[")) depth++;
    if (!tick && (ch === ")" || ch === "]")) depth--;
    if (!tick && depth === 0 && s.startsWith(sep, i)) {
      out.push(cur);
      cur = "";
      i += sep.length - 1;
      continue;
    }
    cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter(Boolean);
}

const unquote = (v: string): string => v.trim().replace(/^`(.*)`$/s, "$1");

function fieldOf(c: Collection, name: string): Field {
  const f = c.fields.find((x) => x.name === name) ?? (name === "id" ? { name: "id", type: "string" } : undefined);
  if (!f) throw new ApiError(404, `Could not find a filter field named \`${name}\` in the schema.`);
  return f;
}

/** A field filters and sorts only when indexed: Typesense leaves `index: false` fields out of its search schema. */
function indexedField(c: Collection, name: string): Field {
  const f = fieldOf(c, name);
  if (f.index === false) throw new ApiError(404, `Could not find a filter field named \`${name}\` in the schema.`);
  return f;
}

/** One `field:<op><value>` condition of `filter_by`. */
function compileClause(c: Collection, clause: string): Pred {
  const m = /^([a-zA-Z_][\w.]*)\s*:\s*(.*)$/s.exec(clause);
  if (!m) throw new ApiError(400, `Could not parse the filter query: \`${clause}\`.`);
  const name = m[1] as string;
  const field = indexedField(c, name);
  let rest = (m[2] as string).trim();
  let op = "";
  for (const o of ["!=", ">=", "<=", ">", "<", "=", "!"]) {
    if (rest.startsWith(o)) {
      op = o;
      rest = rest.slice(o.length).trim();
      break;
    }
  }
  if (rest === "") throw new ApiError(400, `Error with filter field \`${name}\`: Filter value cannot be empty.`);
  const values = rest.startsWith("[") && rest.endsWith("]") ? splitTop(rest.slice(1, -1), ",").map(unquote) : [unquote(rest)];
  if (values.length === 0) throw new ApiError(400, `Error with filter field \`${name}\`: Filter value array cannot be empty.`);
  const base = field.type.replace("[]", "");
  const raw = (d: Doc): unknown[] => {
    const v = name === "id" ? d.id : d[name];
    return (Array.isArray(v) ? v : [v]).filter((x) => x !== undefined && x !== null);
  };
  if (NUMERIC.has(base)) {
    if (values.some((v) => v === "" || Number.isNaN(Number(v)))) throw new ApiError(400, `Error with filter field \`${name}\`: Numerical field has an invalid comparator value.`);
    const nums = values.map(Number);
    return (d) => {
      const have = raw(d).map(Number);
      if (op === "!=") return !have.some((h) => nums.includes(h));
      if (op === "" || op === "=") return have.some((h) => nums.includes(h));
      const n = nums[0] as number;
      return have.some((h) => (op === ">=" ? h >= n : op === "<=" ? h <= n : op === ">" ? h > n : h < n));
    };
  }
  if (base === "bool") {
    if (values.some((v) => v !== "true" && v !== "false")) throw new ApiError(400, `Value of filter field \`${name}\` must be \`true\` or \`false\`.`);
    if (op !== "" && op !== "=" && op !== "!=") throw new ApiError(400, `Error with filter field \`${name}\`: bool fields take only \`:\`, \`:=\` and \`:!=\`.`);
    return (d) => {
      const match = raw(d).some((h) => values.includes(String(h)));
      return op === "!=" ? !match : match;
    };
  }
  if (base !== "string") throw new ApiError(400, `Error with filter field \`${name}\`: Unidentified field data type, see docs for supported data types.`);
  if (op !== "" && op !== "=" && op !== "!=" && op !== "!") throw new ApiError(400, `Error with filter field \`${name}\`: string fields take only \`:\`, \`:=\`, \`:!=\` and \`:!\`.`);
  if (name === "id") {
    return (d) => {
      const match = values.includes(String(d.id));
      return op === "!=" || op === "!" ? !match : match;
    };
  }
  // Strings are compared as words (the collection's tokenizer on both sides), as Typesense's posting lists do.
  const wanted = values.map((v) => tokens(v));
  const exact = op === "=" || op === "!=";
  return (d) => {
    const elements = raw(d).map((x) => tokens(String(x)));
    const match = exact
      ? wanted.some((w) => elements.some((e) => e.join(" ") === w.join(" ")))
      : wanted.some((w) => w.length > 0 && w.every((t) => elements.some((e) => e.includes(t))));
    return op === "!=" || op === "!" ? !match : match;
  };
}

/**
 * Compiles a `filter_by` expression: conditions joined by `&&` and `||`, which Typesense gives the same precedence,
 * grouping from the left (`a || b && c` is `(a || b) && c`), with parentheses.
 */
function compileFilter(c: Collection, expr: string): Pred {
  let i = 0;
  const skip = (): void => {
    while (i < expr.length && /\s/.test(expr[i] as string)) i++;
  };
  const clause = (): Pred => {
    let depth = 0;
    let tick = false;
    const start = i;
    for (; i < expr.length; i++) {
      const ch = expr[i] as string;
      if (ch === "`") tick = !tick;
      if (tick) continue;
      if (ch === "[" || ch === "(") depth++;
      if (ch === "]") depth--;
      if (ch === ")") {
        if (depth === 0) break;
        depth--;
      }
      if (depth === 0 && (expr.startsWith("&&", i) || expr.startsWith("||", i))) break;
    }
    const text = expr.slice(start, i).trim();
    if (text === "") throw new ApiError(400, "Could not parse the filter query.");
    return compileClause(c, text);
  };
  const primary = (): Pred => {
    skip();
    if (expr[i] === "(") {
      i++;
      const inner = sequence();
      skip();
      if (expr[i] !== ")") throw new ApiError(400, "Could not parse the filter query: unbalanced parentheses.");
      i++;
      return inner;
    }
    return clause();
  };
  const sequence = (): Pred => {
    let left = primary();
    for (;;) {
      skip();
      const op = expr.startsWith("&&", i) ? "&&" : expr.startsWith("||", i) ? "||" : null;
      if (!op) return left;
      i += 2;
      const l = left;
      const r = primary();
      left = op === "&&" ? (d) => l(d) && r(d) : (d) => l(d) || r(d);
    }
  };
  const pred = sequence();
  skip();
  if (i < expr.length) throw new ApiError(400, expr[i] === ")" ? "Could not parse the filter query: unbalanced parentheses." : "Could not parse the filter query.");
  return pred;
}

function validateDoc(c: Collection, d: Doc): string | null {
  if (typeof d.id !== "string") return "Document's `id` field should be a string.";
  for (const f of c.fields) {
    const problem = validateValue(f, d[f.name]);
    if (problem) return problem;
  }
  return null;
}

function validateValue(f: Field, v: unknown): string | null {
  if (v === undefined || v === null) return f.optional ? null : `Field \`${f.name}\` has been declared in the schema, but is not found in the document.`;
  const base = f.type.replace("[]", "");
  const list = f.type.endsWith("[]");
  const items = list ? (Array.isArray(v) ? v : null) : [v];
  if (!items) return `Field \`${f.name}\` must be an array.`;
  const ok = items.every((x) =>
    base === "string" ? typeof x === "string" : base === "bool" ? typeof x === "boolean" : base === "object" ? typeof x === "object" : base === "float" ? typeof x === "number" : Number.isInteger(x),
  );
  return ok ? null : `Field \`${f.name}\` must be ${list ? "an array of " : "a"} ${base}.`;
}

function validateFields(fields: Field[]): void {
  for (const f of fields) if (typeof f.name !== "string" || !FIELD_TYPES.has(f.type)) throw new ApiError(400, `Field \`${String(f.name)}\` has an invalid data type \`${String(f.type)}\`.`);
}

/** Starts the fake; resolves when it listens. */
export async function startTypesenseFake(opts: { port?: number; apiKey: string; version?: "29.0" | "30.0" }): Promise<{ port: number; close: () => Promise<void>; requests: string[] }> {
  const version = opts.version ?? "29.0";
  const v30 = version === "30.0";
  const collections = new Map<string, Collection>();
  const synonymSets = new Map<string, Map<string, SynonymItem>>();
  const requests: string[] = [];

  function synonymItem(id: string, s: Record<string, unknown>): SynonymItem {
    if (!Array.isArray(s.synonyms) || !s.synonyms.every((x) => typeof x === "string")) throw new ApiError(400, "Could not find an array of `synonyms`");
    if (s.root !== undefined && typeof s.root !== "string") throw new ApiError(400, "Key `root` should be a string.");
    return { id, synonyms: s.synonyms, ...(typeof s.root === "string" ? { root: s.root } : {}) };
  }

  /** The synonyms a search on `c` applies: the collection's own before 30; from 30, its linked and named sets. */
  function synonymsFor(c: Collection, named: string[]): SynonymItem[] {
    if (!v30) return [...c.synonyms.values()];
    const names = [...new Set([...c.synonymSets, ...named])];
    return names.flatMap((n) => {
      const set = synonymSets.get(n);
      if (!set) throw new ApiError(404, `Could not find a synonym set named \`${n}\`.`);
      return [...set.values()];
    });
  }

  function collection(name: string): Collection {
    const c = collections.get(name);
    if (!c) throw new ApiError(404, "Not Found");
    return c;
  }

  function search(c: Collection, p: URLSearchParams): unknown {
    for (const k of p.keys()) if (!SEARCH_PARAMS.has(k) && !(v30 && k === "synonym_sets")) throw new ApiError(400, `Unknown search parameter \`${k}\`.`);
    const synonyms = synonymsFor(c, (p.get("synonym_sets") ?? "").split(",").map((x) => x.trim()).filter(Boolean));
    const q = p.get("q");
    const queryBy = (p.get("query_by") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    if (q === null || queryBy.length === 0) throw new ApiError(400, "Parameter `q` and `query_by` are required.");
    for (const name of queryBy) {
      const f = c.fields.find((x) => x.name === name);
      if (!f) throw new ApiError(404, `Could not find a field named \`${name}\` in the schema.`);
      if (!f.type.startsWith("string") || f.index === false) throw new ApiError(400, `Field \`${name}\` should be a string or a string array.`);
    }
    const listParam = (name: string, fallback: string): string[] => {
      const v = (p.get(name) ?? fallback).split(",").map((s) => s.trim());
      if (p.has(name) && v.length !== 1 && v.length !== queryBy.length) throw new ApiError(400, `Number of values in \`${name}\` does not match the number of \`query_by\` fields.`);
      return queryBy.map((_, i) => v[Math.min(i, v.length - 1)] ?? fallback);
    };
    const weights = p.has("query_by_weights") ? listParam("query_by_weights", "1").map(Number) : queryBy.map((_, i) => queryBy.length - i);
    if (p.has("query_by_weights") && (p.get("query_by_weights") ?? "").split(",").length !== queryBy.length) throw new ApiError(400, "Number of weights in `query_by_weights` does not match the number of `query_by` fields.");
    const typos = listParam("num_typos", "2").map(Number);
    const prefixes = listParam("prefix", "true").map((v) => v === "true");
    const intParam = (name: string, fallback: number): number => {
      const raw = p.get(name);
      if (raw === null) return fallback;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0) throw new ApiError(400, `Parameter \`${name}\` must be an unsigned integer.`);
      return n;
    };
    const minLen1 = intParam("min_len_1typo", 4);
    const minLen2 = intParam("min_len_2typo", 7);
    const dropThreshold = intParam("drop_tokens_threshold", 1);
    const typoThreshold = intParam("typo_tokens_threshold", 1);
    const perPage = p.has("per_page") ? intParam("per_page", 10) : intParam("limit", 10);
    if (perPage > 250) throw new ApiError(422, "Only upto 250 hits can be fetched per page.");
    const pageRaw = p.get("page");
    const page = Number(pageRaw ?? "1");
    if (pageRaw !== null && (!Number.isInteger(page) || page < 1)) throw new ApiError(422, "Page must be an integer of value greater than 0.");
    // As Typesense: `offset` counts only when no page is given; otherwise the page decides.
    const start = pageRaw === null && p.has("offset") ? intParam("offset", 0) : (page - 1) * perPage;
    const facetBy = (p.get("facet_by") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    for (const f of facetBy) if (!indexedField(c, f).facet) throw new ApiError(404, `Could not find a facet field named \`${f}\` in the schema.`);
    const groupBy = (p.get("group_by") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    for (const f of groupBy) if (!indexedField(c, f).facet) throw new ApiError(400, `Group by field \`${f}\` should be a facet field.`);
    const groupLimit = Number(p.get("group_limit") ?? "3");
    if (groupBy.length > 0 && (groupLimit < 1 || groupLimit > 99)) throw new ApiError(400, "Value of `group_limit` must be between 1 and 99.");
    const filter = p.get("filter_by") ? compileFilter(c, p.get("filter_by") as string) : () => true;
    const include = (p.get("include_fields") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    const exclude = new Set((p.get("exclude_fields") ?? "").split(",").map((s) => s.trim()).filter(Boolean));

    type Hit = Doc & { _score: number; _matched: Map<string, Set<string>> };
    // Sorting: at most three criteria; fields must be indexed and numeric (or sort: true). The text-match criterion
    // reads `rank` when bucketing set it (the block a result fell in), else the text score.
    type Sorter = (h: Hit, rank: number | undefined) => number;
    const sortSpec = splitTop(p.get("sort_by") ?? "_text_match:desc", ",");
    if (sortSpec.length > 3) throw new ApiError(422, "Only upto 3 sort_by fields can be specified.");
    if (sortSpec.filter((x) => x.startsWith("_eval")).length > 1) throw new ApiError(422, "Only one sorting eval expression is allowed.");
    const bucketing: { spec: { buckets: number } | { size: number } | null } = { spec: null };
    const sorters: Sorter[] = sortSpec.map((spec) => {
      const m = /^(.*):(asc|desc)$/is.exec(spec);
      if (!m) throw new ApiError(400, `Bad syntax for sorting field \`${spec}\``);
      const expr = (m[1] as string).trim();
      const dir = (m[2] as string).toLowerCase() === "asc" ? 1 : -1;
      const tm = /^_text_match(?:\((.*)\))?$/s.exec(expr);
      if (tm) {
        if (tm[1] !== undefined) {
          const cfg = /^\s*(buckets|bucket_size)\s*:\s*(\S+)\s*$/.exec(tm[1]);
          if (!cfg) throw new ApiError(400, "Invalid sorting parameter passed for _text_match.");
          const n = Number(cfg[2]);
          if (!Number.isInteger(n) || n < 0) throw new ApiError(400, "Invalid value passed for _text_match `buckets` or `bucket_size` configuration.");
          if (n > 0) bucketing.spec = cfg[1] === "buckets" ? { buckets: n } : { size: n };
        }
        return (h, rank) => dir * (rank ?? h._score);
      }
      const ev = /^_eval\((.*)\)$/s.exec(expr);
      if (ev) {
        const inner = (ev[1] as string).trim();
        const parts = inner.startsWith("[")
          ? splitTop(inner.replace(/^\[/, "").replace(/\]$/, ""), ",").map((part) => {
              const pm = /^\((.*)\)\s*:\s*(-?\d+)$/s.exec(part.trim());
              if (!pm) throw new ApiError(400, "Error parsing eval expression in sort_by clause.");
              return { pred: compileFilter(c, pm[1] as string), weight: Number(pm[2]) };
            })
          : [{ pred: compileFilter(c, inner), weight: 1 }];
        if (parts.length === 0) throw new ApiError(400, "The eval expression in sort_by is empty.");
        // The weight of the first expression that matches (Index::compute_sort_scores), not a sum.
        return (h) => dir * (parts.find((x) => x.pred(h))?.weight ?? 0);
      }
      const fm = /^(\w+)(\(missing_values:\s*(first|last|normal)\))?$/.exec(expr);
      if (!fm) throw new ApiError(400, `Could not parse sort_by \`${expr}\``);
      const f = c.fields.find((x) => x.name === fm[1]);
      if (!f || f.index === false || (!NUMERIC.has(f.type) && !f.sort)) throw new ApiError(404, `Could not find a field named \`${fm[1] as string}\` in the schema for sorting.`);
      const missingLast = (fm[3] ?? "last") === "last";
      return (h) => {
        const v = h[f.name];
        const n = typeof v === "number" ? v : typeof v === "boolean" ? Number(v) : null;
        if (n === null) return missingLast ? Infinity : -Infinity;
        return dir * n;
      };
    });
    const compare = (a: Hit, b: Hit, ra?: number, rb?: number): number => {
      for (const s of sorters) {
        const d = s(a, ra) - s(b, rb);
        if (d !== 0 && !Number.isNaN(d)) return d;
      }
      return 0;
    };

    // Matching: every query word (with synonyms as alternatives) in some query_by field. Typos are tried only
    // while fewer than `typo_tokens_threshold` results are found; words are dropped from the right while fewer
    // than `drop_tokens_threshold`.
    const qTokens = q === "*" ? [] : tokens(q);
    const synonymAlternatives = (words: string[]): string[][][] =>
      words.map((w) => {
        const alts: string[][] = [[w]];
        for (const s of synonyms) {
          const norm = s.synonyms.map((x) => tokens(x));
          if ((s.root === undefined && norm.some((x) => x.length === 1 && x[0] === w)) || (s.root !== undefined && tokens(s.root).join(" ") === w)) {
            for (const x of norm) alts.push(x);
          }
        }
        return alts;
      });
    const allowedTypos = (word: string, fi: number, cap: number): number =>
      Math.min(cap, typos[fi] ?? 2, word.length >= minLen2 ? 2 : word.length >= minLen1 ? 1 : 0);
    const scoreDoc = (d: Doc, words: string[], cap: number): { score: number; matched: Map<string, Set<string>> } | null => {
      let score = 0;
      const matched = new Map<string, Set<string>>();
      const alts = synonymAlternatives(words);
      for (let wi = 0; wi < words.length; wi++) {
        let best = 0;
        for (const alt of alts[wi] ?? []) {
          queryBy.forEach((name, fi) => {
            const raw = d[name];
            const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === "string");
            const docTokens = values.flatMap(tokens);
            const ok = alt.every((a, ai) =>
              docTokens.some((t) => {
                const last = wi === words.length - 1 && ai === alt.length - 1;
                const allowed = allowedTypos(a, fi, cap);
                const hit = t === a || (last && prefixes[fi] && t.startsWith(a)) || (allowed > 0 && levenshtein(t, a, allowed) <= allowed);
                if (hit) {
                  const set = matched.get(name) ?? new Set<string>();
                  set.add(t);
                  matched.set(name, set);
                }
                return hit;
              }),
            );
            if (ok) best = Math.max(best, weights[fi] ?? 1);
          });
        }
        if (best === 0) return null;
        score += best;
      }
      return { score, matched };
    };
    const matchAll = (words: string[], cap: number): Hit[] => {
      const out: Hit[] = [];
      for (const d of c.docs.values()) {
        if (!filter(d)) continue;
        const m = words.length === 0 ? { score: 0, matched: new Map<string, Set<string>>() } : scoreDoc(d, words, cap);
        if (m) out.push({ ...d, _score: m.score, _matched: m.matched });
      }
      return out;
    };
    let words = qTokens;
    let hits: Hit[] = [];
    for (;;) {
      for (let cap = 0; cap <= 2; cap++) {
        hits = matchAll(words, cap);
        if (hits.length >= typoThreshold || words.length === 0) break;
      }
      if (hits.length >= dropThreshold || words.length <= 1) break;
      words = words.slice(0, -1);
    }
    hits.sort((a, b) => compare(a, b));

    // Results are the documents, or with group_by the groups in the order of their best document.
    let results: Hit[][];
    if (groupBy.length === 0) results = hits.map((h) => [h]);
    else {
      const groups = new Map<string, Hit[]>();
      for (const h of hits) {
        const key = JSON.stringify(groupBy.map((f) => h[f]));
        const g = groups.get(key) ?? [];
        g.push(h);
        groups.set(key, g);
      }
      results = [...groups.values()];
    }
    const spec = bucketing.spec;
    if (spec !== null) {
      const n = Math.min(MAX_BUCKETED, results.length);
      const block = "buckets" in spec ? Math.ceil(n / spec.buckets) : spec.size;
      if (("buckets" in spec && n >= spec.buckets) || ("size" in spec && n >= spec.size)) {
        // Each block ties on text match at minus its first position; the rest of the sort orders it.
        const ranked = results.slice(0, n).map((r, i) => ({ r, rank: -(i - (i % block)) }));
        ranked.sort((a, b) => compare(a.r[0] as Hit, b.r[0] as Hit, a.rank, b.rank));
        results = [...ranked.map((x) => x.r), ...results.slice(n)];
      }
    }

    const startTag = p.get("highlight_start_tag") ?? "<mark>";
    const endTag = p.get("highlight_end_tag") ?? "</mark>";
    const highlightFields = (p.get("highlight_fields") ?? queryBy.join(",")).split(",").map((s) => s.trim()).filter(Boolean);
    const mark = (text: string, matched: Set<string>): { snippet: string; matched_tokens: string[] } => {
      const found: string[] = [];
      const snippet = text.replace(/[\p{L}\p{N}]+/gu, (w) => {
        const t = tokens(w)[0] ?? "";
        if (matched.has(t)) {
          found.push(w);
          return `${startTag}${w}${endTag}`;
        }
        return w;
      });
      return { snippet, matched_tokens: found };
    };
    const shape = (h: Hit) => {
      const { _score, _matched, ...stored } = h;
      const document = Object.fromEntries(Object.entries(stored).filter(([k]) => (include.length === 0 || include.includes(k) || k === "id") && !exclude.has(k)));
      const highlight: Record<string, unknown> = {};
      if (qTokens.length > 0) {
        for (const f of highlightFields) {
          const v = stored[f];
          const m = _matched.get(f) ?? new Set<string>();
          if (typeof v === "string") highlight[f] = mark(v, m);
          else if (Array.isArray(v)) highlight[f] = v.map((x) => mark(String(x), m));
        }
      }
      return { document, highlight, text_match: _score };
    };
    const facetCounts = facetBy.map((f) => {
      const counts = new Map<string, number>();
      for (const h of hits) {
        for (const v of Array.isArray(h[f]) ? (h[f] as unknown[]) : [h[f]]) {
          if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
        }
      }
      const max = Number(p.get("max_facet_values") ?? "10");
      return {
        field_name: f,
        counts: [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, max).map(([value, count]) => ({ count, highlighted: value, value })),
        sampled: false,
        stats: { total_values: counts.size },
      };
    });
    const where = pageRaw === null && p.has("offset") ? { offset: start } : { page };
    const base = { facet_counts: facetCounts, out_of: c.docs.size, ...where, request_params: { collection_name: c.name, per_page: perPage, q }, search_cutoff: false, search_time_ms: 0 };
    const slice = results.slice(start, start + perPage);
    if (groupBy.length === 0) return { ...base, found: hits.length, hits: slice.map((r) => shape(r[0] as Hit)) };
    return {
      ...base,
      found: results.length,
      found_docs: hits.length,
      grouped_hits: slice.map((g) => ({
        found: g.length,
        group_key: groupBy.map((f) => (g[0] as Doc)[f]),
        hits: g.slice(0, groupLimit).map(shape),
      })),
    };
  }

  async function route(req: http.IncomingMessage, body: string): Promise<{ status: number; body: unknown; text?: string }> {
    if (req.headers["x-typesense-api-key"] !== opts.apiKey) throw new ApiError(401, "Forbidden - a valid `x-typesense-api-key` header must be sent.");
    const url = new URL(req.url ?? "/", "http://fake");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const m = req.method ?? "GET";
    requests.push(`${m} ${url.pathname}${url.search}`);
    const json = (): Record<string, unknown> => {
      try {
        return JSON.parse(body) as Record<string, unknown>;
      } catch {
        throw new ApiError(400, "Bad JSON.");
      }
    };
    if (m === "GET" && url.pathname === "/health") return { status: 200, body: { ok: true } };
    if (m === "GET" && url.pathname === "/debug") return { status: 200, body: { state: 1, version } };
    if (parts[0] === "synonym_sets" && v30) return synonymSetRoute(m, parts, json);
    if (parts[0] !== "collections") throw new ApiError(404, "Not Found");
    if (parts.length === 1 && m === "POST") {
      const s = json();
      if (typeof s.name !== "string" || !Array.isArray(s.fields)) throw new ApiError(400, "Parameter `name` and `fields` are required.");
      if (collections.has(s.name)) throw new ApiError(409, `A collection with name \`${s.name}\` already exists.`);
      const fields = s.fields as Field[];
      validateFields(fields);
      const dsf = typeof s.default_sorting_field === "string" ? s.default_sorting_field : undefined;
      if (dsf !== undefined) {
        const f = fields.find((x) => x.name === dsf);
        if (!f || !NUMERIC.has(f.type) || f.optional) throw new ApiError(400, `Default sorting field \`${dsf}\` must be a single valued numerical field that is not optional.`);
      }
      if (fields.some((f) => f.type.startsWith("object")) && s.enable_nested_fields !== true) throw new ApiError(400, "Type `object` or `object[]` can be used only when nested fields are enabled by setting `enable_nested_fields` to true.");
      let linked: string[] = [];
      if (s.synonym_sets !== undefined) {
        if (!v30) throw new ApiError(400, "Unknown collection parameter `synonym_sets`.");
        if (!Array.isArray(s.synonym_sets) || !s.synonym_sets.every((x) => typeof x === "string")) throw new ApiError(400, "`synonym_sets` should be an array of strings.");
        for (const n of s.synonym_sets) if (!synonymSets.has(n)) throw new ApiError(404, `Could not find a synonym set named \`${n}\`.`);
        linked = s.synonym_sets;
      }
      collections.set(s.name, { name: s.name, fields, default_sorting_field: dsf, docs: new Map(), synonyms: new Map(), synonymSets: linked });
      return { status: 201, body: { ...s, num_documents: 0, created_at: Math.floor(Date.now() / 1000) } };
    }
    const c = collection(parts[1] ?? "");
    if (parts.length === 2 && m === "GET") {
      return { status: 200, body: { name: c.name, fields: c.fields, default_sorting_field: c.default_sorting_field, num_documents: c.docs.size, ...(v30 ? { synonym_sets: c.synonymSets } : {}) } };
    }
    if (parts.length === 2 && m === "PATCH") {
      // Schema changes: fields added (each stored document must fit it) or dropped (`drop: true`).
      const body = json();
      if (!Array.isArray(body.fields) || Object.keys(body).some((k) => k !== "fields")) throw new ApiError(400, "Only `fields` can be updated.");
      const next = [...c.fields];
      for (const raw of body.fields as (Field & { drop?: boolean })[]) {
        const at = next.findIndex((f) => f.name === raw.name);
        if (raw.drop === true) {
          if (at < 0) throw new ApiError(400, `Field \`${raw.name}\` is not part of collection schema.`);
          next.splice(at, 1);
          continue;
        }
        if (at >= 0) throw new ApiError(400, `Field \`${raw.name}\` is already part of the schema: To change this field, drop it first before adding it back to the schema.`);
        validateFields([raw]);
        for (const d of c.docs.values()) {
          const problem = validateValue(raw, d[raw.name]);
          if (problem) throw new ApiError(400, `Schema change is incompatible with the type of documents already stored in this collection. ${problem}`);
        }
        next.push(raw);
      }
      c.fields = next;
      return { status: 200, body: { fields: body.fields } };
    }
    if (parts.length === 2 && m === "DELETE") {
      collections.delete(c.name);
      return { status: 200, body: { name: c.name } };
    }
    if (parts[2] === "documents") {
      if (parts[3] === "import" && m === "POST") {
        const action = url.searchParams.get("action") ?? "create";
        if (!["create", "upsert", "update", "emplace"].includes(action)) throw new ApiError(400, "Invalid `action` parameter.");
        const lines = body.split("\n").filter((l) => l.trim() !== "").map((line) => {
          let d: Doc;
          try {
            d = JSON.parse(line) as Doc;
          } catch {
            return { success: false, error: "Bad JSON.", document: line };
          }
          const problem = validateDoc(c, d);
          if (problem) return { success: false, error: problem, document: line };
          c.docs.set(d.id as string, d);
          return { success: true };
        });
        return { status: 200, body: null, text: lines.map((l) => JSON.stringify(l)).join("\n") };
      }
      if (parts[3] === "search" && m === "GET") return { status: 200, body: search(c, url.searchParams) };
      if (parts.length === 3 && m === "DELETE") {
        const f = url.searchParams.get("filter_by");
        if (!f) throw new ApiError(400, "Parameter `filter_by` must be provided.");
        const pred = compileFilter(c, f);
        let n = 0;
        for (const [id, d] of c.docs) if (pred(d)) {
          c.docs.delete(id);
          n++;
        }
        return { status: 200, body: { num_deleted: n } };
      }
    }
    if (parts[2] === "synonyms" && !v30) {
      if (parts.length === 3 && m === "GET") return { status: 200, body: { synonyms: [...c.synonyms.values()] } };
      const id = parts[3] ?? "";
      if (m === "PUT") {
        const set = synonymItem(id, json());
        c.synonyms.set(id, set);
        return { status: 200, body: set };
      }
      if (m === "DELETE") {
        if (!c.synonyms.delete(id)) throw new ApiError(404, "Could not find that `id`.");
        return { status: 200, body: { id } };
      }
    }
    throw new ApiError(404, "Not Found");
  }

  /** Typesense 30's `/synonym_sets`: sets of items, upserted whole or item by item. */
  function synonymSetRoute(m: string, parts: string[], json: () => Record<string, unknown>): { status: number; body: unknown } {
    const view = (name: string, set: Map<string, SynonymItem>): unknown => ({ name, items: [...set.values()] });
    if (parts.length === 1 && m === "GET") return { status: 200, body: [...synonymSets].map(([n, set]) => view(n, set)) };
    const name = parts[1] ?? "";
    if (parts.length === 2 && m === "PUT") {
      const body = json();
      if (!Array.isArray(body.items)) throw new ApiError(400, "Parameter `items` is required.");
      const set = new Map<string, SynonymItem>();
      for (const raw of body.items as Record<string, unknown>[]) {
        if (typeof raw.id !== "string") throw new ApiError(400, "Each synonym item needs an `id`.");
        set.set(raw.id, synonymItem(raw.id, raw));
      }
      synonymSets.set(name, set);
      return { status: 200, body: view(name, set) };
    }
    const set = synonymSets.get(name);
    if (!set) throw new ApiError(404, `Could not find a synonym set named \`${name}\`.`);
    if (parts.length === 2 && m === "GET") return { status: 200, body: view(name, set) };
    if (parts.length === 2 && m === "DELETE") {
      synonymSets.delete(name);
      return { status: 200, body: { name } };
    }
    if (parts[2] !== "items") throw new ApiError(404, "Not Found");
    if (parts.length === 3 && m === "GET") return { status: 200, body: [...set.values()] };
    const id = parts[3] ?? "";
    if (parts.length === 4 && m === "PUT") {
      const item = synonymItem(id, json());
      set.set(id, item);
      return { status: 200, body: item };
    }
    const item = set.get(id);
    if (!item) throw new ApiError(404, "Could not find that `id`.");
    if (parts.length === 4 && m === "GET") return { status: 200, body: item };
    if (parts.length === 4 && m === "DELETE") {
      set.delete(id);
      return { status: 200, body: { id } };
    }
    throw new ApiError(404, "Not Found");
  }

  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      route(req, body).then(
        (out) => {
          res.writeHead(out.status, { "content-type": out.text !== undefined ? "text/plain; charset=utf-8" : "application/json; charset=utf-8" });
          res.end(out.text ?? JSON.stringify(out.body));
        },
        (err: unknown) => {
          const status = err instanceof ApiError ? err.status : 500;
          res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
          res.end(JSON.stringify({ message: err instanceof Error ? err.message : String(err) }));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
