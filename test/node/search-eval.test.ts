/**
 * The relevance evaluation in the suite: a deterministic stratified sample of the generated `small` universe's test
 * half (tools/search-eval-set.ts, every class), run straight through the Postgres engine on the test database (the
 * --small seed), held to the targets. The whole set runs against the HTTP API with `npm run search:eval`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { openPostgresEngine } from "./search-support";
import type { PostgresSearchEngine } from "../../workers/search/postgres-engine";
import { toSearchRequest } from "../../workers/search/request";
import { searchQuerySchema } from "../../workers/search/schemas";
import { buildEvalSet, EVAL_CLASSES, markdownTable, readEvalData, scoreCase, stratifiedSample, summarise, TARGET_CLASS, TARGET_OVERALL } from "../../tools/search-eval-set";
import type { CaseScore, EvalClass } from "../../tools/search-eval-set";

/** Cases per class: 10 classes × 8 = 80 queries, a few seconds on the test database. */
const PER_CLASS = 8;

const data = readEvalData();
const titles = new Map(data.books.map((b) => [b.id, b.title]));
const cases = stratifiedSample(
  buildEvalSet(data, "small").filter((c) => c.half === "test"),
  PER_CLASS,
);

let pool: pg.Pool;
let engine: PostgresSearchEngine;

beforeAll(async () => {
  ({ pool, engine } = await openPostgresEngine());
});
afterAll(async () => {
  await pool.end();
});

describe("relevance evaluation (Postgres engine, --small seed, generated test half)", () => {
  it("samples every class", () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
    expect(new Set(cases.map((c) => c.class))).toEqual(new Set(EVAL_CLASSES));
  });

  it(`finds every expected book in the top 5 for ≥ ${TARGET_OVERALL * 100}% of the queries and ≥ ${TARGET_CLASS * 100}% in every class`, async () => {
    const scored: { class: EvalClass; score: CaseScore }[] = [];
    const failures: string[] = [];
    for (const c of cases) {
      const { hits } = await engine.search(toSearchRequest(searchQuerySchema.parse({ q: c.q, limit: "10" })));
      const got = hits.map((h) => h.product_id);
      const score = scoreCase(c.expect, got);
      scored.push({ class: c.class, score });
      if (!score.all5) {
        const missing = c.expect.filter((id) => !got.slice(0, 5).includes(id)).map((id) => titles.get(id) ?? `#${id}`);
        failures.push(`[${c.class}] "${c.q}": missing ${missing.join("; ")}; got ${hits.slice(0, 5).map((h) => h.name).join("; ")}`);
      }
    }
    const rows = summarise(scored);
    const report = `${markdownTable(rows)}\n${failures.join("\n")}`;
    console.log(`search eval (${cases.length} queries):\n${report}`);
    const overall = rows[rows.length - 1];
    expect(overall?.all5, report).toBeGreaterThanOrEqual(TARGET_OVERALL);
    for (const r of rows.slice(0, -1)) expect(r.all5, `${r.class}\n${report}`).toBeGreaterThanOrEqual(TARGET_CLASS);
  });
});
