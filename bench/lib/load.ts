/**
 * A closed-loop HTTP load generator: N connections, each sending its next request when the previous answer has
 * been read. Latencies are kept in full, so percentiles are exact rather than bucketed.
 */
import { Pool } from "undici";

export interface LoadOptions {
  origin: string;
  connections: number;
  durationMs: number;
  /** Path of the i-th request (lets a run rotate through many keys, or make every request unique). */
  path: (i: number) => string;
  headers?: Record<string, string>;
  /** Extra headers of the i-th request (e.g. a client address per simulated shopper, for per-IP limits). */
  headersFor?: (i: number) => Record<string, string>;
  /** Stop early after this many requests (cold runs must not repeat a key). */
  maxRequests?: number;
  /** What a latency is: the whole response (default) or the time to its status line and headers (TTFB). */
  measure?: "full" | "first-byte";
}

export interface LoadResult {
  requests: number;
  errors: number;
  non2xx: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
}

/** The q-th percentile (0..100) of sorted values, nearest-rank. */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1));
  return sorted[idx] as number;
}

/** Summarises latencies (ms) measured over `elapsedMs`. */
export function summarise(latencies: number[], elapsedMs: number, errors: number, statuses: Record<string, number>): LoadResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  const non2xx = Object.entries(statuses).filter(([s]) => !s.startsWith("2") && s !== "304").reduce((n, [, c]) => n + c, 0);
  return {
    requests: latencies.length,
    errors,
    non2xx,
    rps: latencies.length / (elapsedMs / 1000),
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? 0,
    statuses,
  };
}

/** Runs one load scenario and returns its figures. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(opts.origin, { connections: opts.connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + opts.durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const i = next++;
      if (opts.maxRequests !== undefined && i >= opts.maxRequests) return;
      const t0 = performance.now();
      try {
        const res = await pool.request({ path: opts.path(i), method: "GET", headers: { ...(opts.headers ?? {}), ...(opts.headersFor?.(i) ?? {}) } });
        const firstByte = performance.now() - t0;
        await res.body.dump();
        latencies.push(opts.measure === "first-byte" ? firstByte : performance.now() - t0);
        statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, () => worker()));
  const elapsed = performance.now() - started;
  await pool.close();
  return summarise(latencies, elapsed, errors, statuses);
}
