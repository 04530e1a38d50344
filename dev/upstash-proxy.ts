/**
 * Local stand-in for Upstash Redis's REST API, in front of a plain Redis 7.
 *
 * It speaks exactly what `@upstash/redis` 1.39 sends and decodes (see node_modules/@upstash/redis, HttpClient and
 * decode()): POST with a JSON array body and `Authorization: Bearer <token>`, `/` for one command, `/pipeline` and
 * `/multi-exec` for batches, `/subscribe/<channel>` and `/psubscribe/<pattern>` as server-sent events, and the
 * Upstash path form (`/set/key/value`, body appended as the last argument) for curl.
 *
 * Run directly: `tsx dev/upstash-proxy.ts --port 8079 --token T [--host H] [--redis-host H] [--redis-port P]`.
 */
import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash, timingSafeEqual } from "node:crypto";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { RedisConnectionError, RespClient, isErrorReply, isStatusReply, openSubscriber } from "./resp";
import type { Reply, Subscription } from "./resp";

/** Options for {@link startUpstashProxy}. */
export interface UpstashProxyOptions {
  /** Port to listen on; 0 picks a free one (read it back from the result). */
  port: number;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** The bearer token clients must present, as UPSTASH_REDIS_REST_TOKEN. */
  token: string;
  /** More accepted tokens (tests that run the Worker as a deployed environment, where the local token is refused). */
  extraTokens?: string[];
  redisHost: string;
  redisPort: number;
  /** Pooled Redis connections. Default 4. */
  poolSize?: number;
  /** Largest accepted request body. Default 10 MiB. */
  maxBodyBytes?: number;
  /** Bound on connecting to Redis, so a dead Redis turns into a prompt 503 instead of a hung request. Default 2000. */
  connectTimeoutMs?: number;
}

/** A running proxy. */
export interface UpstashProxy {
  /** The port actually bound. */
  port: number;
  /** Stops listening, drops open connections (including event streams) and closes the Redis pool. */
  close(): Promise<void>;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** One element of a /pipeline or /multi-exec response: the client reads `result` and `error` and nothing else. */
interface Entry {
  result?: Json;
  error?: string;
}

/** A command ready for Redis, or the reason it never reaches Redis. */
type Prepared =
  | { ok: true; name: string; args: string[]; blocking: boolean; post?: (reply: Reply) => Reply }
  | { ok: false; error: string };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

const DEFAULT_MAX_BODY = 10 * 1024 * 1024;

/**
 * Commands that change the state of the connection they run on. The pool is shared by every request, so letting
 * one request SELECT, WATCH or SUBSCRIBE would corrupt everyone else's view; Upstash refuses most of these too.
 * Transactions go through /multi-exec instead.
 */
const CONNECTION_STATE_COMMANDS = new Set([
  "multi",
  "exec",
  "discard",
  "watch",
  "unwatch",
  "select",
  "swapdb",
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
  "monitor",
  "quit",
  "reset",
  "hello",
  "auth",
  "sync",
  "psync",
  "replconf",
]);

/** Commands that can park a connection for their whole timeout; they get a connection of their own. */
const BLOCKING_COMMANDS = new Set([
  "blpop",
  "brpop",
  "brpoplpush",
  "blmove",
  "blmpop",
  "bzpopmin",
  "bzpopmax",
  "bzmpop",
  "wait",
  "waitaof",
]);

/**
 * Flags Redis 7.0 understands in a script shebang. Anything else (Upstash's `allow-key-locking`, which every
 * @upstash/ratelimit script starts with) makes Redis reject the whole script.
 */
const REDIS_SCRIPT_FLAGS = new Set(["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"]);

function sha1(text: string): string {
  return createHash("sha1").update(text, "utf8").digest("hex");
}

/**
 * Returns the script with shebang flags Redis does not know removed, or null when it needs no change.
 * When no flag survives the shebang line becomes an empty line rather than a bare `#!lua`: a bare shebang would
 * still make Redis treat the script as flagged for writes and refuse it under EVAL_RO, whereas no shebang keeps the
 * legacy behaviour; keeping the line (empty) keeps Lua's error line numbers matching the caller's source.
 */
function stripUnknownScriptFlags(script: string): string | null {
  if (!script.startsWith("#!")) return null;
  const newline = script.indexOf("\n");
  const firstLine = (newline === -1 ? script : script.slice(0, newline)).replace(/\r$/, "");
  const match = /^#!(\S+)(?:\s+flags=(\S*))?\s*$/.exec(firstLine);
  if (match === null) return null; // Not a shebang we understand: Redis gives a better error than we could.
  const engine = match[1] as string;
  const flags = (match[2] ?? "").split(",").filter((f) => f !== "");
  const kept = flags.filter((f) => REDIS_SCRIPT_FLAGS.has(f));
  if (kept.length === flags.length) return null;
  const header = kept.length > 0 ? `#!${engine} flags=${kept.join(",")}` : "";
  return header + (newline === -1 ? "" : script.slice(newline));
}

/**
 * Remembers SHA1(original script) → SHA1(script as sent to Redis), so EVALSHA with the hash the client computed
 * from its own source finds the rewritten script Redis actually cached.
 */
class ScriptShas {
  private readonly map = new Map<string, string>();

