/**
 * The Upstash REST stand-in, driven by the real @upstash/redis and @upstash/ratelimit clients against the real local
 * Redis (127.0.0.1:6379, or NB_REDIS_PORT). Every key lives under a per-run prefix and is deleted afterwards.
 */
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "@upstash/redis";
import { Ratelimit } from "@upstash/ratelimit";
import { RedisConnectionError, RespClient, RespConnection, RespParser, encodeCommand } from "../../dev/resp";
import type { Reply } from "../../dev/resp";
import { startUpstashProxy } from "../../dev/upstash-proxy";
import type { UpstashProxy } from "../../dev/upstash-proxy";

const REDIS_HOST = "127.0.0.1";
const REDIS_PORT = Number(process.env.NB_REDIS_PORT ?? 6379);
const TOKEN = "upstash-proxy-test-token";
const PREFIX = `nbtest:upstash:${process.pid}:${Date.now()}:`;

let proxy: UpstashProxy | undefined;
let url: string;
let redis: Redis;
/** Plain RESP, for seeding and checking Redis behind the proxy's back. Connects lazily. */
const raw = new RespClient({ host: REDIS_HOST, port: REDIS_PORT });

function key(name: string): string {
  return PREFIX + name;
}

/** A port nothing listens on: bind an ephemeral one and release it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return port;
}

/** Posts straight to the proxy, for what the client library hides (status codes, raw encoding). */
async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

beforeAll(async () => {
  const pong = await raw.send(["PING"]);
  expect(pong).toEqual({ type: "status", value: "PONG" });
  proxy = await startUpstashProxy({ port: 0, token: TOKEN, redisHost: REDIS_HOST, redisPort: REDIS_PORT });
  url = `http://127.0.0.1:${proxy.port}`;
  redis = new Redis({ url, token: TOKEN, enableTelemetry: false });
});

afterAll(async () => {
  // SCAN rather than KEYS so a shared Redis is never blocked by the cleanup.
  let cursor = "0";
  do {
    const reply = await raw.send(["SCAN", cursor, "MATCH", `${PREFIX}*`, "COUNT", "1000"]);
    const [next, keys] = reply as [Buffer, Buffer[]];
    if (keys.length > 0) await raw.send(["DEL", ...keys]);
    cursor = next.toString();
  } while (cursor !== "0");
  await proxy?.close();
  await raw.close();
});

describe("resp client", () => {
  it("parses replies split at every byte, including nested arrays, nil and errors", () => {
    const replies: Reply[] = [];
    const parser = new RespParser((r) => replies.push(r));
    const wire = Buffer.from("+OK\r\n-ERR bad\r\n:42\r\n$-1\r\n*-1\r\n*0\r\n*3\r\n$4\r\nf\r\no\r\n*2\r\n:1\r\n$0\r\n\r\n$-1\r\n");
    for (const byte of wire) parser.push(Buffer.from([byte]));
    expect(replies).toEqual([
      { type: "status", value: "OK" },
      { type: "error", message: "ERR bad" },
      42,
      null,
      null,
      [],
      [Buffer.from("f\r\no"), [1, Buffer.alloc(0)], null],
    ]);
  });

  it("round-trips binary arguments and pipelines many commands on one socket", async () => {
    const bytes = Buffer.from([0xff, 0x00, 0x0d, 0x0a, 0x80]);
    const conn = new RespConnection({ host: REDIS_HOST, port: REDIS_PORT });
    try {
      const sends = Array.from({ length: 100 }, (_, i) => conn.send(["ECHO", String(i)]));
      expect(conn.inFlight).toBe(100);
      const echoed = await Promise.all(sends);
      expect(echoed.map((b) => (b as Buffer).toString())).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
      const [set, got] = await conn.sendMany([["SET", key("resp:bin"), bytes], ["GET", key("resp:bin")]]);
      expect(set).toEqual({ type: "status", value: "OK" });
      expect(Buffer.compare(got as Buffer, bytes)).toBe(0);
      expect(encodeCommand(["A", bytes]).toString("latin1")).toBe("*2\r\n$1\r\nA\r\n$5\r\n\xff\x00\r\n\x80\r\n");
    } finally {
      await conn.close();
    }
  });

  it("rejects commands in flight when the socket dies, then reconnects", async () => {
    const conn = new RespConnection({ host: REDIS_HOST, port: REDIS_PORT });
    try {
      const id = (await conn.send(["CLIENT", "ID"])) as number;
      // Settle into a value at once: the rejection may arrive before the KILL's own reply does.
      const blocked = conn.send(["BLPOP", key("resp:never"), "10"]).then(
        () => null,
        (error: unknown) => error,
      );
      await raw.send(["CLIENT", "KILL", "ID", String(id)]);
      expect(await blocked).toBeInstanceOf(RedisConnectionError);
      expect(await conn.send(["PING"])).toEqual({ type: "status", value: "PONG" });
    } finally {
      await conn.close();
    }
  });

  it("fails fast with a clear error when Redis is down", async () => {
    const port = await closedPort();
    const client = new RespClient({ host: REDIS_HOST, port, poolSize: 1 });
    try {
      await expect(client.send(["PING"])).rejects.toThrow(/unreachable/);
    } finally {
      await client.close();
    }
  });
});

