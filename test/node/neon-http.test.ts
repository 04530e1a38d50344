/**
 * Neon's SQL-over-HTTP endpoint (`POST /sql` of dev/ws-proxy.ts) against the real driver: `neon()`,
 * `sql.query()`, `sql.transaction()` and drizzle's neon-http adapter, through the primary PgBouncer.
 *
 * Reads use the seeded `nexusbooks_test` database; writes go to scratch tables in
 * `nexusbooks_stacktest`, dropped afterwards. Results are compared with the same queries through the
 * driver's `Pool` over the WebSocket half of the same server, which is what production uses besides HTTP.
 */
import net from "node:net";
import type { AddressInfo } from "node:net";
import { NeonDbError, Pool as NeonPool, neon, neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-http";
import { sql as dsql } from "drizzle-orm";
import { Client } from "pg";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackConfig, pgUrl } from "../../dev/config.js";
import { ensureDatabase, ensurePgBouncers, ensurePostgresPrimary, ensureReplica } from "../../dev/services.js";
import { startWsProxy } from "../../dev/ws-proxy.js";
import type { WsProxy } from "../../dev/ws-proxy.js";

const cfg = loadStackConfig();
const READ_DB = cfg.testDatabase;
const SCRATCH_DB = "nexusbooks_stacktest";
const readUrl = pgUrl(cfg.bouncerPrimaryPort, READ_DB);
const scratchUrl = pgUrl(cfg.bouncerPrimaryPort, SCRATCH_DB);
const log = (msg: string): void => console.log(`[neon-http] ${msg}`);

/** Counts TCP connections on their way to the primary bouncer, to observe the server's pooling. */
interface CountingForwarder {
  port: number;
  accepted: number;
  close(): Promise<void>;
}