  /** Rewrites the script if needed and records the hash mapping. */
  rewrite(script: string): string {
    const stripped = stripUnknownScriptFlags(script);
    if (stripped === null) return script;
    this.map.set(sha1(script), sha1(stripped));
    return stripped;
  }

  /** The hash Redis knows for a client-side hash; unknown hashes pass through so Redis answers NOSCRIPT. */
  resolve(sha: string): string {
    return this.map.get(sha.toLowerCase()) ?? sha;
  }
}

/**
 * JSON value → Redis argument. The client already stringifies objects and null (defaultSerializer), so numbers
 * and booleans are what normally arrive; anything else is serialised the way the client would have done it.
 */
function toArg(value: unknown): string {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "boolean":
      return String(value);
    default:
      return JSON.stringify(value);
  }
}

function prepare(raw: unknown, scripts: ScriptShas): Prepared {
  if (!Array.isArray(raw) || raw.length === 0) return { ok: false, error: "ERR a command must be a non-empty JSON array" };
  const args = raw.map(toArg);
  const name = (args[0] as string).toLowerCase();
  const sub = args[1]?.toLowerCase();
  if (CONNECTION_STATE_COMMANDS.has(name) || (name === "client" && sub === "reply")) {
    return { ok: false, error: `ERR ${name.toUpperCase()} is not supported by the local Upstash proxy` };
  }
  let post: ((reply: Reply) => Reply) | undefined;
  if ((name === "eval" || name === "eval_ro") && args[1] !== undefined) {
    args[1] = scripts.rewrite(args[1]);
  } else if ((name === "evalsha" || name === "evalsha_ro") && args[1] !== undefined) {
    args[1] = scripts.resolve(args[1]);
  } else if (name === "script" && sub === "load" && args[2] !== undefined) {
    const original = args[2];
    args[2] = scripts.rewrite(original);
    // The client (and @upstash/ratelimit's precomputed hashes) expect the hash of what they sent.
    const originalSha = sha1(original);
    post = (reply) => (Buffer.isBuffer(reply) ? Buffer.from(originalSha) : reply);
  } else if (name === "script" && sub === "exists") {
    for (let i = 2; i < args.length; i++) args[i] = scripts.resolve(args[i] as string);
  }
  const blocking =
    BLOCKING_COMMANDS.has(name) ||
    ((name === "xread" || name === "xreadgroup") && args.some((a) => a.toLowerCase() === "block"));
  return post === undefined ? { ok: true, name, args, blocking } : { ok: true, name, args, blocking, post };
}

/**
 * Raw reply → JSON as Upstash sends it. With base64 on, every string is base64 of its bytes except a top-level
 * `OK` status, which the client's decode() passes through untouched; `OK` nested in an array is encoded too,
 * because decode() base64-decodes first-level array strings unconditionally.
 */
function encodeResult(reply: Reply, base64: boolean, topLevel: boolean): Json {
  if (reply === null || typeof reply === "number") return reply;
  if (Buffer.isBuffer(reply)) return base64 ? reply.toString("base64") : reply.toString("utf8");
  if (Array.isArray(reply)) return reply.map((r) => encodeResult(r, base64, false));
  const text = isStatusReply(reply) ? reply.value : reply.message;
  if (!base64 || (topLevel && isStatusReply(reply) && text === "OK")) return text;
  return Buffer.from(text, "utf8").toString("base64");
}

function toEntry(reply: Reply, base64: boolean, post?: (reply: Reply) => Reply): Entry {
  if (isErrorReply(reply)) return { error: reply.message };
  return { result: encodeResult(post === undefined ? reply : post(reply), base64, true) };
}

