/**
 * Full search reindex for operators: `npm run search:reindex [-- --restart] [--batch 500]`.
 * Walks the catalog in product-id order, rebuilds each batch's documents and hands them to the configured engine
 * (Typesense when TYPESENSE_HOST is set, else Postgres), printing progress. Resumable: the last product id done
 * is saved per engine in `search_reindex_runs` after every batch, so a run that stops continues where it was
 * (`--restart` starts over). Synonyms are pushed from `search_synonyms` (a new Typesense collection has none).
 *
 * Database: DATABASE_URL (a direct URL), else the local dev database (NB_DEV_DATABASE, default nexusbooks).
 */
import path from "node:path";
import pg from "pg";
import { Redis } from "@upstash/redis";
import type { SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import type { SqlReader as Reader } from "../workers/search/sql-gateway";
import type { SearchEngine } from "../workers/search/engine";
import type { SqlGateway } from "../workers/search/sql-gateway";
import { PostgresSearchEngine } from "../workers/search/postgres-engine";
import { TypesenseSearchEngine } from "../workers/search/typesense-engine";
import { DOCUMENT_SCHEMA, nextProductIds } from "../workers/search/documents";
import { bumpIndexVersion, reindexProducts } from "../workers/search/indexer";
import { keys as searchKeys, TTL } from "../workers/search/cache-keys";
import { raiseVersion } from "../workers/platform/version-counter";
import { loadStackConfig, pgUrl, projectRoot } from "./config";

/** A gateway over one `pg` pool: reads and writes both go to the given (primary) database. */
export function pgGateway(pool: pg.Pool): SqlGateway {
  const db = drizzle({ client: pool });
  const reader: Reader = { rows: async <T extends Record<string, unknown>>(q: SQL) => (await db.execute<T>(q)).rows as T[] };
  return {
    read: async (fn) => ({ value: await fn(reader), source: "primary" }),
    write: (fn) => fn(reader),
  };
}

/** The engine the environment configures (same rule as the Worker's config). */
export function engineFromEnv(gateway: SqlGateway, env: NodeJS.ProcessEnv = process.env): SearchEngine {
  const host = env.TYPESENSE_HOST ?? "";
  if (host === "") return new PostgresSearchEngine(gateway, true);
  const protocol = env.TYPESENSE_PROTOCOL === "http" ? "http" : "https";
  const apiKey = env.TYPESENSE_API_KEY ?? "";
  if (apiKey === "") throw new Error("TYPESENSE_API_KEY is missing (required when TYPESENSE_HOST is set)");
  return new TypesenseSearchEngine({
    host,
    protocol,
    port: env.TYPESENSE_PORT ? Number(env.TYPESENSE_PORT) : protocol === "http" ? 8108 : 443,
    apiKey,
    collection: env.TYPESENSE_COLLECTION ?? "books_dev",
  });
}

export interface ReindexOptions {
  restart?: boolean;
  batch?: number;
  /** Only when the engine's index is empty (dev/test start-up after a seed). */
  ifEmpty?: boolean;
  log?: (m: string) => void;
  env?: NodeJS.ProcessEnv;
  /**
   * The Worker's Redis (Upstash REST) and cache namespace: the new index version is raised there too, so cached
   * result pages stop being served at once instead of living out their TTL. Without it the reindex says so.
   */
  redis?: RedisTarget | null;
}

export interface RedisTarget {
  url: string;
  token: string;
  namespace: string;
}

/** Where `npm run search:reindex` raises the version: UPSTASH_REDIS_REST_* and CACHE_NAMESPACE, else the local stack. */
export function redisTargetFromEnv(env: NodeJS.ProcessEnv = process.env): RedisTarget | null {
  if (env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN && env.CACHE_NAMESPACE) {
    return { url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, namespace: env.CACHE_NAMESPACE };
  }
  if (env.DATABASE_URL) return null;
  const cfg = loadStackConfig();
  return { url: `http://127.0.0.1:${cfg.upstashProxyPort}`, token: cfg.upstashToken, namespace: `dev${cfg.cacheNamespaceSuffix}` };
}

/** Reindexes the whole catalog of `databaseUrl`; returns the number of documents written. */
export async function reindexAll(databaseUrl: string, opts: ReindexOptions = {}): Promise<{ products: number; documents: number; ms: number }> {
  const log = opts.log ?? ((m: string) => console.log(m));
  const batch = opts.batch ?? 500;
  const started = Date.now();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  try {
    const gateway = pgGateway(pool);
    const engine = engineFromEnv(gateway, opts.env);
    const r = await pool.query<{ n: string }>("select count(*) as n from products");
    const total = Number(r.rows[0]?.n ?? 0);
    if (opts.ifEmpty && engine.name === "postgres") {
      // Kept when it holds documents of today's shape from a finished run; an index of an older shape is rebuilt.
      const existing = await pool.query(
        `select 1 from search_documents where exists (select 1 from search_reindex_runs where engine = 'postgres'
           and finished_at is not null and document_schema >= $1) limit 1`,
        [DOCUMENT_SCHEMA],
      );
      if (existing.rowCount && existing.rowCount > 0) return { products: 0, documents: 0, ms: Date.now() - started };
    }
    await engine.ensureReady();
    const synonyms = await pool.query<{ id: string; root: string | null; synonyms: string[] }>("select id, root, synonyms from search_synonyms order by id");
    for (const s of synonyms.rows) await engine.upsertSynonym(s);

    const run = await pool.query<{ last_product_id: string; indexed: number; finished_at: Date | null; document_schema: number }>(
      "select last_product_id, indexed, finished_at, document_schema from search_reindex_runs where engine = $1",
      [engine.name],
    );
    const prev = run.rows[0];
    // A run of an older document shape is not resumed: what it wrote lacks today's fields.
    const resume = prev && prev.finished_at === null && !opts.restart && prev.document_schema >= DOCUMENT_SCHEMA;
    let after = resume ? Number(prev.last_product_id) : 0;
    let documents = resume ? prev.indexed : 0;
    await pool.query(
      `insert into search_reindex_runs (engine, last_product_id, indexed, started_at, finished_at, document_schema)
       values ($1, $2, $3, now(), null, $5)
       on conflict (engine) do update set last_product_id = excluded.last_product_id, indexed = excluded.indexed,
         started_at = case when $4 then search_reindex_runs.started_at else now() end, finished_at = null,
         document_schema = excluded.document_schema`,
      [engine.name, after, documents, resume, DOCUMENT_SCHEMA],
    );
    if (resume) log(`[search] resuming the ${engine.name} reindex after product ${after}`);
    const doneBefore = Number((await pool.query<{ n: string }>("select count(*) as n from products where id <= $1", [after])).rows[0]?.n ?? 0);
    let done = doneBefore;
    for (;;) {
      const ids = await nextProductIds(gatewayReader(gateway), after, batch);
      if (ids.length === 0) break;
      const res = await reindexProducts(gateway, engine, ids);
      after = ids[ids.length - 1] as number;
      done += ids.length;
      documents += res.documents;
      await pool.query("update search_reindex_runs set last_product_id = $2, indexed = $3 where engine = $1", [engine.name, after, documents]);
      const secs = (Date.now() - started) / 1000;
      log(`[search] ${engine.name}: ${done}/${total} products (${Math.round((done / Math.max(total, 1)) * 100)}%), ${documents} documents, ${Math.round((done - doneBefore) / Math.max(secs, 0.001))} products/s`);
    }
    await pool.query("update search_reindex_runs set finished_at = now() where engine = $1", [engine.name]);
    if (engine.name === "postgres") {
      // A bulk load leaves the GIN indexes' pending lists full (each search then scans them: 2-7 ms a probe instead
      // of 0.03) and the statistics stale; vacuum flushes the one and analyze the other.
      await pool.query("vacuum analyze search_documents, search_suggestions, search_terms, search_term_variants");
    }
    const version = await bumpIndexVersion(gateway);
    if (opts.redis) {
      try {
        const redis = new Redis({ url: opts.redis.url, token: opts.redis.token, retry: false, enableTelemetry: false });
        await raiseVersion(redis, opts.redis.namespace, searchKeys.searchVersion, version);
        log(`[search] index version ${version} raised in Redis (${opts.redis.namespace}): cached search pages are retired`);
      } catch (err) {
        log(`[search] WARNING: could not raise the index version in Redis (${err instanceof Error ? err.message : String(err)}); cached search pages may be served for up to ${TTL.results} s`);
      }
    } else if (!opts.ifEmpty) {
      log(`[search] no Redis configured (UPSTASH_REDIS_REST_URL/TOKEN, CACHE_NAMESPACE): cached search pages may be served for up to ${TTL.results} s`);
    }
    if (engine.name === "postgres") await pool.query("analyze search_documents; analyze search_terms; analyze search_suggestions");
    const ms = Date.now() - started;
    log(`[search] reindex done: ${done} products, ${documents} documents in ${ms} ms (${engine.name})`);
    return { products: done, documents, ms };
  } finally {
    await pool.end();
  }
}

function gatewayReader(gateway: SqlGateway): Reader {
  return { rows: <T extends Record<string, unknown>>(q: SQL) => gateway.write((r) => r.rows<T>(q)) };
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(projectRoot, "dev/search-reindex.ts");
if (isMain) {
  const args = process.argv.slice(2);
  const batchIdx = args.indexOf("--batch");
  const url = process.env.DATABASE_URL ?? pgUrl(loadStackConfig().pgPrimaryPort, loadStackConfig().devDatabase);
  reindexAll(url, { restart: args.includes("--restart"), batch: batchIdx >= 0 ? Number(args[batchIdx + 1]) : 500, redis: redisTargetFromEnv() }).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
