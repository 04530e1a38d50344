/**
 * Applies catalog changes to the search engine: rebuilds the documents of the changed products from the
 * primary (the message says which product changed, never what it now looks like, so a late or repeated message
 * cannot write stale data), hands them to the engine, and raises the search index version that cached result
 * pages are checked against.
 */
import { sql } from "drizzle-orm";
import type { SqlGateway } from "./sql-gateway";
import type { SearchEngine } from "./engine";
import { loadDocuments } from "./documents";

/** Reindexes the given products; returns the number of documents written and the new index version. */
export async function reindexProducts(db: SqlGateway, engine: SearchEngine, productIds: number[]): Promise<{ documents: number; version: number }> {
  const ids = [...new Set(productIds)];
  if (ids.length === 0) return { documents: 0, version: 0 };
  const { value: docs } = await db.read((r) => loadDocuments(r, ids), { primary: true });
  await engine.replaceProducts(ids, docs);
  const version = await bumpIndexVersion(db);
  return { documents: docs.length, version };
}

/** Raises the `search` counter in Postgres (the source of truth) and returns it. */
export async function bumpIndexVersion(db: SqlGateway): Promise<number> {
  const rows = await db.write((w) =>
    w.rows<{ version: string | number }>(sql`
      insert into cache_versions (scope, version) values ('search', 1)
      on conflict (scope) do update set version = cache_versions.version + 1, updated_at = now()
      returning version`),
  );
  return Number(rows[0]?.version ?? 0);
}