describe("@upstash/redis through the proxy", () => {
  it("get / set / del / incr / expire / ttl", async () => {
    const k = key("basic");
    expect(await redis.set(k, "hello")).toBe("OK");
    expect(await redis.get<string>(k)).toBe("hello");
    expect(await redis.set(k, "x", { nx: true })).toBeNull();
    expect(await redis.del(k)).toBe(1);
    expect(await redis.get(k)).toBeNull();
    expect(await redis.incr(k)).toBe(1);
    expect(await redis.incrby(k, 41)).toBe(42);
    expect(await redis.get<number>(k)).toBe(42);
    expect(await redis.ttl(k)).toBe(-1);
    expect(await redis.expire(k, 100)).toBe(1);
    const ttl = await redis.ttl(k);
    expect(ttl).toBeGreaterThan(95);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await redis.set(k, "v", { ex: 50 })).toBe("OK");
    expect(await redis.ttl(k)).toBeGreaterThan(45);
    expect(await redis.exists(k, key("missing"))).toBe(1);
  });

  it("mget with missing keys yields null in place", async () => {
    await redis.set(key("m1"), "one");
    await redis.set(key("m3"), 3);
    expect(await redis.mget(key("m1"), key("m2"), key("m3"))).toEqual(["one", null, 3]);
  });

  it("serialises objects on set and parses them on get", async () => {
    const value = { title: "Dune", price: 9.99, tags: ["sf", "classic"], stock: { warehouse: 3 }, active: true };
    await redis.set(key("json"), value);
    expect(await redis.get<typeof value>(key("json"))).toEqual(value);
    // Stored as JSON text in Redis, as Upstash does.
    expect(((await raw.send(["GET", key("json")])) as Buffer).toString()).toBe(JSON.stringify(value));
  });

  it("hset / hget / hgetall return the client's shapes", async () => {
    const k = key("hash");
    expect(await redis.hset(k, { name: "Book", count: 3, meta: { isbn: "978" } })).toBe(3);
    expect(await redis.hget<string>(k, "name")).toBe("Book");
    expect(await redis.hgetall(k)).toEqual({ name: "Book", count: 3, meta: { isbn: "978" } });
    expect(await redis.hincrby(k, "count", 2)).toBe(5);
    expect(await redis.hgetall(key("no-hash"))).toBeNull();
  });

  it("lists", async () => {
    const k = key("list");
    expect(await redis.rpush(k, "a", "b", "c")).toBe(3);
    expect(await redis.lpush(k, "z")).toBe(4);
    expect(await redis.lrange(k, 0, -1)).toEqual(["z", "a", "b", "c"]);
    expect(await redis.lpop(k)).toBe("z");
    expect(await redis.rpop(k, 2)).toEqual(["c", "b"]);
    expect(await redis.llen(k)).toBe(1);
  });

  it("sorted sets with scores", async () => {
    const k = key("zset");
    expect(await redis.zadd(k, { score: 1, member: "a" }, { score: 2.5, member: "b" }, { score: -3, member: "c" })).toBe(3);
    expect(await redis.zrange(k, 0, -1)).toEqual(["c", "a", "b"]);
    expect(await redis.zrange(k, 0, -1, { withScores: true })).toEqual(["c", -3, "a", 1, "b", 2.5]);
    expect(await redis.zscore(k, "b")).toBe(2.5);
    expect(await redis.zincrby(k, 10, "a")).toBe(11);
    expect(await redis.zrange(k, "-inf", "+inf", { byScore: true, rev: false })).toEqual(["c", "b", "a"]);
    expect(await redis.zcard(k)).toBe(3);
  });

  it("pipeline returns one result per command and surfaces a failing command", async () => {
    const k = key("pipe");
    const results = await redis.pipeline().set(k, 1).incr(k).get(k).del(k).exec();
    expect(results).toEqual(["OK", 2, 2, 1]);

    await redis.set(k, "not-a-number");
    await expect(redis.pipeline().get(k).incr(k).exec()).rejects.toThrow(/Command 2 \[ incr \] failed: ERR value is not an integer/);
    const kept = await redis.pipeline().get(k).incr(k).exec({ keepErrors: true });
    expect(kept[0]).toEqual({ error: undefined, result: "not-a-number" });
    expect(kept[1].error).toMatch(/not an integer/);
  });

  it("multi runs atomically even while other traffic shares the Redis connections", async () => {
    const k = key("multi");
    expect(await redis.multi().set(k, 1).incr(k).get(k).exec()).toEqual(["OK", 2, 2]);

    const counter = key("multi:counter");
    const noise = Array.from({ length: 100 }, () => redis.incr(key("multi:noise")));
    const transactions = Array.from({ length: 30 }, () => redis.multi().incr(counter).incr(counter).exec<[number, number]>());
    const results = await Promise.all(transactions);
    await Promise.all(noise);
    for (const [first, second] of results) expect(second).toBe(first + 1);
    expect(await redis.get(counter)).toBe(60);

    // A runtime error inside EXEC fails only that command, as in Redis; a queue-time error aborts everything.
    await redis.set(k, "text");
    const mixed = await redis.multi().get(k).incr(k).exec({ keepErrors: true });
    expect(mixed[0].result).toBe("text");
    expect(mixed[1].error).toMatch(/not an integer/);
    const aborted = await post("/multi-exec", [["SET", k, "2"], ["INCR"]]);
    expect(aborted.status).toBe(200);
    const [setEntry, incrEntry] = aborted.json as [{ error: string }, { error: string }];
    expect(setEntry.error).toMatch(/^EXECABORT/);
    expect(incrEntry.error).toMatch(/wrong number of arguments/);
    expect(await redis.get(k)).toBe("text");
  });

  it("automatic pipelining: 200 concurrent incr land as one batch and count to 200", async () => {
    const k = key("auto");
    const before = (redis as unknown as { pipelineCounter: number }).pipelineCounter;
    const values = await Promise.all(Array.from({ length: 200 }, () => redis.incr(k)));
    expect(await redis.get(k)).toBe(200);
    expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const after = (redis as unknown as { pipelineCounter: number }).pipelineCounter;
    expect(after - before).toBeLessThanOrEqual(2);
  });

  it("round-trips unicode values, and binary bytes base64-encoded on the wire", async () => {
    const text = "naïve ✓ 書";
    await redis.set(key("unicode"), text);
    expect(await redis.get<string>(key("unicode"))).toBe(text);
    expect(await redis.hset(key("unicode:h"), { [text]: text })).toBe(1);
    expect(await redis.hgetall(key("unicode:h"))).toEqual({ [text]: text });

    const bytes = Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x80]);
    await raw.send(["SET", key("binary"), bytes]);
    const encoded = await post("/", ["GET", key("binary")], { "upstash-encoding": "base64" });
    expect(encoded).toEqual({ status: 200, json: { result: bytes.toString("base64") } });
  });

  it("moves multi-megabyte values intact in both directions", async () => {
    const big = "é".repeat(3 * 1024 * 1024) + "✓"; // ~6 MiB of UTF-8, arriving from Redis in many socket chunks
    expect(await redis.set(key("large"), big)).toBe("OK");
    expect(await redis.strlen(key("large"))).toBe(Buffer.byteLength(big));
    expect(await redis.get<string>(key("large"))).toBe(big);
    const many = await redis.lrange(key("large:list"), 0, -1);
    expect(many).toEqual([]);
    await redis.rpush(key("large:list"), ...Array.from({ length: 20_000 }, (_, i) => `item-${i}`));
    const items = await redis.lrange(key("large:list"), 0, -1);
    expect(items).toHaveLength(20_000);
    expect(items[19_999]).toBe("item-19999");
  });

  it("encodes every string but a top-level OK in base64 mode, and none without it", async () => {
    expect(await post("/", ["SET", key("enc"), "OK"], { "upstash-encoding": "base64" })).toEqual({ status: 200, json: { result: "OK" } });
    expect((await post("/", ["GET", key("enc")], { "upstash-encoding": "base64" })).json).toEqual({ result: "T0s=" });
    expect((await post("/", ["PING"], { "upstash-encoding": "base64" })).json).toEqual({ result: "UE9ORw==" });
    expect((await post("/pipeline", [["PING"], ["SET", key("enc"), 5], ["GET", key("enc")]])).json).toEqual([
      { result: "PONG" },
      { result: "OK" },
      { result: "5" },
    ]);
    const plain = new Redis({ url, token: TOKEN, responseEncoding: false, enableTelemetry: false });
    await plain.set(key("plain"), "naïve ✓ 書");
    expect(await plain.get(key("plain"))).toBe("naïve ✓ 書");
    expect(await plain.mget(key("plain"), key("nope"))).toEqual(["naïve ✓ 書", null]);
  });

  it("surfaces Redis errors as client errors, with and without auto-pipelining", async () => {
    const k = key("err");
    await redis.set(k, "abc");
    await expect(redis.incr(k)).rejects.toThrow(/ERR value is not an integer or out of range/);
    const direct = new Redis({ url, token: TOKEN, enableAutoPipelining: false, enableTelemetry: false });
    await expect(direct.incr(k)).rejects.toThrow(/ERR value is not an integer or out of range, command was: \["incr"/);
    expect(await post("/", ["INCR", k])).toEqual({ status: 400, json: { error: "ERR value is not an integer or out of range" } });
  });

  it("rejects malformed JSON, bad shapes, oversized bodies and connection-state commands", async () => {
    const malformed = await post("/", "{not json");
    expect(malformed.status).toBe(400);
    expect((malformed.json as { error: string }).error).toMatch(/malformed JSON/);
    expect((await post("/", { cmd: "GET" })).status).toBe(400);
    expect((await post("/pipeline", [])).status).toBe(400);
    const select = await post("/", ["SELECT", "1"]);
    expect(select.status).toBe(400);
    expect((select.json as { error: string }).error).toMatch(/not supported/);
    const big = await post("/", ["SET", key("big"), "x".repeat(11 * 1024 * 1024)]);
    expect(big.status).toBe(413);
  });

  it("throws on a wrong token", async () => {
    const wrong = new Redis({ url, token: "wrong-token", enableTelemetry: false });
    await expect(wrong.get(key("basic"))).rejects.toThrow(/Unauthorized/);
    const res = await fetch(`${url}/`, { method: "POST", body: '["PING"]' });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "Unauthorized" });
  });

  it("throws promptly when Redis is down", async () => {
    const dead = await startUpstashProxy({ port: 0, token: TOKEN, redisHost: REDIS_HOST, redisPort: await closedPort() });
    try {
      const client = new Redis({ url: `http://127.0.0.1:${dead.port}`, token: TOKEN, enableTelemetry: false });
      const started = Date.now();
      await expect(client.get(key("any"))).rejects.toThrow(/unreachable/);
      await expect(client.multi().incr(key("any")).exec()).rejects.toThrow(/unreachable/);
      expect(Date.now() - started).toBeLessThan(3000);
      const res = await fetch(`http://127.0.0.1:${dead.port}/`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: '["PING"]',
      });
      expect(res.status).toBe(503);
    } finally {
      await dead.close();
    }
  });

  it("runs Upstash-flagged Lua scripts and keeps the client's script hashes", async () => {
    const source = "#!lua flags=allow-key-locking\nreturn {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}";
    const k = key("lua");
    expect(await redis.eval(source, [k], ["hi"])).toEqual([k, "hi", 1]);

    const script = redis.createScript<[string, string, number]>(
      "#!lua flags=allow-key-locking\nreturn {KEYS[1], ARGV[1], redis.call('INCRBY', KEYS[1], 2)}",
    );
    await expect(redis.evalsha(await sha1Hex(script.script), [k], ["x"])).rejects.toThrow(/NOSCRIPT/);
    expect(await script.exec([k], ["a"])).toEqual([k, "a", 3]); // NOSCRIPT, then EVAL fallback
    expect(await script.evalsha([k], ["b"])).toEqual([k, "b", 5]); // now mapped to the stripped script

    const loadedSha = await redis.scriptLoad(source);
    expect(loadedSha).toBe(await sha1Hex(source));
    expect(await redis.scriptExists(loadedSha)).toEqual([1]);

    // Goes out as EVALSHA_RO / EVAL_RO, which Redis refuses for any script that still carries a shebang without no-writes.
    const readOnly = redis.createScript<number, true>("#!lua flags=allow-key-locking\nreturn redis.call('GET', KEYS[1])", {
      readonly: true,
    });
    expect(await readOnly.exec([k], [])).toBe(5);
  });

  it("streams pub/sub messages over server-sent events", async () => {
    const channel = key("chan");
    const subscriber = redis.subscribe<{ hello: string }>(channel);
    try {
      await new Promise<void>((resolve) => {
        subscriber.on("subscribe", () => {
          resolve();
        });
      });
      const received = new Promise<{ channel: string; message: { hello: string } }>((resolve) => {
        subscriber.on("message", resolve);
      });
      expect(await redis.publish(channel, { hello: "world" })).toBe(1);
      expect(await received).toEqual({ channel, message: { hello: "world" } });
    } finally {
      await subscriber.unsubscribe();
    }
  });
});

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return Buffer.from(digest).toString("hex");
}

