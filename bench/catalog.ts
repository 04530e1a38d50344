/**
 * Catalog benchmark against the running dev stack (`npm run dev` in another terminal).
 * Drives /healthz (this machine's ceiling), the category tree, a product list page, product detail and ISBN
 * lookup at 1, 10 and 50 connections, warm (cache hits) and cold (every request a cache miss), and prints
 * req/s, p50/p95/p99, errors and each route's throughput as a share of /healthz at the same concurrency.
 *
 *   npm run bench:catalog [-- --duration 5 --connections 1,10,50 --origin http://127.0.0.1:8787]
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { loadStackConfig, pgUrl, projectRoot } from "../dev/config";
import { deleteKeys } from "../dev/redis-rest";
import { runLoad } from "./lib/load";
import type { LoadResult } from "./lib/load";
import { opt } from "./lib/args";

const cfg = loadStackConfig();
const origin = opt("origin", `http://127.0.0.1:${cfg.workerPort}`);
const durationMs = Number(opt("duration", "5")) * 1000;
const connectionLevels = opt("connections", "1,10,50").split(",").map(Number);

interface Row extends LoadResult {
  route: string;
  cache: "warm" | "cold" | "-";
  connections: number;
  ratio: number | null;
}

/** Empties the dev namespace of the cache so the next run starts cold. */
async function clearCache(): Promise<void> {
  await deleteKeys("dev:*");
}

async function get(p: string): Promise<void> {
  const res = await fetch(`${origin}${p}`);
  if (!res.ok) throw new Error(`${p} answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
}

async function main(): Promise<void> {
  const health = await fetch(`${origin}/healthz`).catch(() => null);
  if (!health?.ok) throw new Error(`no Worker at ${origin}: start it with \`npm run dev\` first`);

  const db = new pg.Client({ connectionString: pgUrl(cfg.pgPrimaryPort, cfg.devDatabase) });
  await db.connect();
  const slugs = (await db.query<{ slug: string; gtin: string | null }>("select slug, gtin from products where status = 'active' order by id")).rows;
  const categories = (await db.query<{ slug: string }>("select slug from categories order by id")).rows.map((r) => r.slug);
  await db.end();
  const isbns = slugs.map((s) => s.gtin).filter((g): g is string => g !== null);
  const hot = 500;

  const routes: { name: string; warm: (i: number) => string; cold?: (i: number) => string; coldKeys?: number }[] = [
    { name: "healthz (trivial)", warm: () => "/healthz" },
    { name: "category tree", warm: () => "/v1/categories" },
    {
      name: "product list",
      warm: (i) => `/v1/categories/${categories[i % categories.length]}/products?limit=24`,
      // A distinct price ceiling per request makes a distinct cache key: every request misses.
      cold: (i) => `/v1/categories/${categories[i % categories.length]}/products?limit=24&price_max=${100000 + i}`,
    },
    {
      name: "product detail",
      warm: (i) => `/v1/products/${slugs[i % hot]?.slug}`,
      cold: (i) => `/v1/products/${slugs[i % slugs.length]?.slug}`,
      coldKeys: slugs.length,
    },
    {
      name: "ISBN lookup",
      warm: (i) => `/v1/products/by-isbn/${isbns[i % hot]}`,
      cold: (i) => `/v1/products/by-isbn/${isbns[i % isbns.length]}`,
      coldKeys: isbns.length,
    },
  ];

  const rows: Row[] = [];
  const ceiling = new Map<number, number>();
  for (const connections of connectionLevels) {
    for (const r of routes) {
      // Warm: every key the run will touch is fetched once first.
      const warmKeys = r.name === "product list" ? categories.length : r.name.startsWith("healthz") || r.name === "category tree" ? 1 : hot;
      for (let i = 0; i < warmKeys; i++) await get(r.warm(i));
      const warm = await runLoad({ origin, connections, durationMs, path: r.warm });
      if (r.name.startsWith("healthz")) ceiling.set(connections, warm.rps);
      rows.push({ ...warm, route: r.name, cache: r.cold ? "warm" : "-", connections, ratio: null });
      process.stdout.write(`.`);
      if (r.cold) {
        await clearCache();
        const cold = await runLoad({ origin, connections, durationMs, path: r.cold, ...(r.coldKeys ? { maxRequests: r.coldKeys } : {}) });
        rows.push({ ...cold, route: r.name, cache: "cold", connections, ratio: null });
        process.stdout.write(`.`);
      }
    }
  }
  for (const row of rows) {
    const c = ceiling.get(row.connections);
    row.ratio = c ? row.rps / c : null;
  }
  process.stdout.write("\n");

  const f = (n: number): string => n.toFixed(1);
  const lines = [
    "| route | cache | conns | req/s | p50 ms | p95 ms | p99 ms | errors | vs /healthz |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(
      (r) =>
        `| ${r.route} | ${r.cache} | ${r.connections} | ${r.rps.toFixed(0)} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.p99)} | ${r.errors + r.non2xx} | ${r.ratio === null ? "-" : `${(r.ratio * 100).toFixed(0)}%`} |`,
    ),
  ];
  console.log(lines.join("\n"));

  const at10 = (route: string, cache: string) => rows.find((r) => r.route === route && r.cache === cache && r.connections === 10);
  const checks: [string, boolean][] = [];
  const trivial = rows.find((r) => r.route.startsWith("healthz") && r.connections === 10);
  for (const route of ["product detail", "product list"]) {
    const r = at10(route, "warm");
    if (!r) continue;
    checks.push([`${route} warm @10: ≥60% of /healthz throughput (${((r.ratio ?? 0) * 100).toFixed(0)}%)`, (r.ratio ?? 0) >= 0.6]);
    checks.push([`${route} warm @10: p99 ≤ 50 ms (${f(r.p99)}; /healthz itself: ${f(trivial?.p99 ?? 0)})`, r.p99 <= 50]);
  }
  const cold = at10("product list", "cold");
  if (cold) checks.push([`product list cold @10: p95 ≤ 60 ms (${f(cold.p95)})`, cold.p95 <= 60]);
  const errs = rows.reduce((n, r) => n + r.errors + r.non2xx, 0);
  checks.push([`zero errors (${errs})`, errs === 0]);
  console.log("\nTargets:");
  for (const [text, ok] of checks) console.log(`  ${ok ? "PASS" : "MISS"}  ${text}`);

  const outDir = path.join(projectRoot, "bench/results");
  await mkdir(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  await writeFile(path.join(outDir, `catalog-${stamp}.json`), JSON.stringify({ origin, durationMs, rows, checks }, null, 2));
  await writeFile(path.join(outDir, `catalog-${stamp}.md`), `${lines.join("\n")}\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
