/**
 * Search and autocomplete: turns validated query parameters into an engine request (an ISBN goes straight to
 * its book), serves popular queries (asked twice in an isolate) from Redis while the index version they were
 * computed at is current, and maps an unreachable engine to 503 with a retry hint.
 */
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import type { CacheEntry } from "../platform/cache";
import type { SearchEngine, SearchRequest, SearchResult } from "./engine";
import { SearchUnavailableError } from "./engine";
import { searchEngineFor } from "./engine-factory";
import { keys, TTL } from "./cache-keys";
import { lastKnownIndexVersion, noteIndexVersion, seenBefore } from "./doorkeeper";
import type { SearchQuery, SuggestQuery } from "./schemas";
import type { SearchBody } from "./response-schemas";
import { isbnQuery, toSearchRequest } from "./request";
import { searchLimits } from "./limits";
import { escapeHtml } from "./highlight";

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Postgres cancelled the statement (SQLSTATE 57014: statement_timeout), possibly wrapped by drizzle. */
function isStatementTimeout(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === "57014") return true;
  }
  return false;
}

/**
 * Runs an engine call; outages become 503 SEARCH_UNAVAILABLE (the catalog routes do not depend on search) and a
 * statement past SEARCH_STATEMENT_TIMEOUT_MS 503 SEARCH_TIMEOUT.
 */
async function guarded<T>(c: Context<AppEnv>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isStatementTimeout(err)) {
      c.get("log").warn("search_timeout", { timeout_ms: searchLimits(c.env).statementTimeoutMs });
      throw new AppError("SEARCH_TIMEOUT", "The search took too long; retry, or use fewer words", null, { "Retry-After": "2" });
    }
    const outage = err instanceof SearchUnavailableError || (err instanceof AppError && err.status === 503);
    if (!outage) throw err;
    c.get("log").warn("search_unavailable", { error_message: err instanceof Error ? err.message : String(err) });
    throw new AppError("SEARCH_UNAVAILABLE", "Search is temporarily unavailable; retry shortly", null, { "Retry-After": "5" });
  }
}

/**
 * The cached read path for search bodies: an entry is served while it is at least as new as `ver:search` (the
 * consumer raises it after each indexed batch); read-your-writes sessions skip the cache and read fresh. A key
 * this isolate has not seen recently skips Redis both ways (doorkeeper.ts): one-off queries are most queries.
 */
async function cachedSearch(
  c: Context<AppEnv>,
  key: string,
  ttl: number,
  run: (engine: SearchEngine, fresh: boolean, known: number | null) => Promise<{ body: string; version: number }>,
): Promise<Pick<CacheEntry, "etag" | "body">> {
  const cache = c.get("cache");
  const ryw = c.get("readYourWrites");
  const admitted = !ryw && seenBefore(key);
  let known: number | null = ryw ? null : lastKnownIndexVersion();
  if (admitted) {
    const { entry, version } = await cache.getVersioned(key, keys.searchVersion);
    noteIndexVersion(version);
    if (entry && (version === null || entry.v >= version)) {
      c.set("servedBy", "cache");
      return entry;
    }
    known = version;
  }
  const engine = searchEngineFor(c.get("config"), c.get("db"), { statementTimeoutMs: searchLimits(c.env).statementTimeoutMs });
  const { body, version } = await guarded(c, () => run(engine, ryw, known));
  const entry: CacheEntry = { v: Math.max(version, known ?? 0), etag: `W/"${await sha1(body)}"`, body };
  if (admitted) c.executionCtx.waitUntil(cache.put(key, entry, ttl, keys.searchVersion));
  return entry;
}

function send(c: Context<AppEnv>, entry: Pick<CacheEntry, "etag" | "body">): Response {
  c.header("ETag", entry.etag);
  c.header("Content-Type", "application/json; charset=UTF-8");
  return c.body(entry.body, 200);
}

/** Runs a search; a Postgres answer older than the index version Redis knows is asked again on the primary. */
async function freshEnough(c: Context<AppEnv>, engine: SearchEngine, req: SearchRequest, fresh: boolean, known: number | null): Promise<SearchResult> {
  const result = await engine.search(req, { fresh });
  c.set("servedBy", engine.name === "postgres" ? (fresh ? "primary" : "replica") : null);
  if (!fresh && known !== null && result.indexVersion !== undefined && result.indexVersion < known) {
    c.get("log").info("search_replica_behind", { replica_version: result.indexVersion, known });
    c.set("servedBy", "primary");
    return engine.search(req, { fresh: true });
  }
  return result;
}

/** The cached body (JSON text) of a search: what GET /v1/search answers, byte for byte. */
async function searchEntry(c: Context<AppEnv>, q: SearchQuery): Promise<Pick<CacheEntry, "etag" | "body">> {
  const req = toSearchRequest(q);
  const key = keys.results(await sha1(JSON.stringify(req)));
  return cachedSearch(c, key, TTL.results, async (engine, fresh, known) => {
    const result = await freshEnough(c, engine, req, fresh, known);
    const totalPages = Math.ceil(result.found / req.perPage);
    const body = JSON.stringify({
      data: result.hits,
      facets: result.facets,
      page: { page: req.page, limit: req.perPage, found: result.found, total_pages: totalPages, has_more: req.page < totalPages },
      query: { q: req.q, isbn13: req.filters.isbn13 ?? null, sort: req.sort, did_you_mean: result.didYouMean ?? null },
      engine: engine.name,
    });
    return { body, version: result.indexVersion ?? 0 };
  });
}

/** GET /search. */
export async function searchResponse(c: Context<AppEnv>, q: SearchQuery): Promise<Response> {
  return send(c, await searchEntry(c, q));
}

/**
 * A search as data, for pages rendered on the server (the storefront): the very body GET /v1/search would answer,
 * through the same cache, so a page and the API never disagree.
 */
export async function searchResults(c: Context<AppEnv>, q: SearchQuery): Promise<SearchBody> {
  return JSON.parse((await searchEntry(c, q)).body) as SearchBody;
}

/** GET /search/suggest: up to 10 titles, authors and series; an ISBN suggests its book. */
export async function suggestResponse(c: Context<AppEnv>, q: SuggestQuery): Promise<Response> {
  const key = keys.suggest(await sha1(JSON.stringify([q.q.toLowerCase(), q.limit])));
  return send(c, await cachedSearch(c, key, TTL.suggest, async (engine, fresh, known) => {
    const isbn13 = isbnQuery(q.q);
    if (isbn13) {
      const req: SearchRequest = { q: null, filters: { format: [], language: [], isbn13 }, facets: [], sort: "popularity", page: 1, perPage: 1 };
      const result = await freshEnough(c, engine, req, fresh, known);
      const data = result.hits.map((h) => ({ kind: "title", text: h.name, slug: h.slug, highlight: escapeHtml(h.name) }));
      return { body: JSON.stringify({ data }), version: result.indexVersion ?? 0 };
    }
    const data = await engine.suggest(q.q, q.limit);
    return { body: JSON.stringify({ data }), version: known ?? 0 };
  }));
}
