/**
 * The cost of hostile search queries (issue 10): long gibberish words through the Postgres engine, straight on
 * the primary of the test database (no Worker, no cache), reported as p50/max. Usage:
 *   NB_TEST_DATABASE=... npx tsx bench/search-gibberish.ts [runs=20] [words=12] [letters=30]
 */
import pg from "pg";
import { loadStackConfig, pgUrl } from "../dev/config";
import { pgGateway } from "../dev/search-reindex";
import { PostgresSearchEngine } from "../workers/search/postgres-engine";
import type { SearchRequest } from "../workers/search/engine";

const [runs = 20, words = 12, letters = 30] = process.argv.slice(2).map(Number);

/** Random lower-case letters: words no dictionary holds, so every typo fallback runs. */
function gibberish(): string {
  const word = (): string => Array.from({ length: letters }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join("");
  return Array.from({ length: words }, word).join(" ");
}

const cfg = loadStackConfig();
const pool = new pg.Pool({ connectionString: pgUrl(cfg.pgPrimaryPort, cfg.testDatabase), max: 1 });
const engine = new PostgresSearchEngine(pgGateway(pool), true);
const request = (q: string): SearchRequest => ({ q, filters: { format: [], language: [] }, facets: [], sort: "relevance", page: 1, perPage: 20 });
const pct = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;

async function measure(label: string, make: () => string): Promise<void> {
  const ms: number[] = [];
  let failed = 0;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    try {
      await engine.search(request(make()));
    } catch {
      failed++;
    }
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  console.log(`${label}: p50 ${pct(ms, 0.5).toFixed(1)} ms, max ${(ms[ms.length - 1] ?? NaN).toFixed(1)} ms over ${runs}${failed ? `, ${failed} failed` : ""}`);
}

try {
  await engine.search(request("warm up"));
  await measure(`gibberish ${words}×${letters}`, gibberish);
  await measure("real query 'the hobbit'", () => "the hobbit");
} finally {
  await pool.end();
}
