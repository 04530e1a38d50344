/** Helpers for tests inside workerd: call the real Worker with real bindings, and talk to Postgres directly. */
import { env, createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { Pool, neonConfig } from "@neondatabase/serverless";
import worker from "../../workers/index";
import { resetCacheHealth } from "../../workers/platform/cache";
import { resetDbHealth } from "../../workers/platform/db";
import { DEPLOYED_SHAPE_UPSTASH_TOKEN } from "../../dev/deployed-shape";
import { checkResponse } from "./conformance";

interface TestStack {
  wsProxyPort: number;
  bouncerPrimaryPort: number;
  bouncerReplicaPort: number;
  database: string;
}

export const stack = JSON.parse((env as unknown as { TEST_STACK: string }).TEST_STACK) as TestStack;
export const ADMIN_TOKEN = env.ADMIN_API_TOKEN;

/** A port nothing listens on: pointing a dependency at it is a real "connection refused". */
export const DEAD_PORT = 1;

/**
 * Calls the Worker's fetch handler with the test bindings (plus overrides) and waits for its waitUntil work. The
 * response is checked against the OpenAPI document (test/worker/conformance.ts): an undocumented status, field or
 * error code fails the calling test.
 */
export async function call(path: string, init: RequestInit = {}, overrides: Partial<Record<keyof Env, string>> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(`http://nexusbooks.test${path}`, init);
  const res = await worker.fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return checkResponse({ method: request.method, url: request.url, headers: request.headers, environment: overrides.ENVIRONMENT ?? env.ENVIRONMENT }, res);
}

/** Reads a JSON body with a type the test asserts. */
export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json());
}

export interface ErrorBody {
  error: { code: string; message: string; details: unknown; request_id: string };
}

/** Runs SQL on the primary or the replica, through the same WebSocket proxy and PgBouncer as the Worker. */
export async function sql<T = Record<string, unknown>>(target: "primary" | "replica", text: string, params: unknown[] = []): Promise<T[]> {
  neonConfig.wsProxy = (host, port) => `127.0.0.1:${stack.wsProxyPort}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  const port = target === "primary" ? stack.bouncerPrimaryPort : stack.bouncerReplicaPort;
  const pool = new Pool({ connectionString: `postgres://postgres@127.0.0.1:${port}/${stack.database}`, max: 1 });
  // An idle connection dropped when the test request ends must not surface as an uncaught error.
  pool.on("error", () => undefined);
  try {
    const res = await pool.query(text, params);
    return res.rows as T[];
  } finally {
    await pool.end();
  }
}

/** Waits until the replica has replayed everything the primary has committed so far. */
export async function replicaCaughtUp(timeoutMs = 10_000): Promise<void> {
  const [{ lsn }] = (await sql<{ lsn: string }>("primary", "select pg_current_wal_lsn()::text as lsn")) as [{ lsn: string }];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [row] = await sql<{ ok: boolean }>("replica", "select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok", [lsn]);
    if (row?.ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("replica did not catch up");
}

/** Changes a variant through the staff API (the service path that bumps versions and invalidates caches). */
export function patchVariant(sku: string, body: unknown, cookie?: string): Promise<Response> {
  return call(`/v1/admin/variants/${sku}`, {
    method: "PATCH",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}`, ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
}

/** Clears isolate-level circuit breakers so one fault scenario does not leak into the next. */
export function resetHealth(): void {
  resetCacheHealth();
  resetDbHealth();
}

/** Sends one command to Redis through the Upstash REST proxy (plain JSON, no base64). */
export async function redis<T = unknown>(...command: (string | number)[]): Promise<T> {
  const res = await fetch(env.UPSTASH_REDIS_REST_URL, {
    method: "POST",
    headers: { authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(command),
  });
  const body = await res.json<{ result?: T; error?: string }>();
  if (!res.ok || body.error) throw new Error(`redis ${String(command[0])}: ${body.error ?? res.status}`);
  return body.result as T;
}

/** Deletes this environment's cache keys matching a pattern (after the namespace). */
export async function clearCache(pattern = "*"): Promise<void> {
  const keys = await redis<string[]>("KEYS", `${env.CACHE_NAMESPACE}:${pattern}`);
  for (const k of keys) await redis("DEL", k);
}

/** The value of the read-your-writes cookie a response set, ready for a Cookie header. */
export function rywCookie(res: Response): string {
  const m = /nb_ryw=[^;]+/.exec(res.headers.get("set-cookie") ?? "");
  if (!m) throw new Error("no read-your-writes cookie on the response");
  return m[0];
}

let ipCounter = 0;

/** A distinct client address per call (TEST-NET ranges), so per-IP limits do not couple unrelated tests. */
export function nextIp(): string {
  const n = ipCounter++;
  return `198.18.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
}

/** POSTs JSON from a fresh client address, optionally with a bearer token, headers and env overrides. */
export function postJson(
  path: string,
  body: unknown,
  opts: { token?: string | undefined; headers?: Record<string, string>; overrides?: Partial<Record<keyof Env, string>> } = {},
): Promise<Response> {
  return call(
    path,
    {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "cf-connecting-ip": nextIp(),
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.headers ?? {}),
      },
      body: JSON.stringify(body),
    },
    opts.overrides ?? {},
  );
}

const randomB64url = (bytes: number): string =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes)))).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

/**
 * Overrides that make the test bindings a deployed environment (staging/production refuse the local example secrets):
 * fresh secrets, so only what needs no Stripe or existing tokens works under them.
 */
export function deployedEnv(environment: "staging" | "production"): Partial<Record<keyof Env, string>> {
  return {
    ENVIRONMENT: environment,
    ADMIN_API_TOKEN: randomB64url(32),
    COOKIE_SECRET: randomB64url(32),
    JWT_KEYS: `k9:${randomB64url(32)}`,
    PII_KEYS: `p9:${randomB64url(32)}`,
    STRIPE_SECRET_KEY: `sk_test_${randomB64url(18).replace(/[-_]/g, "x")}`,
    STRIPE_WEBHOOK_SECRET: `whsec_${randomB64url(24).replace(/[-_]/g, "x")}`,
    // Accepted by the local Upstash proxy as well as the local token (dev/worker-env.ts).
    UPSTASH_REDIS_REST_TOKEN: DEPLOYED_SHAPE_UPSTASH_TOKEN,
    ...(environment === "production" ? { STRIPE_API_BASE: "", NEON_LOCAL_PROXY: "" } : {}),
  };
}

/** Polls `fn` until `ok` holds (every 200 ms), or throws after `timeoutMs` naming `what` and the last value. */
export async function waitFor<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await fn();
  }
  return last;
}

/** One message of the dev mailbox (`GET /dev/mailbox?to=`). */
export interface Mail {
  to: string;
  subject: string;
  html: string;
  text: string;
}

/** Waits for the dev mailbox to hold a message with `subject` for `to`. */
export async function waitForMail(to: string, subject: string, timeoutMs = 20_000): Promise<Mail> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { data } = await json<{ data: Mail[] }>(await call(`/dev/mailbox?to=${encodeURIComponent(to)}`));
    const mail = data.find((m) => m.subject === subject);
    if (mail) return mail;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no "${subject}" email for ${to}`);
}
