/**
 * The local Neon stand-in against real processes: primary, streaming replica, the two PgBouncers and
 * the WebSocket proxy that @neondatabase/serverless talks to.
 *
 * Services this file starts are left running on purpose: the stack is shared with the dev server and
 * other test files, and `stack:down` is what tears it down.
 */
import { Pool as NeonPool, neonConfig } from "@neondatabase/serverless";
import { Client } from "pg";
import type { QueryResultRow } from "pg";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackConfig, pgUrl } from "../../dev/config.js";
import {
  ensureDatabase,
  ensurePgBouncers,
  ensurePostgresPrimary,
  ensureRedis,
  ensureReplica,
  waitForReplicaCatchUp,
} from "../../dev/services.js";
import { startWsProxy } from "../../dev/ws-proxy.js";
import type { WsProxy } from "../../dev/ws-proxy.js";

const cfg = loadStackConfig();
const DB = "nexusbooks_stacktest";
const log = (msg: string): void => console.log(`[stack-services] ${msg}`);

/** One query on a fresh connection, so every check really goes through the port under test. */
async function q<R extends QueryResultRow>(port: number, database: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new Client({ host: "127.0.0.1", port, user: "postgres", database, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function connect(port: number, database: string): Promise<Client> {
  const client = new Client({ host: "127.0.0.1", port, user: "postgres", database, connectionTimeoutMillis: 5_000 });
  await client.connect();
  return client;
}

/** Unique per run so parallel or crashed earlier runs cannot collide with this one. */
function scratchTable(tag: string): string {
  return `stacktest_${tag}_${process.pid}_${Date.now().toString(36)}`;
}

async function dropOnPrimary(table: string): Promise<void> {
  await q(cfg.pgPrimaryPort, DB, `DROP TABLE IF EXISTS ${table}`);
}

beforeAll(async () => {
  await ensurePostgresPrimary(cfg, log);
  await ensureReplica(cfg, log);
  await ensurePgBouncers(cfg, log);
  await ensureDatabase(cfg, DB, log);
  // CREATE DATABASE must be replayed before the replica bouncer can open the database there.
  await waitForReplicaCatchUp(cfg, 30_000);
}, 10 * 60_000);

describe("ensure* idempotence", () => {
  it("returns null / [] when everything already runs", async () => {
    expect(await ensurePostgresPrimary(cfg, log)).toBeNull();
    expect(await ensureReplica(cfg, log)).toBeNull();
    expect(await ensurePgBouncers(cfg, log)).toEqual([]);
    // Redis is not needed by this file, but its ensure must follow the same contract.
    await ensureRedis(cfg, log);
    expect(await ensureRedis(cfg, log)).toBeNull();
    await ensureDatabase(cfg, DB, log);
  });

  it("set up pg_hba for replication and the extensions in the scratch database", async () => {
    const rules = await q<{ n: number }>(cfg.pgPrimaryPort, "postgres",
      "SELECT count(*)::int AS n FROM pg_hba_file_rules WHERE type = 'host' AND 'replication' = ANY(database) AND address = '127.0.0.1' AND auth_method = 'trust'");
    expect(rules[0]?.n).toBeGreaterThanOrEqual(1);
    const exts = await q<{ extname: string }>(cfg.pgPrimaryPort, DB, "SELECT extname FROM pg_extension ORDER BY extname");
    expect(exts.map((e) => e.extname)).toEqual(expect.arrayContaining(["pg_trgm", "pgcrypto", "unaccent"]));
  });
});

describe("read replica", () => {
  it("is a hot standby of this primary, also through the replica bouncer", async () => {
    expect((await q<{ r: boolean }>(cfg.pgReplicaPort, "postgres", "SELECT pg_is_in_recovery() AS r"))[0]?.r).toBe(true);
    expect((await q<{ r: boolean }>(cfg.bouncerReplicaPort, DB, "SELECT pg_is_in_recovery() AS r"))[0]?.r).toBe(true);
    expect((await q<{ r: boolean }>(cfg.pgPrimaryPort, "postgres", "SELECT pg_is_in_recovery() AS r"))[0]?.r).toBe(false);
    expect((await q<{ r: boolean }>(cfg.bouncerPrimaryPort, DB, "SELECT pg_is_in_recovery() AS r"))[0]?.r).toBe(false);

    const idSql = "SELECT system_identifier::text AS id FROM pg_control_system()";
    const [p] = await q<{ id: string }>(cfg.pgPrimaryPort, "postgres", idSql);
    const [r] = await q<{ id: string }>(cfg.pgReplicaPort, "postgres", idSql);
    expect(r?.id).toBe(p?.id);

    const receiver = await q<{ status: string; sender_port: number }>(cfg.pgReplicaPort, "postgres",
      "SELECT status, sender_port FROM pg_stat_wal_receiver");
    expect(receiver[0]).toMatchObject({ status: "streaming", sender_port: cfg.pgPrimaryPort });
    const senders = await q<{ state: string }>(cfg.pgPrimaryPort, "postgres", "SELECT state FROM pg_stat_replication");
    expect(senders.map((s) => s.state)).toContain("streaming");
  });

  it("refuses writes", async () => {
    await expect(q(cfg.pgReplicaPort, DB, "CREATE TABLE stacktest_never (id int)")).rejects.toThrow(/read-only transaction/);
  });

  it("shows rows written on the primary after catch-up", async () => {
    const table = scratchTable("stream");
    try {
      await q(cfg.pgPrimaryPort, DB, `CREATE TABLE ${table} (id int PRIMARY KEY, note text NOT NULL)`);
      await q(cfg.pgPrimaryPort, DB, `INSERT INTO ${table} VALUES (1, $1)`, ["hello replica"]);
      await waitForReplicaCatchUp(cfg, 10_000);
      expect(await q(cfg.pgReplicaPort, DB, `SELECT id, note FROM ${table}`)).toEqual([{ id: 1, note: "hello replica" }]);
      expect(await q(cfg.bouncerReplicaPort, DB, `SELECT id, note FROM ${table}`)).toEqual([{ id: 1, note: "hello replica" }]);
    } finally {
      await dropOnPrimary(table);
    }
  });

  it("hides new rows while WAL replay is paused and shows them after resume", async () => {
    const table = scratchTable("pause");
    await q(cfg.pgPrimaryPort, DB, `CREATE TABLE ${table} (id int PRIMARY KEY)`);
    await q(cfg.pgPrimaryPort, DB, `INSERT INTO ${table} VALUES (1)`);
    await waitForReplicaCatchUp(cfg, 10_000);
    const replica = await connect(cfg.pgReplicaPort, DB);
    try {
      await replica.query("SELECT pg_wal_replay_pause()");
      // pause() only requests the pause; the startup process acknowledges it asynchronously.
      await expect.poll(async () => (await replica.query<{ s: string }>("SELECT pg_get_wal_replay_pause_state() AS s")).rows[0]?.s,
        { timeout: 5_000, interval: 50 }).toBe("paused");

      await q(cfg.pgPrimaryPort, DB, `INSERT INTO ${table} VALUES (2)`);
      const [{ lsn } = { lsn: "" }] = await q<{ lsn: string }>(cfg.pgPrimaryPort, "postgres", "SELECT pg_current_wal_lsn()::text AS lsn");
      // Wait until the WAL has been *received*, so the missing row proves the pause and not plain lag.
      await expect.poll(async () => (await replica.query<{ ok: boolean }>(
        "SELECT coalesce(pg_last_wal_receive_lsn() >= $1::pg_lsn, false) AS ok", [lsn])).rows[0]?.ok,
        { timeout: 10_000, interval: 50 }).toBe(true);

      expect((await replica.query<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`)).rows).toEqual([{ id: 1 }]);
      await expect(waitForReplicaCatchUp(cfg, 300)).rejects.toThrow(/paused/);

      await replica.query("SELECT pg_wal_replay_resume()");
      await waitForReplicaCatchUp(cfg, 10_000);
      expect((await replica.query<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`)).rows).toEqual([{ id: 1 }, { id: 2 }]);
    } finally {
      // A replica left paused would silently serve stale data to everyone else using the stack.
      await replica.query("SELECT pg_wal_replay_resume()").catch(() => undefined);
      await replica.end();
      await dropOnPrimary(table);
    }
  });
});

describe("PgBouncer", () => {
  it.each([
    ["primary", cfg.bouncerPrimaryPort, cfg.pgPrimaryPort],
    ["replica", cfg.bouncerReplicaPort, cfg.pgReplicaPort],
  ])("%s bouncer is configured for transaction pooling", async (_role, port, target) => {
    // The admin console only speaks the simple query protocol, which pg uses for parameterless queries.
    const config = await q<{ key: string; value: string }>(port, "pgbouncer", "SHOW CONFIG");
    const get = (key: string): string | undefined => config.find((r) => r.key === key)?.value;
    expect(get("pool_mode")).toBe("transaction");
    expect(get("max_client_conn")).toBe("1000");
    expect(get("default_pool_size")).toBe("20");
    expect(get("server_reset_query")).toBe("");
    expect(get("ignore_startup_parameters")).toContain("options");

    await q(port, DB, "SELECT 1"); // make sure the pool for DB exists
    const pools = await q<{ database: string; user: string; pool_mode: string }>(port, "pgbouncer", "SHOW POOLS");
    expect(pools.find((p) => p.database === DB && p.user === "postgres")?.pool_mode).toBe("transaction");

    const dbs = await q<{ name: string; port: number }>(port, "pgbouncer", "SHOW DATABASES");
    expect(dbs.find((d) => d.name === DB)?.port).toBe(target);
  });

  it("hands one server connection to successive clients between transactions", async () => {
    const a = await connect(cfg.bouncerPrimaryPort, DB);
    const b = await connect(cfg.bouncerPrimaryPort, DB);
    try {
      const pid = async (c: Client): Promise<number> => (await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid ?? -1;
      // Session mode would pin a server per client (pids always differ); transaction mode releases
      // the server after each statement and hands back the most recently used idle one.
      const first = await pid(a);
      expect(await pid(b)).toBe(first);

      // Inside an open transaction, a holds its server, so b must get another one.
      await a.query("BEGIN");
      const held = await pid(a);
      expect(await pid(b)).not.toBe(held);
      await a.query("COMMIT");
    } finally {
      await a.end();
      await b.end();
    }
  });
});

describe("ws proxy + @neondatabase/serverless", () => {
  let proxy: WsProxy;

  beforeAll(async () => {
    // Port 0: a proxy started by the dev launcher may already own cfg.wsProxyPort.
    proxy = await startWsProxy({
      port: 0,
      allowedTargets: [`127.0.0.1:${cfg.bouncerPrimaryPort}`, `127.0.0.1:${cfg.bouncerReplicaPort}`],
    });
    neonConfig.webSocketConstructor = WebSocket;
    neonConfig.wsProxy = (host, port) => `127.0.0.1:${proxy.port}/v1?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  });

  afterAll(async () => {
    await proxy.close();
  });

  it("runs plain, parameterised and transactional queries via proxy → bouncer → Postgres", async () => {
    const pool = new NeonPool({ connectionString: pgUrl(cfg.bouncerPrimaryPort, DB), max: 2 });
    pool.on("error", (err: Error) => log(`neon pool error: ${err.message}`));
    try {
      expect((await pool.query<{ one: number }>("select 1 as one")).rows).toEqual([{ one: 1 }]);
      const r = await pool.query<{ n: number; s: string; rec: boolean }>(
        "select $1::int + 1 as n, $2::text as s, pg_is_in_recovery() as rec", [41, "über ✓"]);
      expect(r.rows).toEqual([{ n: 42, s: "über ✓", rec: false }]);

      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const t = await client.query<{ x: string }>("select $1::text as x", ["in-tx"]);
        expect(t.rows[0]?.x).toBe("in-tx");
        await client.query("COMMIT");
      } finally {
        client.release();
      }

      // A result bigger than one WebSocket frame / TCP chunk exercises the streaming path.
      const big = await pool.query<{ n: number }>("select count(*)::int as n from (select repeat('x', 1000) from generate_series(1, 2000)) s");
      expect(big.rows[0]?.n).toBe(2000);
      const rows = await pool.query<{ s: string }>("select repeat('y', 1000) as s from generate_series(1, 2000)");
      expect(rows.rowCount).toBe(2000);
    } finally {
      await pool.end();
    }
  });

  it("accepts Neon-style connection strings carrying options=endpoint%3D... (ignored by PgBouncer)", async () => {
    // Neon puts the endpoint id in the `options` startup parameter; without
    // ignore_startup_parameters=options PgBouncer would reject the login.
    const pool = new NeonPool({ connectionString: `${pgUrl(cfg.bouncerPrimaryPort, DB)}?options=endpoint%3Dep-local`, max: 1 });
    pool.on("error", (err: Error) => log(`neon pool error: ${err.message}`));
    try {
      expect((await pool.query<{ db: string }>("select current_database() as db")).rows).toEqual([{ db: DB }]);
    } finally {
      await pool.end();
    }
  });

  it("reaches the replica through the replica bouncer", async () => {
    const pool = new NeonPool({ connectionString: pgUrl(cfg.bouncerReplicaPort, DB), max: 1 });
    pool.on("error", (err: Error) => log(`neon pool error: ${err.message}`));
    try {
      const r = await pool.query<{ rec: boolean; v: number }>("select pg_is_in_recovery() as rec, $1::int as v", [7]);
      expect(r.rows).toEqual([{ rec: true, v: 7 }]);
    } finally {
      await pool.end();
    }
  });

  /** Resolves with the HTTP status of a refused upgrade, or "open" if the proxy accepted it. */
  function upgradeStatus(query: string): Promise<number | "open"> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/v1${query}`);
      ws.on("unexpected-response", (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on("open", () => {
        resolve("open");
        ws.close();
      });
      ws.on("error", (err) => reject(err));
    });
  }

  it("refuses targets outside the allow-list (no open relay)", async () => {
    expect(await upgradeStatus(`?address=127.0.0.1:${cfg.pgPrimaryPort}`)).toBe(403);
    expect(await upgradeStatus("?address=127.0.0.1:22")).toBe(403);
    expect(await upgradeStatus("?address=example.com:6432")).toBe(403);
    expect(await upgradeStatus("")).toBe(400);
    expect(await upgradeStatus("?address=nonsense")).toBe(400);
    expect(await upgradeStatus(`?address=127.0.0.1:${cfg.bouncerPrimaryPort}`)).toBe("open");

    const res = await fetch(`http://127.0.0.1:${proxy.port}/v1`);
    expect(res.status).toBe(426);

    // The driver itself gets an error, not a connection, for a direct-to-Postgres address. It rejects
    // with the ws ErrorEvent (not an Error instance), whose message carries the HTTP status.
    const pool = new NeonPool({ connectionString: pgUrl(cfg.pgPrimaryPort, DB), max: 1, connectionTimeoutMillis: 5_000 });
    pool.on("error", () => undefined);
    try {
      await expect(pool.query("select 1")).rejects.toMatchObject({ message: expect.stringContaining("403") as unknown });
    } finally {
      await pool.end();
    }
  });
});
