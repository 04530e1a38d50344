/**
 * Checkout benchmark against the running dev stack (`npm run dev`):
 *  - add-to-cart latency and throughput at 10 and 50 connections (closed loop, 5 s each);
 *  - a flash sale: one SKU set to 100 units, 1,000 buyers with a cart each, all checkouts sent at once
 *    (100 connections): orders, 409s, oversell (must be 0), total time, checkout attempts/s;
 *  - one StockDO's serial reserve/release throughput.
 *
 *   npm run bench:checkout
 */
import { Pool } from "undici";
import pg from "pg";
import { loadStackConfig, pgUrl } from "../dev/config";
import { LOCAL_ADMIN_TOKEN } from "../dev/worker-env";
import { summarise } from "./lib/load";
import type { LoadResult } from "./lib/load";

const cfg = loadStackConfig();
const origin = `http://127.0.0.1:${cfg.workerPort}`;
const ADDRESS = { name: "Bench Buyer", line1: "1 Main St", city: "Springfield", region: "CA", postal_code: "90001", country: "US" };
const f = (n: number): string => n.toFixed(1);

async function api<T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${origin}${path}`, { ...init, headers: { "content-type": "application/json", ...(init.headers ?? {}) } });
  return { status: res.status, body: (await res.json()) as T };
}

async function newCart(): Promise<string> {
  const r = await api<{ data: { cart_token: string } }>("/v1/carts", { method: "POST" });
  if (r.status !== 201) throw new Error(`cart ${r.status}`);
  return r.body.data.cart_token;
}

/** Closed-loop POSTs: each connection sends its next request when the previous answer is read. */
async function postLoad(connections: number, durationMs: number, next: (i: number) => { path: string; headers: Record<string, string>; body: string }): Promise<LoadResult> {
  const pool = new Pool(origin, { connections, pipelining: 1 });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let n = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        const req = next(n++);
        const t0 = performance.now();
        try {
          const res = await pool.request({ path: req.path, method: "POST", headers: { "content-type": "application/json", ...req.headers }, body: req.body });
          await res.body.dump();
          latencies.push(performance.now() - t0);
          statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = performance.now() - started;
  await pool.close();
  return summarise(latencies, elapsed, errors, statuses);
}

async function main(): Promise<void> {
  if (!(await fetch(`${origin}/healthz`).catch(() => null))?.ok) throw new Error(`no Worker at ${origin}: start it with \`npm run dev\``);
  const db = new pg.Client({ connectionString: pgUrl(cfg.pgPrimaryPort, cfg.devDatabase) });
  await db.connect();
  const skus = (await db.query<{ sku: string }>("select sku from inventory where on_hand >= 50 and sku like '%-PB' order by sku limit 40 offset 100")).rows.map((r) => r.sku);
  const hot = (await db.query<{ sku: string }>("select sku from inventory where sku like '%-HC' order by random() limit 1")).rows[0]?.sku;
  await db.end();
  if (skus.length < 40 || !hot) throw new Error("seed the dev database first (npm run dev)");

  // Add-to-cart: 400 carts, 5 SKUs each, one unit per request (caps are 10 per line).
  const carts = await Promise.all(Array.from({ length: 400 }, () => newCart()));
  const rows: [string, LoadResult][] = [];
  for (const connections of [10, 50]) {
    const r = await postLoad(connections, 5000, (i) => {
      const cart = carts[i % carts.length] as string;
      const sku = skus[(Math.floor(i / carts.length) + (i % carts.length)) % 5 + ((i % carts.length) % 8) * 5] as string;
      return { path: "/v1/cart/items", headers: { "x-cart-token": cart, "cf-connecting-ip": `10.1.${i % 200}.${i % 250}` }, body: JSON.stringify({ sku, quantity: 1 }) };
    });
    rows.push([`add to cart, ${connections} connections`, r]);
  }

  // Flash sale: exactly 100 units on one SKU, 1,000 buyers.
  const admin = { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}` };
  const snap = await api<{ data: { on_hand: number; held: number } }>(`/v1/admin/inventory/${hot}`, { headers: admin });
  if (snap.body.data.held !== 0) throw new Error(`${hot} has holds; pick another`);
  if (snap.body.data.on_hand !== 100) {
    const adj = await api(`/v1/admin/inventory/${hot}/adjust`, { method: "POST", headers: { ...admin, "idempotency-key": `bench-${crypto.randomUUID()}` }, body: JSON.stringify({ delta: 100 - snap.body.data.on_hand, reason: "correction", note: "bench flash sale" }) });
    if (adj.status !== 200) throw new Error(`adjust ${adj.status} ${JSON.stringify(adj.body)}`);
  }
  const buyers: string[] = [];
  for (let i = 0; i < 1000; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const token = await newCart();
        const r = await api(`/v1/cart/items`, { method: "POST", headers: { "x-cart-token": token }, body: JSON.stringify({ sku: hot, quantity: 1 }) });
        if (r.status !== 200) throw new Error(`add ${r.status}`);
        return token;
      }),
    );
    buyers.push(...batch);
  }
  const pool = new Pool(origin, { connections: 100, pipelining: 1 });
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    buyers.map(async (token, i) => {
      const s = performance.now();
      const res = await pool.request({
        path: "/v1/checkout",
        method: "POST",
        headers: { "content-type": "application/json", "x-cart-token": token, "idempotency-key": `flash-${Date.now()}-${i}`, "cf-connecting-ip": `10.2.${i % 250}.${Math.floor(i / 250)}` },
        body: JSON.stringify({ email: `buyer${i}@example.com`, shipping_address: ADDRESS }),
      });
      await res.body.dump();
      latencies.push(performance.now() - s);
      statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
    }),
  );
  const totalMs = performance.now() - t0;
  await pool.close();
  const after = await api<{ data: { on_hand: number; held: number; available: number } }>(`/v1/admin/inventory/${hot}`, { headers: admin });
  const orders = statuses["201"] ?? 0;
  const flash = summarise(latencies, totalMs, 0, statuses);

  const stockBench = await api<{ data: { pairs: number; ms: number; ops_per_second: number } }>(`/dev/stock/${skus[0] ?? ""}/bench?n=2000`, { method: "POST" });

  console.log("\n| scenario | req/s | p50 ms | p95 ms | p99 ms | statuses |");
  console.log("| --- | ---: | ---: | ---: | ---: | --- |");
  for (const [name, r] of rows) console.log(`| ${name} | ${f(r.rps)} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.p99)} | ${JSON.stringify(r.statuses)}${r.errors ? ` errors ${r.errors}` : ""} |`);
  console.log(`| flash sale checkout, 1,000 buyers at once | ${f(flash.rps)} | ${f(flash.p50)} | ${f(flash.p95)} | ${f(flash.p99)} | ${JSON.stringify(statuses)} |`);
  console.log(`\nflash sale on ${hot}: ${orders} orders, ${statuses["409"] ?? 0} × 409, oversell ${Math.max(0, orders - 100)}, ${f(totalMs)} ms total, ${f(1000 / (totalMs / 1000))} checkout attempts/s; stock after: on_hand ${after.body.data.on_hand}, held ${after.body.data.held}, available ${after.body.data.available}`);
  console.log(`one StockDO, serial reserve+release: ${stockBench.body.data.pairs} pairs in ${stockBench.body.data.ms} ms = ${stockBench.body.data.ops_per_second} ops/s`);
}

await main();
