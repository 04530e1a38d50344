/** Picks the engine: Typesense when TYPESENSE_* is configured, else the embedded Postgres engine. */
import type { AppConfig } from "../platform/config";
import type { DbRouter } from "../platform/db";
import type { SearchEngine } from "./engine";
import { PostgresSearchEngine } from "./postgres-engine";
import { routerGateway } from "./router-gateway";
import { TypesenseSearchEngine } from "./typesense-engine";

/** Typesense clients per configuration, reused by the requests of one isolate (they hold no per-request state). */
const typesenseEngines = new Map<string, TypesenseSearchEngine>();

/** The search engine for this configuration; the Postgres engine reads through the request's router. */
export function searchEngineFor(config: AppConfig, db: DbRouter, opts: { readPrimary?: boolean; statementTimeoutMs?: number } = {}): SearchEngine {
  const ts = config.typesense;
  if (!ts) return new PostgresSearchEngine(routerGateway(db), opts.readPrimary ?? false, opts.statementTimeoutMs);
  const key = `${ts.protocol}://${ts.host}:${ts.port}/${ts.collection}|${ts.apiKey}`;
  let engine = typesenseEngines.get(key);
  if (!engine) {
    engine = new TypesenseSearchEngine(ts);
    typesenseEngines.set(key, engine);
  }
  return engine;
}