async function startForwarder(targetPort: number): Promise<CountingForwarder> {
  const sockets = new Set<net.Socket>();
  const fwd: CountingForwarder = { port: 0, accepted: 0, close: () => Promise.resolve() };
  const server = net.createServer((client) => {
    fwd.accepted++;
    const upstream = net.connect({ host: "127.0.0.1", port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fwd.port = (server.address() as AddressInfo).port;
  fwd.close = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  return fwd;
}

/** A port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function onPrimary<T>(database: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ host: "127.0.0.1", port: cfg.pgPrimaryPort, user: "postgres", database, connectionTimeoutMillis: 5_000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The driver's rejection, for asserting on its fields. */
async function failure(p: Promise<unknown>): Promise<NeonDbError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(NeonDbError);
    return e as NeonDbError;
  }
  throw new Error("expected the query to fail");
}

function scratchTable(tag: string): string {
  return `neonhttp_${tag}_${process.pid}_${Date.now().toString(36)}`;
}

let proxy: WsProxy;
let fwd: CountingForwarder;
let deadPort: number;
let wsPool: NeonPool;
const sqlUrl = (): string => `http://127.0.0.1:${proxy.port}/sql`;

beforeAll(async () => {
  await ensurePostgresPrimary(cfg, log);
  await ensureReplica(cfg, log);
  await ensurePgBouncers(cfg, log);
  await ensureDatabase(cfg, SCRATCH_DB, log);

  fwd = await startForwarder(cfg.bouncerPrimaryPort);
  deadPort = await closedPort();
  // Port 0: a proxy started by the dev launcher may already own cfg.wsProxyPort.
  proxy = await startWsProxy({
    port: 0,
    allowedTargets: [`127.0.0.1:${cfg.bouncerPrimaryPort}`, `127.0.0.1:${fwd.port}`, `127.0.0.1:${deadPort}`],
    sqlTimeoutMs: 1_500,
    log,
  });
  // neonConfig is global: HTTP for neon(), WebSocket for the Pool used as the reference.
  neonConfig.fetchEndpoint = () => sqlUrl();
  neonConfig.webSocketConstructor = WebSocket;
  neonConfig.wsProxy = (host, port) => `127.0.0.1:${proxy.port}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  wsPool = new NeonPool({ connectionString: readUrl, max: 2 });
  wsPool.on("error", (err: Error) => log(`ws pool error: ${err.message}`));
}, 10 * 60_000);

afterAll(async () => {
  await wsPool.end();
  await proxy.close();
  await fwd.close();
});

describe("results parse exactly as through the Pool over WebSocket", () => {
  const TYPES_SQL = `select 42::int as i, 9007199254740993::int8 as big, 12345.678900::numeric(12,6) as num,
      true as yes, false as no, '{"a":[1,2,{"b":null}]}'::json as j, '{"z":1,"a":"ü"}'::jsonb as jb,
      array['x', 'y,z', null, 'q"uote', ''] as arr, array[1,2,3]::int[] as ints, '{}'::int8[] as empty,
      '2024-02-29 12:34:56.789+02'::timestamptz as ts, '2024-02-29'::date as d, null::text as nothing,
      1.5::float8 as f, 'NaN'::float8 as nan, '\\x00ff'::bytea as bytes, 'abc'::char(5) as ch,
      interval '1 day 2 hours' as iv, '00000000-0000-0000-0000-000000000001'::uuid as id`;

  it("scalar, json, array, date/time and null types", async () => {
    const sql = neon(readUrl);
    const viaHttp = await sql.query(TYPES_SQL);
    const viaWs = (await wsPool.query(TYPES_SQL)).rows;
    expect(viaHttp).toEqual(viaWs);
    const row = viaHttp[0] ?? {};
    expect(row).toMatchObject({
      i: 42,
      big: "9007199254740993",
      num: "12345.678900",
      yes: true,
      no: false,
      j: { a: [1, 2, { b: null }] },
      jb: { a: "ü", z: 1 },
      arr: ["x", "y,z", null, 'q"uote', ""],
      ints: [1, 2, 3],
      empty: [],
      nothing: null,
      f: 1.5,
      ch: "abc  ",
    });
    expect(row.ts).toBeInstanceOf(Date);
    expect((row.ts as Date).toISOString()).toBe("2024-02-29T10:34:56.789Z");
    expect(Number.isNaN(row.nan)).toBe(true);
    expect(Buffer.isBuffer(row.bytes)).toBe(true);
  });

  it("fields, command and rowCount (fullResults) match node-postgres' result", async () => {
    const sql = neon(readUrl, { fullResults: true });
    const viaHttp = await sql.query(TYPES_SQL);
    const viaWs = await wsPool.query(TYPES_SQL);
    expect(viaHttp.command).toBe("SELECT");
    expect(viaHttp.rowCount).toBe(1);
    expect(viaHttp.rowAsArray).toBe(false);
    expect(viaHttp.rows).toEqual(viaWs.rows);
    expect(viaHttp.fields).toEqual(viaWs.fields.map((f) => ({ ...f })));
  });

  it("real seeded rows (bigint ids, jsonb, text[], numeric, timestamptz, nullable columns)", async () => {
    const q = "select * from products order by id limit 100";
    const viaHttp = await neon(readUrl).query(q);
    const viaWs = (await wsPool.query(q)).rows;
    expect(viaHttp.length).toBeGreaterThan(0);
    expect(viaHttp).toEqual(viaWs);
    const tableQ = "select p.id, p.name, v.* from products p join variants v on v.product_id = p.id order by v.id limit 200";
    expect(await neon(readUrl).query(tableQ)).toEqual((await wsPool.query(tableQ)).rows);
  });

  it("arrayMode, per call and per client", async () => {
    const q = "select 1 as a, 'two' as b, null::int as c";
    expect(await neon(readUrl, { arrayMode: true }).query(q)).toEqual([[1, "two", null]]);
    const full = await neon(readUrl).query(q, [], { arrayMode: true, fullResults: true });
    expect(full.rows).toEqual([[1, "two", null]]);
    expect(full.rowAsArray).toBe(true);
    expect(full.fields.map((f) => f.name)).toEqual(["a", "b", "c"]);
    // Duplicate column names: objects keep the last, arrays keep both, as with node-postgres.
    const dup = "select 1 as x, 2 as x";
    expect(await neon(readUrl).query(dup)).toEqual((await wsPool.query(dup)).rows);
    expect(await neon(readUrl, { arrayMode: true }).query(dup)).toEqual([[1, 2]]);
  });

  it("empty results and statements without rows", async () => {
    const sql = neon(readUrl, { fullResults: true });
    const none = await sql`select id from products where id < 0`;
    expect(none).toMatchObject({ command: "SELECT", rowCount: 0, rows: [] });
    expect(none.fields.map((f) => f.name)).toEqual(["id"]);
    // A parameterless statement still goes through the extended protocol, like Neon's.
    const set = await sql`set local statement_timeout = 1000`;
    expect(set).toMatchObject({ command: "SET", rowCount: null, rows: [], fields: [] });
  });
});

describe("parameters", () => {
  it("every kind the driver serialises arrives as Postgres sees it over WebSocket", async () => {
    const date = new Date("2024-05-06T07:08:09.123Z");
    const params: unknown[] = [
      7, -1.25, 12345678901234567890n, "über 'quoted' \"double\" \\ back", true, false, null, undefined, date,
      ["a", "b,c", null, 'd"e', "f\\g", ""], [[1, 2], [3, 4]], { k: [1, "two"], n: null }, Buffer.from([0, 1, 254, 255]),
    ];
    const q = `select $1::int as int, $2::float8 as float, $3::numeric as big, $4::text as text, $5::bool as t,
      $6::bool as f, $7::text as n, $8::text as u, $9::timestamptz as ts, $10::text[] as arr, $11::int[] as nested,
      $12::jsonb as obj, $13::bytea as bytes`;
    const viaHttp = await neon(readUrl).query(q, params);
    const viaWs = (await wsPool.query(q, params)).rows;
    expect(viaHttp).toEqual(viaWs);
    expect(viaHttp[0]).toMatchObject({
      int: 7,
      float: -1.25,
      big: "12345678901234567890",
      text: "über 'quoted' \"double\" \\ back",
      t: true,
      f: false,
      n: null,
      u: null,
      arr: ["a", "b,c", null, 'd"e', "f\\g", ""],
      nested: [[1, 2], [3, 4]],
      obj: { k: [1, "two"], n: null },
    });
    expect((viaHttp[0]?.ts as Date).toISOString()).toBe(date.toISOString());
    expect(Buffer.from(viaHttp[0]?.bytes as Buffer)).toEqual(Buffer.from([0, 1, 254, 255]));
  });

  it("tagged templates", async () => {
    const sql = neon(readUrl);
    const slug = (await sql`select slug from products order by id limit 1`)[0]?.slug as string;
    const rows = await sql`select id, slug from products where slug = ${slug} and ${1} = 1`;
    expect(rows).toHaveLength(1);
    expect(rows[0]?.slug).toBe(slug);
    expect(typeof rows[0]?.id).toBe("string"); // bigint stays a string, as with node-postgres
  });
});

describe("transactions", () => {
  let table: string;
  const sql = neon(scratchUrl);

  beforeAll(async () => {
    table = scratchTable("tx");
    await sql.query(`create table ${table} (id int primary key, note text not null)`);
  });

  afterAll(async () => {
    await onPrimary(SCRATCH_DB, (c) => c.query(`drop table if exists ${table}`));
  });

  it("commits all statements atomically, on one connection, with per-statement results", async () => {
    const [ins, upd, sel, txids] = await sql.transaction([
      sql.query(`insert into ${table} values (1, 'one'), (2, 'two')`),
      sql.query(`update ${table} set note = note || '!' where id = $1`, [2]),
      sql.query(`select id, note from ${table} order by id`),
      sql`select txid_current() as a, txid_current() as b, pg_backend_pid() as pid`,
    ]);
    expect(ins).toEqual([]);
    expect(upd).toEqual([]);
    expect(sel).toEqual([{ id: 1, note: "one" }, { id: 2, note: "two!" }]);
    expect(txids?.[0]?.a).toBe(txids?.[0]?.b);

    const counts = await sql.transaction(
      [sql.query(`insert into ${table} values (3, 'three')`), sql.query(`delete from ${table} where id = 3`), sql.query(`select count(*)::int as n from ${table}`)],
      { fullResults: true },
    );
    expect(counts.map((r) => [r.command, r.rowCount])).toEqual([["INSERT", 1], ["DELETE", 1], ["SELECT", 1]]);
    expect(counts[2]?.rows).toEqual([{ n: 2 }]);
  });

  it("rolls back everything when one statement fails, and reports its SQLSTATE", async () => {
    const err = await failure(sql.transaction([
      sql.query(`insert into ${table} values (10, 'ten')`),
      sql.query(`insert into ${table} values (1, 'duplicate')`),
      sql.query(`insert into ${table} values (11, 'eleven')`),
    ]));
    expect(err.code).toBe("23505");
    expect(err.constraint).toBe(`${table}_pkey`);
    expect(err.table).toBe(table);
    expect(err.schema).toBe("public");
    expect(err.detail).toContain("already exists");
    expect(await sql.query(`select id from ${table} where id >= 10`)).toEqual([]);
    // The connection went back to the pool clean: the next statement is not in an aborted transaction.
    expect(await sql`select 1 as ok`).toEqual([{ ok: 1 }]);
  });

  it("applies isolation level, read-only and deferrable", async () => {
    const [iso, ro, def] = await sql.transaction(
      (tx) => [tx`show transaction_isolation`, tx`show transaction_read_only`, tx`show transaction_deferrable`],
      { isolationLevel: "Serializable", readOnly: true, deferrable: true },
    );
    expect([iso?.[0], ro?.[0], def?.[0]]).toEqual([{ transaction_isolation: "serializable" }, { transaction_read_only: "on" }, { transaction_deferrable: "on" }]);
    const [plain] = await sql.transaction((tx) => [tx`show transaction_isolation`], { isolationLevel: "RepeatableRead" });
    expect(plain).toEqual([{ transaction_isolation: "repeatable read" }]);
    const err = await failure(sql.transaction([sql.query(`insert into ${table} values (20, 'x')`)], { readOnly: true }));
    expect(err.code).toBe("25006");
  });
});

describe("errors", () => {
  const sql = neon(readUrl);

  it("carry SQLSTATE and the other Postgres fields", async () => {
    const missing = await failure(sql`select * from no_such_table_here`);
    expect(missing).toMatchObject({ name: "NeonDbError", code: "42P01", severity: "ERROR", position: "15" });
    expect(missing.message).toBe('relation "no_such_table_here" does not exist');

    expect((await failure(sql`select 'x'::int`)).code).toBe("22P02");
    expect((await failure(sql.query("select $1::int", ["abc"]))).code).toBe("22P02");
    expect((await failure(sql`select 1/0`)).code).toBe("22012");
    // Neon runs every statement as a prepared one, so several statements in one string are refused.
    expect((await failure(sql.query("select 1; select 2"))).code).toBe("42601");
    // The connection stays usable after an error.
    expect(await sql`select 2 as two`).toEqual([{ two: 2 }]);
  });

  it("refuse targets outside the allow-list", async () => {
    for (const url of [pgUrl(cfg.pgPrimaryPort, READ_DB), pgUrl(cfg.bouncerReplicaPort, READ_DB), `postgres://postgres@example.com:${cfg.bouncerPrimaryPort}/${READ_DB}`]) {
      const err = await failure(neon(url)`select 1`);
      expect(err.message).toMatch(/is not an allowed target/);
      expect(err.code).toBe("");
    }
  });

  it("surface an unreachable target as a connection error (HTTP 500, like Neon)", async () => {
    const err = await failure(neon(pgUrl(deadPort, READ_DB))`select 1`);
    expect(err.message).toMatch(/^Server error \(HTTP status 500\): .*error connecting to server/);
    expect(err.code).toBeUndefined();
  });

  it("report a login refused by the bouncer with its SQLSTATE in the 500 body, as Neon does", async () => {
    const conn = `postgres://no_such_user@127.0.0.1:${cfg.bouncerPrimaryPort}/${READ_DB}`;
    const res = await fetch(sqlUrl(), {
      method: "POST",
      headers: { "Neon-Connection-String": conn, "Neon-Raw-Text-Output": "true", "Neon-Array-Mode": "true" },
      body: JSON.stringify({ query: "select 1", params: [] }),
    });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { message: string; code: string; severity: string };
    expect(body.message).toBe('"trust" authentication failed');
    expect(body.code).toMatch(/^[0-9A-Z]{5}$/);
    expect(body.severity).toBe("FATAL");
    // The driver only parses 400 bodies; anything else becomes a plain "Server error" message.
    const err = await failure(neon(conn)`select 1`);
    expect(err.message).toMatch(/^Server error \(HTTP status 500\): .*trust.* authentication failed/);
  });

  it("cancel a statement that outlives the time limit, in Postgres too", async () => {
    const started = Date.now();
    const err = await failure(sql`select pg_sleep(30), ${"neon-http-timeout-probe"}::text`);
    expect(err.code).toBe("08P01");
    expect(err.message).toBe("Query cancelled, connection was terminated");
    expect(Date.now() - started).toBeLessThan(5_000);
    // The backend must have stopped sleeping, not just the HTTP request.
    await expect.poll(() => onPrimary("postgres", async (c) => (await c.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where state = 'active' and query like '%pg_sleep(30)%' and pid <> pg_backend_pid()")).rows[0]?.n),
    { timeout: 5_000, interval: 100 }).toBe(0);
    expect(await sql`select 3 as three`).toEqual([{ three: 3 }]);
  });

  it("refuse responses over Neon's 10 MiB limit", async () => {
    const err = await failure(sql`select repeat('x', 1000000) from generate_series(1, 12)`);
    expect(err.message).toMatch(/HTTP status 507.*response is too large/);
    expect(await sql`select 4 as four`).toEqual([{ four: 4 }]);
  });

  it("answer malformed requests like Neon", async () => {
    const post = (body: string, headers: Record<string, string> = { "Neon-Connection-String": readUrl }): Promise<Response> =>
      fetch(sqlUrl(), { method: "POST", headers, body });
    const bad = await post("{not json");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/^could not parse the HTTP request body/);
    const wrongShape = await post(JSON.stringify({ sql: "select 1" }));
    expect(wrongShape.status).toBe(400);
    const noHeader = await post(JSON.stringify({ query: "select 1" }), {});
    expect(((await noHeader.json()) as { message: string }).message).toBe("invalid header: neon-connection-string");
    const badIso = await post(JSON.stringify({ queries: [] }), { "Neon-Connection-String": readUrl, "Neon-Batch-Isolation-Level": "Chaos" });
    expect([badIso.status, ((await badIso.json()) as { message: string }).message]).toEqual([400, "invalid isolation level"]);
    const get = await fetch(sqlUrl());
    expect(get.status).toBe(400);
    await get.body?.cancel();
    const jwt = await failure(neon(readUrl, { authToken: "token" })`select 1`);
    expect(jwt.message).toMatch(/JWT/);
    // The WebSocket side's plain-HTTP answer is unchanged.
    const ws = await fetch(`http://127.0.0.1:${proxy.port}/v1`);
    expect(ws.status).toBe(426);
    await ws.body?.cancel();
  });
});

