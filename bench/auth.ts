/**
 * Accounts benchmark against the running dev stack (`npm run dev`): the cost of one password hash, login latency,
 * and what authentication adds to a catalog read (anonymous vs bearer token, warm cache, 10 connections).
 *
 *   npm run bench:auth
 */
import { loadStackConfig } from "../dev/config";
import { hashPassword, verifyPassword } from "../workers/accounts/password";
import { percentile, runLoad } from "./lib/load";

const cfg = loadStackConfig();
const origin = `http://127.0.0.1:${cfg.workerPort}`;
const PASSWORD = "vK9#qL2$wX7!zR4p-tomes";
const f = (n: number): string => n.toFixed(1);

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${origin}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

async function main(): Promise<void> {
  if (!(await fetch(`${origin}/healthz`).catch(() => null))?.ok) throw new Error(`no Worker at ${origin}: start it with \`npm run dev\``);

  const hashTimes: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    const h = await hashPassword(PASSWORD);
    hashTimes.push(performance.now() - t0);
    if (!(await verifyPassword(PASSWORD, h)).ok) throw new Error("verify failed");
  }
  hashTimes.sort((a, b) => a - b);

  // Login latency: 5 accounts x 8 logins, sequential, within the per-account (10 / 15 min) and per-IP limits.
  const run = Date.now().toString(36);
  const emails = Array.from({ length: 5 }, (_, i) => `bench-${run}-${i}@example.com`);
  for (const email of emails) {
    const res = await post("/v1/auth/signup", { email, password: PASSWORD });
    // Sign-up answers 202 without a session (the same for taken addresses); the logins below sign in.
    if (res.status !== 202) throw new Error(`signup ${res.status}: ${await res.text()}`);
  }
  const loginTimes: number[] = [];
  let token = "";
  for (let round = 0; round < 8; round++) {
    for (const email of emails) {
      const t0 = performance.now();
      const res = await post("/v1/auth/login", { email, password: PASSWORD });
      loginTimes.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`login ${res.status}: ${await res.text()}`);
      token = ((await res.json()) as { data: { access_token: string } }).data.access_token;
    }
  }
  loginTimes.sort((a, b) => a - b);

  const path = "/v1/products/the-hunger-games";
  await fetch(`${origin}${path}`);
  const anon = await runLoad({ origin, connections: 10, durationMs: 6000, path: () => path });
  const authed = await runLoad({ origin, connections: 10, durationMs: 6000, path: () => path, headers: { authorization: `Bearer ${token}` } });
  const anon1 = await runLoad({ origin, connections: 1, durationMs: 4000, path: () => path });
  const authed1 = await runLoad({ origin, connections: 1, durationMs: 4000, path: () => path, headers: { authorization: `Bearer ${token}` } });

  console.log(`| measure | p50 ms | p95 ms | other |
| --- | ---: | ---: | --- |
| PBKDF2-SHA256 100k hash (Node, this machine) | ${f(percentile(hashTimes, 50))} | ${f(percentile(hashTimes, 95))} | 10 samples |
| login (HTTP, sequential) | ${f(percentile(loginTimes, 50))} | ${f(percentile(loginTimes, 95))} | ${loginTimes.length} logins |
| product detail, anonymous, 1 conn | ${f(anon1.p50)} | ${f(anon1.p95)} | ${anon1.rps.toFixed(0)} req/s |
| product detail, bearer token, 1 conn | ${f(authed1.p50)} | ${f(authed1.p95)} | ${authed1.rps.toFixed(0)} req/s, +${f(authed1.p50 - anon1.p50)} ms p50 |
| product detail, anonymous, 10 conns | ${f(anon.p50)} | ${f(anon.p95)} | ${anon.rps.toFixed(0)} req/s |
| product detail, bearer token, 10 conns | ${f(authed.p50)} | ${f(authed.p95)} | ${authed.rps.toFixed(0)} req/s, +${f(authed.p50 - anon.p50)} ms p50 |`);
  const errors = anon.errors + anon.non2xx + authed.errors + authed.non2xx + anon1.errors + anon1.non2xx + authed1.errors + authed1.non2xx;
  console.log(`errors: ${errors}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
