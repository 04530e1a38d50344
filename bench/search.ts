/**
 * Search benchmark against the running dev stack (`npm run dev`, 10k seed, Postgres engine).
 * A mix of distinct queries (exact titles, typos, prefixes, author queries with facets, filtered browsing) at 10
 * connections, uncached (every request a distinct cache key) and cached (a warmed set of 200 queries), next to
 * /healthz; then the freshness of the index: time from a committed price change (staff API) to the new price
 * in search results, through outbox → search-index queue → consumer.
 *
 *   npm run bench:search [-- --duration 5 --connections 10 --changes 20 --origin http://127.0.0.1:8787]
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { loadStackConfig, pgUrl, projectRoot } from "../dev/config";
import { LOCAL_ADMIN_TOKEN } from "../dev/worker-env";
import { deleteKeys } from "../dev/redis-rest";
import { percentile, runLoad } from "./lib/load";
import type { LoadResult } from "./lib/load";
import { opt } from "./lib/args";

const cfg = loadStackConfig();
const origin = opt("origin", `http://127.0.0.1:${cfg.workerPort}`);
const durationMs = Number(opt("duration", "5")) * 1000;
const connections = Number(opt("connections", "10"));
const changes = Number(opt("changes", "20"));
/**
 * Search is limited per client address (60 searches, 120 suggests per 10 s): the load stands for many shoppers, so
 * each request comes from its own TEST-NET address (wrangler dev keeps a CF-Connecting-IP the client sends).
 */
const shopper = (i: number): Record<string, string> => ({ "cf-connecting-ip": `198.18.${Math.floor(i / 250) % 250}.${(i % 250) + 1}` });

/** A deterministic typo: two neighbouring letters of the longest word swapped. */
function typo(title: string): string {
  const words = title.split(" ");
  let at = 0;
  words.forEach((w, i) => {
    if (w.length > (words[at] ?? "").length) at = i;
  });
  const w = words[at] ?? "";
  if (w.length >= 4) words[at] = `${w.slice(0, 1)}${w[2] ?? ""}${w[1] ?? ""}${w.slice(3)}`;
  return words.join(" ");
}

function queryMix(books: { name: string; author: string; isbn: string | null }[]): string[] {
  const out: string[] = [];
  books.forEach((b, i) => {
    const title = b.name.replace(/[^\p{L}\p{N} ]/gu, " ").replace(/\s+/g, " ").trim();
    const words = title.split(" ");
    switch (i % 5) {
      case 0:
        out.push(`q=${encodeURIComponent(title)}`);
        break;
      case 1:
        out.push(`q=${encodeURIComponent(typo(title))}`);
        break;
      case 2:
        out.push(`q=${encodeURIComponent(`${words.slice(0, Math.max(1, words.length - 1)).join(" ")} ${(words[words.length - 1] ?? "").slice(0, 3)}`.trim())}`);
        break;
      case 3:
        out.push(`q=${encodeURIComponent(b.author.split(" ").slice(-1)[0] ?? b.author)}&facets=format,category,language`);
        break;
      default:
        out.push(`q=${encodeURIComponent(words[0] ?? title)}&in_stock=true&sort=price_asc&facets=format`);
    }
  });
  return out;
}

async function clearSearchCache(): Promise<void> {
  const ns = `dev${cfg.cacheNamespaceSuffix}`;
  await deleteKeys(`${ns}:search*`);
}

let shopperCount = 0;

async function getJson<T>(p: string): Promise<T> {
  const res = await fetch(`${origin}${p}`, { headers: shopper(50_000 + shopperCount++) });
  if (!res.ok) throw new Error(`${p} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

interface Hit {
  slug: string;
  variants: { sku: string; price: number }[];
}

/** Price change → visible in search, `n` times; returns the delays in ms. */
async function freshness(db: pg.Client, n: number): Promise<number[]> {
  const rows = (
    await db.query<{ sku: string; isbn: string; price: number }>(
      `select v.sku, p.gtin as isbn, coalesce(v.price_override, p.base_price) as price from variants v join products p on p.id = v.product_id
       where p.gtin is not null and v.status = 'active' order by p.id limit $1 offset 200`,
      [n],
    )
  ).rows;
  const delays: number[] = [];
  for (const r of rows) {
    const price = r.price + 1;
    const res = await fetch(`${origin}/v1/admin/variants/${r.sku}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ price_override: price }),
    });
    if (!res.ok) throw new Error(`PATCH ${r.sku}: ${res.status} ${await res.text()}`);
    const committed = performance.now();
    for (;;) {
      const body = await getJson<{ data: Hit[] }>(`/v1/search?q=${r.isbn}`);
      if (body.data[0]?.variants.find((v) => v.sku === r.sku)?.price === price) break;
      if (performance.now() - committed > 30_000) throw new Error(`price of ${r.sku} not in search after 30 s`);
      await new Promise((done) => setTimeout(done, 20));
    }
    delays.push(performance.now() - committed);
    process.stdout.write(".");
  }
  return delays;
}

