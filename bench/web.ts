/**
 * Storefront pages against the running dev stack (`npm run dev`, 10k seed): time to first byte of the home,
 * category, search and book pages, warm (a small hot set, served from the caches after its first sight) and cold
 * (every request a page not asked before in this run), next to the JSON routes that read the same data.
 *
 *   npm run bench:web [-- --duration 5 --connections 10 --origin http://127.0.0.1:8787]
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { loadStackConfig, pgUrl, projectRoot } from "../dev/config";
import { runLoad } from "./lib/load";
import type { LoadResult } from "./lib/load";
import { opt } from "./lib/args";

const cfg = loadStackConfig();
const origin = opt("origin", `http://127.0.0.1:${cfg.workerPort}`);
const durationMs = Number(opt("duration", "5")) * 1000;
const connections = Number(opt("connections", "10"));
/** Searches are limited per client address: each request comes from its own TEST-NET address (see bench/search.ts). */
const shopper = (i: number): Record<string, string> => ({ "cf-connecting-ip": `198.19.${Math.floor(i / 250) % 250}.${(i % 250) + 1}` });

async function main(): Promise<void> {
  const health = await fetch(`${origin}/healthz`).catch(() => null);
  if (!health?.ok) throw new Error(`no Worker at ${origin}: start it with \`npm run dev\` first`);
  const db = new pg.Client({ connectionString: pgUrl(cfg.pgPrimaryPort, cfg.devDatabase) });
  await db.connect();
  const slugs = (await db.query<{ slug: string }>("select slug from products where status = 'active' order by popularity desc, id")).rows.map((r) => r.slug);
  const categories = (await db.query<{ slug: string }>("select slug from categories order by position")).rows.map((r) => r.slug);
  const words = (await db.query<{ w: string }>("select distinct split_part(lower(name), ' ', 1) as w from products where length(split_part(name, ' ', 1)) >= 4 order by 1")).rows.map((r) => r.w);
  await db.end();
  // Distinct per run: a price ceiling no earlier run used keeps cold keys cold across runs.
  const unseen = 90_000_000 + Math.floor(Math.random() * 9_000_000);
  const hot = slugs.slice(0, 20);
  const run = (p: (i: number) => string, maxRequests?: number): Promise<LoadResult> =>
    runLoad({ origin, connections, durationMs, headersFor: shopper, path: p, measure: "first-byte", ...(maxRequests === undefined ? {} : { maxRequests }) });
  const warm = async (p: (i: number) => string, n: number): Promise<void> => {
    for (let i = 0; i < n; i++) for (let k = 0; k < 2; k++) await fetch(`${origin}${p(i)}`, { headers: shopper(i) });
  };

  const rows: [string, LoadResult][] = [];
  rows.push(["healthz (trivial)", await run(() => "/healthz")]);
  await warm(() => "/", 1);
  rows.push(["home `/`, warm", await run(() => "/")]);
  rows.push(["  JSON: `/v1/products?limit=24`, warm", await run(() => "/v1/products?limit=24")]);
  await warm((i) => `/category/${categories[i % categories.length] ?? "books"}`, categories.length);
  rows.push(["category page, warm (every category)", await run((i) => `/category/${categories[i % categories.length] ?? "books"}`)]);
  rows.push(["category page, cold (distinct price ceilings)", await run((i) => `/category/${categories[i % categories.length] ?? "books"}?price_max=${unseen + i}`, 5000)]);
  await warm((i) => `/search?q=${encodeURIComponent(words[i] ?? "the")}`, 20);
  rows.push(["search page, warm (20 hot queries)", await run((i) => `/search?q=${encodeURIComponent(words[i % 20] ?? "the")}`)]);
  rows.push(["search page, cold (distinct queries)", await run((i) => `/search?q=${encodeURIComponent(words[i % words.length] ?? "the")}&price_max=${unseen + i}`, words.length)]);
  rows.push(["  JSON: `/v1/search`, cold (distinct queries)", await run((i) => `/v1/search?q=${encodeURIComponent(words[i % words.length] ?? "the")}&price_max=${unseen + 50_000 + i}`, words.length)]);
  await warm((i) => `/books/${hot[i] ?? ""}`, hot.length);
  rows.push(["book page, warm (20 hot books)", await run((i) => `/books/${hot[i % hot.length] ?? ""}`)]);
  rows.push(["book page, cold (each book once)", await run((i) => `/books/${slugs[hot.length + i] ?? slugs[0] ?? ""}`, slugs.length - hot.length)]);
  rows.push(["  JSON: `/v1/products/{slug}`, cold", await run((i) => `/v1/products/${slugs[slugs.length - 1 - i] ?? ""}`, slugs.length - hot.length)]);

  const f = (n: number): string => n.toFixed(1);
  const lines = [
    `| page (${connections} connections, time to first byte) | req/s | p50 ms | p95 ms | p99 ms | errors |`,
    `| --- | ---: | ---: | ---: | ---: | ---: |`,
    ...rows.map(([name, r]) => `| ${name} | ${r.rps.toFixed(0)} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.p99)} | ${r.errors + r.non2xx} |`),
  ];
  console.log(lines.join("\n"));
  const outDir = path.join(projectRoot, "bench/results");
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, `web-${new Date().toISOString().replace(/[:.]/g, "-")}.md`), `${lines.join("\n")}\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
