/**
 * Soak benchmark: mixed shopper traffic for a fixed time against a Worker this script starts itself (wrangler's
 * local dev server on the dev database, inspector on, Durable Object storage persisted on disk as `npm run dev` does), sampling the workerd process's RSS and the isolate's JS
 * heap (through the DevTools protocol) so a leak shows as a curve that keeps rising.
 *
 *   npm run bench:soak                       # 10 minutes, 8 connections
 *   npm run bench:soak -- --minutes 3 --connections 4 --snapshot /tmp/nb.heapsnapshot
 *
 * Needs the local services (`npm run stack:up` or `npm run dev`) and a seeded dev database (`npm run db:seed`).
 * The mix per connection loop: catalog list, product detail, search, suggest, and two adds to a guest cart — a new
 * cart (a new CartDO) one loop in `--new-cart-every` (default 10), else one of the carts already made.
 */
import { mkdtempSync, writeFileSync, createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { Pool } from "undici";
import WebSocket from "ws";
import { unstable_startWorker } from "wrangler";
import { loadStackConfig, pgUrl, projectRoot } from "../dev/config";
import { localWorkerVars } from "../dev/worker-env";
import { percentile } from "./lib/load";
import { opt } from "./lib/args";

const minutes = Number(opt("minutes", "10"));
const connections = Number(opt("connections", "8"));
const sampleSeconds = Number(opt("sample-seconds", "15"));
const snapshotPath = opt("snapshot", "");
/** One loop in N starts a new guest cart (a new CartDO); the others add to one of the carts already made. */
const newCartEvery = Number(opt("new-cart-every", "10"));
/** Seconds of sampling after the traffic stops, to see what an idle Worker gives back. */
const idleSeconds = Number(opt("idle-seconds", "60"));
const cfg = loadStackConfig();

/** A minimal DevTools-protocol client over the inspector's WebSocket. */
class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, (v: unknown) => void>();
  private chunkSink: ((chunk: string) => void) | null = null;
  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (raw: Buffer) => {
      if (process.env.SOAK_DEBUG) console.log("cdp <", raw.toString().slice(0, 120));
      const msg = JSON.parse(raw.toString()) as { id?: number; result?: unknown; method?: string; params?: { chunk?: string } };
      if (msg.id !== undefined) {
        this.pending.get(msg.id)?.(msg.result);
        this.pending.delete(msg.id);
      } else if (msg.method === "HeapProfiler.addHeapSnapshotChunk" && msg.params?.chunk) {
        this.chunkSink?.(msg.params.chunk);
      }
    });
  }

  static async connect(inspectorUrl: URL): Promise<Inspector> {
    const base = `http://${inspectorUrl.host}`;
    const targets = (await (await fetch(`${base}/json`)).json()) as { webSocketDebuggerUrl: string; title?: string }[];
    const target = targets.find((t) => !t.title?.includes("ProxyWorker")) ?? targets[0];
    if (!target) throw new Error(`no inspector target at ${base}/json`);
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new Inspector(ws);
  }

  /** Sends one protocol call; rejects after `timeoutMs` (some domains are not implemented by every runtime). */
  send<T>(method: string, params: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (v) => {
        clearTimeout(timer);
        resolve(v as T);
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async snapshot(file: string): Promise<void> {
    const out = createWriteStream(file);
    this.chunkSink = (chunk) => out.write(chunk);
    await this.send("HeapProfiler.enable");
    await this.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false }, 300_000);
    this.chunkSink = null;
    await new Promise<void>((resolve) => out.end(resolve));
  }

  close(): void {
    this.ws.close();
  }
}