describe("@upstash/ratelimit through the proxy", () => {
  it("slidingWindow counts down and blocks after N", async () => {
    const limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(5, "60 s"),
      prefix: key("rl:sliding"),
      ephemeralCache: false,
      analytics: false,
    });
    const remaining: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await limiter.limit("user-1");
      expect(res.success).toBe(true);
      expect(res.reason).toBeUndefined(); // "timeout" would mean the script never answered
      expect(res.limit).toBe(5);
      remaining.push(res.remaining);
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    const blocked = await limiter.limit("user-1");
    expect(blocked.success).toBe(false);
    expect(blocked.remaining).toBe(0);
    expect((await limiter.limit("user-2")).success).toBe(true);
    expect((await limiter.getRemaining("user-1")).remaining).toBe(0);
    await limiter.resetUsedTokens("user-1");
    expect((await limiter.limit("user-1")).success).toBe(true);
  });

  it("fixedWindow counts down and blocks after N, also under concurrency", async () => {
    const limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.fixedWindow(3, "60 s"),
      prefix: key("rl:fixed"),
      ephemeralCache: false,
      analytics: false,
    });
    const sequential = [];
    for (let i = 0; i < 4; i++) sequential.push(await limiter.limit("ip-1"));
    expect(sequential.map((r) => r.success)).toEqual([true, true, true, false]);
    expect(sequential.map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
    expect(sequential.every((r) => r.reason === undefined)).toBe(true);

    const burst = await Promise.all(Array.from({ length: 10 }, () => limiter.limit("ip-2")));
    expect(burst.filter((r) => r.success)).toHaveLength(3);
  });
});