async function main(): Promise<void> {
  const health = await fetch(`${origin}/healthz`).catch(() => null);
  if (!health?.ok) throw new Error(`no Worker at ${origin}: start it with \`npm run dev\` first`);
  const db = new pg.Client({ connectionString: pgUrl(cfg.pgPrimaryPort, cfg.devDatabase) });
  await db.connect();
  const books = (
    await db.query<{ name: string; author: string; isbn: string | null }>(
      `select p.name, coalesce(a.name, '') as author, p.gtin as isbn from products p
       left join lateral (select au.name from product_authors pa join authors au on au.id = pa.author_id where pa.product_id = p.id order by pa.position limit 1) a on true
       where p.status = 'active' order by p.id`,
    )
  ).rows;
  // Distinct queries only: a repeated one (many titles start with "The") would be a cache hit in the uncached run.
  const mix = [...new Set(queryMix(books))];
  const hot = mix.slice(0, 200);

  const rows: (LoadResult & { scenario: string })[] = [];
  rows.push({ scenario: "healthz (trivial)", ...(await runLoad({ origin, connections, durationMs, path: () => "/healthz" })) });
  // The floor under any uncached read: one `select 1` on the replica over the same SQL-over-HTTP path.
  rows.push({ scenario: "one replica round trip (select 1; /dev/db/ping)", ...(await runLoad({ origin, connections, durationMs, path: () => "/dev/db/ping" })) });
  await clearSearchCache();
  // Uncached: every request is a query not asked before in this run (distinct key), over the whole catalog.
  // A price ceiling above every price, different in each run: the results are unchanged, but no key can have been
  // seen by an earlier run (the isolate's doorkeeper would send a second sight through Redis).
  const unseen = `price_max=${90_000_000 + Math.floor(Math.random() * 9_000_000)}`;
  rows.push({ scenario: "search, uncached", ...(await runLoad({ origin, connections, durationMs, headersFor: shopper, path: (i) => `/v1/search?${mix[i % mix.length]}&limit=${10 + (Math.floor(i / mix.length) % 10)}&${unseen}`, maxRequests: mix.length * 10 })) });
  // A query is cached on its second sight in an isolate (workers/search/doorkeeper.ts): warm each hot one twice.
  for (const q of hot) for (let n = 0; n < 2; n++) await getJson(`/v1/search?${q}`);
  rows.push({ scenario: "search, cached (200 hot queries)", ...(await runLoad({ origin, connections, durationMs, headersFor: shopper, path: (i) => `/v1/search?${hot[i % hot.length]}` })) });
  await clearSearchCache();
  // Distinct prefixes (3 to 7 letters of titles), each asked once; a second run in the same Worker sees them again.
  const prefixes = [...new Set(books.map((b, i) => b.name.slice(0, 3 + (i % 5))))];
  rows.push({ scenario: "suggest, uncached", ...(await runLoad({ origin, connections, durationMs, headersFor: shopper, path: (i) => `/v1/search/suggest?q=${encodeURIComponent(prefixes[i % prefixes.length] ?? "a")}`, maxRequests: prefixes.length })) });
  const ceiling = rows[0]?.rps ?? 1;

  process.stdout.write("freshness ");
  const delays = (await freshness(db, changes)).sort((a, b) => a - b);
  process.stdout.write("\n");
  await db.end();

  const f = (n: number): string => n.toFixed(1);
  const lines = [
    `| scenario | conns | req/s | p50 ms | p95 ms | p99 ms | errors | vs /healthz |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...rows.map((r) => `| ${r.scenario} | ${connections} | ${r.rps.toFixed(0)} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.p99)} | ${r.errors + r.non2xx} | ${((r.rps / ceiling) * 100).toFixed(0)}% |`),
    "",
    `| freshness (price change committed → visible in /v1/search) | changes | p50 ms | p95 ms | max ms |`,
    `| --- | ---: | ---: | ---: | ---: |`,
    `| outbox → search-index queue → consumer → Postgres engine | ${delays.length} | ${f(percentile(delays, 50))} | ${f(percentile(delays, 95))} | ${f(delays[delays.length - 1] ?? 0)} |`,
  ];
  console.log(lines.join("\n"));
  const uncached = rows.find((r) => r.scenario === "search, uncached");
  const checks: [string, boolean][] = [
    [`uncached search p95 ≤ 50 ms (${f(uncached?.p95 ?? 0)})`, (uncached?.p95 ?? Infinity) <= 50],
    [`uncached search ≥ 40% of /healthz req/s (${(((uncached?.rps ?? 0) / ceiling) * 100).toFixed(0)}%)`, (uncached?.rps ?? 0) / ceiling >= 0.4],
    [`freshness p95 ≤ 2 s (${f(percentile(delays, 95))} ms)`, percentile(delays, 95) <= 2000],
  ];
  console.log("\nTargets:");
  for (const [text, ok] of checks) console.log(`  ${ok ? "PASS" : "MISS"}  ${text}`);
  const outDir = path.join(projectRoot, "bench/results");
  await mkdir(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  await writeFile(path.join(outDir, `search-${stamp}.md`), `${lines.join("\n")}\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