/** Resident memory (MB) of every workerd process below this one. */
async function workerdRssMb(): Promise<number> {
  const out = execFileSync("ps", ["-eo", "pid=,ppid=,comm="], { encoding: "utf8" });
  const rows = out.trim().split("\n").map((l) => l.trim().split(/\s+/)) as [string, string, string][];
  const children = new Map<string, string[]>();
  for (const [pid, ppid] of rows) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const mine = new Set<string>();
  const stack = [String(process.pid)];
  while (stack.length > 0) {
    const p = stack.pop() as string;
    for (const c of children.get(p) ?? []) {
      if (mine.has(c)) continue;
      mine.add(c);
      stack.push(c);
    }
  }
  let kb = 0;
  for (const [pid, , comm] of rows) {
    if (!mine.has(pid) || !comm.startsWith("workerd")) continue;
    const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
    kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  return kb / 1024;
}

async function main(): Promise<void> {
  const db = new pg.Client({ connectionString: pgUrl(cfg.pgPrimaryPort, cfg.devDatabase) });
  await db.connect();
  const slugs = (await db.query<{ slug: string }>("select slug from products order by id limit 2000")).rows.map((r) => r.slug);
  const skus = (await db.query<{ sku: string }>("select sku from inventory where on_hand >= 20 order by sku limit 500")).rows.map((r) => r.sku);
  const words = (await db.query<{ word: string }>("select word from search_terms where length(word) between 4 and 9 order by weight desc limit 1500")).rows.map((r) => r.word);
  await db.end();
  if (slugs.length < 100 || skus.length < 50 || words.length < 100) throw new Error("seed the dev database first (npm run db:seed)");

  console.log(`soak: ${slugs.length} products, ${skus.length} SKUs, ${words.length} words; starting the Worker`);
  const vars = { ...localWorkerVars(cfg, cfg.devDatabase, "development"), LOG_LEVEL: "error", API_RATE_LIMIT_PER_MINUTE: "100000" };
  const envFile = path.join(mkdtempSync(path.join(tmpdir(), "nb-soak-")), ".dev.vars");
  writeFileSync(envFile, Object.entries(vars).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("\n"));
  const worker = await unstable_startWorker({
    config: path.join(projectRoot, "wrangler.toml"),
    envFiles: [envFile],
    dev: { inspector: { hostname: "127.0.0.1", port: 0 }, persist: path.dirname(envFile), watch: false, logLevel: "error", server: { hostname: "127.0.0.1", port: 0 } },
  });
  await worker.ready;
  const origin = String(await worker.url).replace(/\/$/, "");
  const inspectorUrl = await worker.inspectorUrl;
  if (!inspectorUrl) throw new Error("the dev server gave no inspector URL");
  // The inspector proxy attaches to the isolate on the first request; before that, protocol calls wait.
  await fetch(`${origin}/healthz`);
  console.log(`soak: Worker at ${origin}, inspector ${String(inspectorUrl)}`);
  const inspector = await Inspector.connect(inspectorUrl);
  // wrangler's inspector proxy forwards to the isolate once a request has run with a client attached.
  await fetch(`${origin}/healthz`);

  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  const request = async (method: "GET" | "POST", p: string, headers: Record<string, string> = {}, body?: string): Promise<string> => {
    const t0 = performance.now();
    try {
      const res = await pool.request({ method, path: p, headers: { "content-type": "application/json", ...headers }, body });
      const text = await res.body.text();
      latencies.push(performance.now() - t0);
      statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
      return text;
    } catch {
      errors++;
      return "";
    }
  };
  const pick = <T>(xs: T[], i: number): T => xs[i % xs.length] as T;
  const carts: string[] = [];

  const samples: { s: number; rssMb: number; heapMb: number; requests: number }[] = [];
  const sample = async (): Promise<void> => {
    // workerd does not answer HeapProfiler.collectGarbage, so this is the live heap, garbage included.
    const heap = await inspector.send<{ usedSize: number }>("Runtime.getHeapUsage", {}, 10_000);
    const s = { s: Math.round((performance.now() - started) / 1000), rssMb: await workerdRssMb(), heapMb: heap.usedSize / 1048576, requests: latencies.length };
    samples.push(s);
    console.log(`t=${String(s.s).padStart(4)} s  rss ${s.rssMb.toFixed(0).padStart(5)} MB  heap ${s.heapMb.toFixed(1).padStart(6)} MB  requests ${s.requests}`);
  };

  const started = performance.now();
  const deadline = started + minutes * 60_000;
  await sample();
  const sampler = setInterval(() => void sample(), sampleSeconds * 1000);
  let n = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        const i = n++;
        const ip = `10.9.${i % 250}.${Math.floor(i / 250) % 250}`;
        await request("GET", `/v1/products?limit=24&sort=${pick(["popularity", "price_asc", "rating", "newest"], i)}&price_max=${1000 + (i % 4000)}`, { "cf-connecting-ip": ip });
        await request("GET", `/v1/products/${pick(slugs, i * 7)}`, { "cf-connecting-ip": ip });
        await request("GET", `/v1/search?q=${encodeURIComponent(`${pick(words, i * 3)} ${pick(words, i * 5 + 1)}`)}`, { "cf-connecting-ip": ip });
        await request("GET", `/v1/search/suggest?q=${encodeURIComponent(pick(words, i * 11).slice(0, 3))}`, { "cf-connecting-ip": ip });
        let token = carts.length > 0 && i % newCartEvery !== 0 ? carts[i % carts.length] : undefined;
        if (!token) {
          const cart = await request("POST", "/v1/carts", { "cf-connecting-ip": ip });
          token = /"cart_token":"([^"]+)"/.exec(cart)?.[1];
          if (token) carts.push(token);
        }
        if (token) {
          for (const k of [0, 1]) {
            await request("POST", "/v1/cart/items", { "x-cart-token": token, "cf-connecting-ip": ip }, JSON.stringify({ sku: pick(skus, i * 13 + k), quantity: 1 }));
          }
        }
      }
    }),
  );
  const elapsed = performance.now() - started;
  // Idle tail: no traffic, sampling goes on (Durable Objects past their idle time can be evicted).
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  clearInterval(sampler);
  await sample();
  if (snapshotPath) {
    await inspector.snapshot(snapshotPath);
    console.log(`heap snapshot written to ${snapshotPath}`);
  }
  inspector.close();
  await pool.close();
  await worker.dispose();

  const sorted = [...latencies].sort((a, b) => a - b);
  const third = Math.max(1, Math.floor(samples.length / 3));
  const mid = samples.slice(third, 2 * third);
  const last = samples.slice(-third);
  const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  console.log(`\nsoak: ${minutes} min + ${idleSeconds} s idle, ${connections} connections, ${carts.length} carts (CartDOs), ${latencies.length} requests, ${(latencies.length / (elapsed / 1000)).toFixed(1)} req/s, errors ${errors}`);
  console.log(`latency ms: p50 ${percentile(sorted, 50).toFixed(1)}  p95 ${percentile(sorted, 95).toFixed(1)}  p99 ${percentile(sorted, 99).toFixed(1)}  statuses ${JSON.stringify(statuses)}`);
  console.log(
    `memory: rss ${samples[0]?.rssMb.toFixed(0)} → ${samples.at(-1)?.rssMb.toFixed(0)} MB (middle third avg ${avg(mid.map((s) => s.rssMb)).toFixed(0)}, last third avg ${avg(last.map((s) => s.rssMb)).toFixed(0)}); ` +
      `heap used ${samples[0]?.heapMb.toFixed(1)} → ${samples.at(-1)?.heapMb.toFixed(1)} MB (middle third avg ${avg(mid.map((s) => s.heapMb)).toFixed(1)}, last third avg ${avg(last.map((s) => s.heapMb)).toFixed(1)})`,
  );
  console.log("\n| t (s) | workerd RSS (MB) | JS heap used (MB) | requests |\n| ---: | ---: | ---: | ---: |");
  for (const s of samples) console.log(`| ${s.s} | ${s.rssMb.toFixed(0)} | ${s.heapMb.toFixed(1)} | ${s.requests} |`);
}

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
await main();
