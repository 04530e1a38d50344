import pg from "pg";
import { pgGateway } from "/work/search-wt/dev/search-reindex";
import { PostgresSearchEngine } from "/work/search-wt/workers/search/postgres-engine";
import { toSearchRequest } from "/work/search-wt/workers/search/request";
import { searchQuerySchema } from "/work/search-wt/workers/search/schemas";
const pool = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1:5432/nexusbooks_search", max: 1 });
const engine = new PostgresSearchEngine(pgGateway(pool), true);
const qs = [{ q: "The", in_stock: "true", sort: "price_asc", facets: "format" }, { q: "King", facets: "format,category,language" }, { q: "Hte Hunger Games" }, { q: "harry potter and the" }, { q: "Harry Potter and the Sorcerer s Stone" }];
for (let round = 0; round < 2; round++) for (const q of qs) {
  const t = performance.now();
  const r = await engine.search(toSearchRequest(searchQuerySchema.parse(q)));
  console.log(round, JSON.stringify(q), r.found, (performance.now() - t).toFixed(1), "ms");
}
await pool.end();