function sendJson(res: ServerResponse, status: number, body: Json | Entry | Entry[], extraHeaders: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    ...extraHeaders,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) throw new HttpError(413, `request body exceeds ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new HttpError(413, `request body exceeds ${limit} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8")) as unknown;
  } catch (error) {
    throw new HttpError(400, `ERR malformed JSON body: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function isAuthorized(header: string | undefined, expected: readonly Buffer[]): boolean {
  if (header === undefined) return false;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header.trim());
  if (match === null) return false;
  const presented = Buffer.from(match[1] as string, "utf8");
  return expected.some((e) => presented.length === e.length && timingSafeEqual(presented, e));
}

/** One RESP-ish item of a pub/sub push, rendered the way the client's SSE parser splits it (comma-joined text). */
function pushPartToText(part: Reply): string {
  if (part === null) return "";
  if (typeof part === "number") return String(part);
  if (Buffer.isBuffer(part)) return part.toString("utf8");
  if (Array.isArray(part)) return part.map(pushPartToText).join(",");
  return isStatusReply(part) ? part.value : part.message;
}

/**
 * Starts the proxy and resolves once it is listening.
 *
 * Redis errors become `{"error": msg}` with HTTP 400 for a single command and per-entry `{"error": msg}` (HTTP 200)
 * in batches, which is how the client tells them apart from results; an unreachable Redis is a 503 so the client
 * fails at once instead of retrying (it only retries when fetch itself throws).
 */
export async function startUpstashProxy(opts: UpstashProxyOptions): Promise<UpstashProxy> {
  const host = opts.host ?? "127.0.0.1";
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const redisTarget = { host: opts.redisHost, port: opts.redisPort, connectTimeoutMs: opts.connectTimeoutMs ?? 2000 };
  const redis = new RespClient({ ...redisTarget, poolSize: opts.poolSize ?? 4 });
  const expectedTokens = [opts.token, ...(opts.extraTokens ?? [])].map((t) => Buffer.from(t, "utf8"));
  const scripts = new ScriptShas();
  const subscriptions = new Set<Subscription>();

  async function run(commands: readonly { args: string[]; blocking: boolean }[]): Promise<Reply[]> {
    const argLists = commands.map((c) => c.args);
    return commands.some((c) => c.blocking) ? redis.sendIsolated(argLists) : redis.sendMany(argLists);
  }

  async function handleSingle(res: ServerResponse, body: unknown, base64: boolean): Promise<void> {
    if (!Array.isArray(body) || body.some((item) => Array.isArray(item))) {
      throw new HttpError(400, "ERR expected a JSON array of command arguments; batches go to /pipeline");
    }
    const cmd = prepare(body, scripts);
    if (!cmd.ok) throw new HttpError(400, cmd.error);
    const [reply] = await run([cmd]);
    const entry = toEntry(reply as Reply, base64, cmd.post);
    sendJson(res, entry.error === undefined ? 200 : 400, entry);
  }

  async function handlePipeline(res: ServerResponse, body: unknown, base64: boolean): Promise<void> {
    if (!Array.isArray(body) || body.length === 0) throw new HttpError(400, "ERR expected a non-empty JSON array of commands");
    const prepared = body.map((raw) => prepare(raw, scripts));
    const toSend = prepared.filter((p): p is Extract<Prepared, { ok: true }> => p.ok);
    // One write on one connection keeps the pipeline's own order; other requests may run before or after it.
    const replies = toSend.length > 0 ? await run(toSend) : [];
    let next = 0;
    const entries = prepared.map((p): Entry => {
      if (!p.ok) return { error: p.error };
      return toEntry(replies[next++] as Reply, base64, p.post);
    });
    sendJson(res, 200, entries);
  }

  async function handleMultiExec(res: ServerResponse, body: unknown, base64: boolean): Promise<void> {
    if (!Array.isArray(body) || body.length === 0) throw new HttpError(400, "ERR expected a non-empty JSON array of commands");
    const prepared = body.map((raw) => prepare(raw, scripts));
    const commands: Extract<Prepared, { ok: true }>[] = [];
    for (const p of prepared) {
      if (!p.ok) throw new HttpError(400, p.error);
      commands.push(p);
    }
    // MULTI … EXEC leave in one write so no other request's command can be queued inside this transaction.
    const replies = await redis.sendMany([["MULTI"], ...commands.map((c) => c.args), ["EXEC"]]);
    const multi = replies[0] as Reply;
    const queued = replies.slice(1, -1);
    const exec = replies[replies.length - 1] as Reply;
    if (isErrorReply(multi)) throw new HttpError(400, multi.message);
    let entries: Entry[];
    if (Array.isArray(exec)) {
      entries = commands.map((c, i) => toEntry(exec[i] as Reply, base64, c.post));
    } else {
      // Redis discarded the whole transaction (EXECABORT after a queue-time error): say so for every command,
      // with the real cause on the ones that failed to queue.
      const reason = isErrorReply(exec) ? exec.message : "EXECABORT Transaction aborted";
      entries = queued.map((q): Entry => (q !== null && isErrorReply(q) ? { error: q.message } : { error: reason }));
    }
    sendJson(res, 200, entries);
  }

  function handleSubscribe(req: IncomingMessage, res: ServerResponse, kind: "subscribe" | "psubscribe", channel: string): void {
    let started = false;
    const subscription = openSubscriber(
      redisTarget,
      [kind.toUpperCase(), channel],
      (reply) => {
        if (!started) {
          if (isErrorReply(reply)) {
            started = true;
            sendJson(res, 400, { error: reply.message });
            void subscription.close();
            return;
          }
          // Headers go out only after Redis confirmed, so a dead Redis is still a plain 503 and not an empty stream.
          started = true;
          res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
          res.flushHeaders();
        }
        res.write(`data: ${Array.isArray(reply) ? reply.map(pushPartToText).join(",") : pushPartToText(reply)}\n\n`);
      },
      (error) => {
        subscriptions.delete(subscription);
        if (!started) {
          started = true;
          sendJson(res, 503, { error: error?.message ?? "Redis closed the subscription" });
        } else if (!res.writableEnded) {
          res.end();
        }
      },
    );
    subscriptions.add(subscription);
    // The client unsubscribes by aborting its fetch; that is our only signal to let go of the Redis connection.
    res.on("close", () => {
      subscriptions.delete(subscription);
      void subscription.close();
    });
    req.resume();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://proxy.invalid");
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
    if (!isAuthorized(req.headers.authorization, expectedTokens)) {
      sendJson(res, 401, { error: "Unauthorized" });
      return;
    }
    const method = req.method ?? "GET";
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    let segments: string[];
    try {
      segments = path.split("/").slice(1).map((s) => decodeURIComponent(s));
    } catch {
      throw new HttpError(400, "ERR malformed percent-encoding in the URL path");
    }

    if ((segments[0] === "subscribe" || segments[0] === "psubscribe") && segments.length === 2) {
      handleSubscribe(req, res, segments[0], segments[1] as string);
      return;
    }
    if (path === "/" || path === "/pipeline" || path === "/multi-exec") {
      if (method !== "POST") throw new HttpError(405, `ERR ${method} is not allowed on ${path}, use POST`);
      const body = parseJson(await readBody(req, maxBodyBytes));
      if (path === "/") await handleSingle(res, body, base64);
      else if (path === "/pipeline") await handlePipeline(res, body, base64);
      else await handleMultiExec(res, body, base64);
      return;
    }
    // Upstash's path form: /cmd/arg1/arg2, with a POST body (if any) as the final argument, verbatim.
    if (method !== "GET" && method !== "POST") throw new HttpError(405, `ERR ${method} is not allowed`);
    const body = method === "POST" ? await readBody(req, maxBodyBytes) : Buffer.alloc(0);
    const args: unknown[] = body.length > 0 ? [...segments, body.toString("utf8")] : segments;
    await handleSingle(res, args, base64);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        // After a 413 the rest of the body is unread; closing is cheaper than draining up to it.
        sendJson(res, error.status, { error: error.message }, error.status === 413 ? { connection: "close" } : {});
      } else if (error instanceof RedisConnectionError) {
        sendJson(res, 503, { error: error.message });
      } else {
        sendJson(res, 500, { error: `ERR proxy failure: ${error instanceof Error ? error.message : String(error)}` });
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | null = null;
  return {
    port,
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
        });
        // Keep-alive sockets from fetch and open event streams would otherwise hold server.close() open.
        server.closeAllConnections();
        await Promise.all([...subscriptions].map((s) => s.close()));
        await stopped;
        await redis.close();
      })();
      return closing;
    },
  };
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  // Imported lazily so that importing this module (tests) does not read or validate NB_* variables.
  const { loadStackConfig } = await import("./config");
  const config = loadStackConfig();
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      token: { type: "string" },
      "redis-host": { type: "string" },
      "redis-port": { type: "string" },
    },
  });
  const port = values.port === undefined ? config.upstashProxyPort : Number(values.port);
  const redisPort = values["redis-port"] === undefined ? config.redisPort : Number(values["redis-port"]);
  for (const [flag, value] of [["--port", port], ["--redis-port", redisPort]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${flag} must be a TCP port`);
  }
  const host = values.host ?? "127.0.0.1";
  const redisHost = values["redis-host"] ?? "127.0.0.1";
  const proxy = await startUpstashProxy({ port, host, token: values.token ?? config.upstashToken, redisHost, redisPort });
  console.log(
    JSON.stringify({ event: "upstash-proxy.listening", url: `http://${host}:${proxy.port}`, port: proxy.port, redis: `${redisHost}:${redisPort}` }),
  );
  const stop = (): void => {
    proxy.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (isMainModule()) {
  main().catch((error: unknown) => {
    console.error(JSON.stringify({ event: "upstash-proxy.failed", error: error instanceof Error ? error.message : String(error) }));
    process.exit(1);
  });
}