describe("Neon's other output modes (not used by the driver, which always asks for raw text arrays)", () => {
  interface Result { rows: unknown[]; rowAsArray: boolean; command: string; rowCount: number | null }

  it("typed JSON values, object rows, JSON parameters and echoed transaction headers", async () => {
    const res = await fetch(sqlUrl(), {
      method: "POST",
      headers: { "Neon-Connection-String": readUrl, "Neon-Batch-Read-Only": "true", "Neon-Batch-Isolation-Level": "RepeatableRead" },
      body: JSON.stringify({
        queries: [
          {
            query: `select 1::int2 as s, 2::int4 as i, 3::int8 as b, 1.5::float8 as f, 'Infinity'::float4 as inf, true as t,
              '{"a":1}'::jsonb as j, '[1:2]={1,NULL}'::int[] as arr, array['x y', null, 'NULL', '{"q":1}']::text[] as txt,
              array['{"k":2}']::jsonb[] as ja, '{}'::bool[] as empty, $1::text as p1, $2::text as p2, $3::int[] as p3, $4::jsonb as p4, $5::text as p5`,
            params: [42, true, [1, 2, null], { z: [1] }, null],
          },
          { query: "select 1 as a", arrayMode: true },
        ],
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("neon-batch-read-only")).toBe("true");
    expect(res.headers.get("neon-batch-isolation-level")).toBe("RepeatableRead");
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const { results } = (await res.json()) as { results: Result[] };
    expect(results[0]?.rowAsArray).toBe(false);
    expect(results[0]?.rows).toEqual([{
      s: 1, i: 2, b: "3", f: 1.5, inf: "Infinity", t: true, j: { a: 1 }, arr: [1, null], txt: ["x y", null, "NULL", '{"q":1}'],
      ja: [{ k: 2 }], empty: [], p1: "42", p2: "true", p3: [1, 2, null], p4: { z: [1] }, p5: null,
    }]);
    expect(results[1]).toMatchObject({ rowAsArray: true, rows: [[1]], command: "SELECT", rowCount: 1 });
  });
});

describe("connection reuse", () => {
  it("keeps one connection for sequential requests and opens more only for concurrent ones", async () => {
    const sql = neon(pgUrl(fwd.port, READ_DB));
    for (let i = 0; i < 10; i++) expect(await sql`select ${i}::int as i`).toEqual([{ i }]);
    expect(fwd.accepted).toBe(1);
    const many = await Promise.all(Array.from({ length: 5 }, (_, i) => sql`select ${i}::int as i, pg_sleep(0.05)`));
    expect(many.map((r) => r[0]?.i as number)).toEqual([0, 1, 2, 3, 4]);
    expect(fwd.accepted).toBeGreaterThan(1);
    expect(fwd.accepted).toBeLessThanOrEqual(5);
    const after = fwd.accepted;
    for (let i = 0; i < 5; i++) await sql`select 1`;
    expect(fwd.accepted).toBe(after);
  });
});

describe("drizzle-orm/neon-http", () => {
  // Last on purpose: drizzle's neon-http driver registers *global* type parsers on the driver that keep
  // date/time values as strings (its column mappers parse them), which would change the results above.
  it("execute() returns { rows } parsed by the driver", async () => {
    const db = drizzle({ client: neon(readUrl) });
    const res = await db.execute(dsql`select ${5}::int as five, count(*)::int8 as n, '2024-01-02 03:04:05+00'::timestamptz as at from products`);
    expect(res.rows).toHaveLength(1);
    expect(res.rows[0]).toMatchObject({ five: 5, n: expect.stringMatching(/^\d+$/) as unknown, at: "2024-01-02 03:04:05+00" });
    expect(res.command).toBe("SELECT");
    expect(res.rowCount).toBe(1);
  });

  it("batch() runs as one HTTP transaction", async () => {
    const db = drizzle({ client: neon(readUrl) });
    const [a, b] = await db.batch([db.execute(dsql`select txid_current() as tx`), db.execute(dsql`select txid_current() as tx`)]);
    expect(a.rows[0]?.tx).toBe(b.rows[0]?.tx);
  });
});
