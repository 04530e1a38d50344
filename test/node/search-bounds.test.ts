/**
 * Bounded work per search query (issue 10): hostile queries of long gibberish words must cost about what an honest
 * query costs. The Postgres engine on the --small seed, straight on the primary of the test database.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
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

const tsquery = async (q: string): Promise<string> => {
  const res = await pool.query<{ t: string | null }>("select search_tsquery($1, true)::text as t", [q]);
  return res.rows[0]?.t ?? "";
};

/** Groups of the tsquery ("(a | b) & (c)"): how many words got typo alternatives. */
const corrected = (t: string): number => t.split(" & ").filter((g) => g.includes("|")).length;

function gibberish(words: number, letters: number): string {
  const word = (): string => Array.from({ length: letters }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join("");
  return Array.from({ length: words }, word).join(" ");
}

describe("search_tsquery bounds", () => {
  it("considers at most 10 words of at most 32 characters", async () => {
    const t = await tsquery(`${Array.from({ length: 14 }, (_, i) => `w${i}`).join(" ")} ${"x".repeat(60)}`);
    expect(t).toContain("'w9'");
    expect(t).not.toContain("'w10'");
    const long = await tsquery("y".repeat(60));
    expect(long).toBe(`'${"y".repeat(32)}':*`);
  });

  it("runs the trigram fallback (a dictionary scan) for one word a query, not for every unknown word", async () => {
    // Each of these has two typos: no shared one-letter deletion, so only the trigram scan finds the intended word.
    expect(corrected(await tsquery("hobbbitt"))).toBe(1);
    expect(corrected(await tsquery("chemestri"))).toBe(1);
    expect(corrected(await tsquery("hobbbitt chemestri pottrre wizzzardd"))).toBe(1);
  });

  it("still corrects ordinary typos (one-letter deletions cost an index probe, not a scan)", async () => {
    const t = await tsquery("tolkein hobit");
    expect(t).toContain("'tolkien'");
    expect(t).toContain("'hobbit'");
  });
});

describe("cost of gibberish queries", () => {
  it("12 words of 30 random letters cost about an honest query, not a dictionary scan per word", async () => {
    // Past the API's 200-character cap on purpose: the engine must bound its own work.
    const req = (q: string) => ({ ...toSearchRequest(searchQuerySchema.parse({ q: "warm up" })), q, intent: undefined });
    await engine.search(req("warm up"));
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      const result = await engine.search(req(gibberish(12, 30)));
      times.push(performance.now() - t);
      expect(result.found).toBe(0);
    }
    times.sort((a, b) => a - b);
    const median = times[3] ?? Infinity;
    console.log(`gibberish 12×30 median ${median.toFixed(1)} ms (${times.map((t) => t.toFixed(0)).join(", ")})`);
    // Unbounded, this was ~165 ms on the --small seed (~1.2 s on the full catalog); bounded, ~10 ms.
    expect(median).toBeLessThan(60);
  });
});
