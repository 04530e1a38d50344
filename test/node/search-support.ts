/** Node-side search test support: the Postgres engine over `pg` on the test database, with its index built. */
import pg from "pg";
import { loadStackConfig, pgUrl } from "../../dev/config";
import { pgGateway, reindexAll } from "../../dev/search-reindex";
import { PostgresSearchEngine } from "../../workers/search/postgres-engine";

export const testDatabaseUrl = pgUrl(loadStackConfig().pgPrimaryPort, loadStackConfig().testDatabase);

/** Opens a pool on the test database and an engine over it; builds the index if it is empty. */
export async function openPostgresEngine(): Promise<{ pool: pg.Pool; engine: PostgresSearchEngine }> {
  await reindexAll(testDatabaseUrl, { ifEmpty: true, log: () => undefined, env: {} });
  const pool = new pg.Pool({ connectionString: testDatabaseUrl, max: 4 });
  return { pool, engine: new PostgresSearchEngine(pgGateway(pool), true) };
}
