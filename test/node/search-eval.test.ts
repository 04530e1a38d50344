import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { EVAL_SET } from "../search/eval-set";
import { openPostgresEngine } from "./search-support";
import type { PostgresSearchEngine } from "../../workers/search/postgres-engine";
import { toSearchRequest } from "../../workers/search/request";
import { searchQuerySchema } from "../../workers/search/schemas";

let pool: pg.Pool;
let engine: PostgresSearchEngine;

beforeAll(async () => {
  ({ pool, engine } = await openPostgresEngine());
});
afterAll(async () => {
  await pool.end();
});

describe("relevance evaluation (Postgres engine, --small seed)", () => {
  it(`puts the expected books in the top 5 for at least 95% of ${EVAL_SET.length} queries`, async () => {
    expect(EVAL_SET.length).toBeGreaterThanOrEqual(40);
    const failures: string[] = [];
    for (const c of EVAL_SET) {
      const req = toSearchRequest(searchQuerySchema.parse({ q: c.q, limit: "5" }));
      const { hits } = await engine.search(req);
      const top = hits.map((h) => h.slug);
      const missing = c.expect.filter((s) => !top.includes(s));
      if (missing.length > 0) failures.push(`[${c.kind}] "${c.q}": missing ${missing.join(", ")}; got ${top.join(", ")}`);
    }
    const rate = (EVAL_SET.length - failures.length) / EVAL_SET.length;
    console.log(`search eval: ${EVAL_SET.length - failures.length}/${EVAL_SET.length} = ${(rate * 100).toFixed(1)}%\n${failures.join("\n")}`);
    expect(rate, failures.join("\n")).toBeGreaterThanOrEqual(0.95);
  });
});
