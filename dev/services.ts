/**
 * Service management for the local stack: the stand-ins for Neon's primary, read replica and pooled
 * endpoints (Postgres + a streaming replica + two PgBouncers) and for Upstash (a plain Redis).
 *
 * Every ensure* function is idempotent: it reuses whatever already runs and returns a handle only for
 * what it started itself, so a caller can tear down exactly that and nothing that others rely on.
 * A per-service lock file serialises concurrent callers (the launcher and parallel test workers), so two
 * processes never race to start the same server.
 */
import { spawn } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Client, escapeIdentifier } from "pg";
import type { StackConfig } from "./config.js";

export interface StartedService {
  name: string;
  stop(): Promise<void>;
}

export type Log = (msg: string) => void;

/* ------------------------------------------------------------------------------------------------ */
/* Process helpers                                                                                   */
/* ------------------------------------------------------------------------------------------------ */

interface RunResult {
  stdout: string;
  stderr: string;
}

interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Tools run as postgres warn when they cannot read the caller's cwd (often under /root). */
  cwd?: string;
}

/**
 * Runs a command without a shell. Resolves on process exit rather than on stdio close, because
 * daemonising commands (pgbouncer -d, redis --daemonize, pg_ctl start) may leave a grandchild that
 * briefly holds the pipes; waiting for those would hang until the timeout.
 */
function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: opts.env ?? process.env,
      cwd: opts.cwd ?? "/tmp",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    const describe = `${cmd} ${args.join(" ")}`;
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${describe}: ${err.message}`, { cause: err }));
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      // Give already-written output a moment to arrive, then stop listening.
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        if (code === 0) {
          resolve({ stdout, stderr });
          return;
        }
        const why = timedOut ? `timed out after ${timeoutMs} ms` : signal ? `killed by ${signal}` : `exit code ${code}`;
        const output = `${stderr}${stdout}`.trim();
        reject(new Error(`${describe} failed (${why})${output ? `:\n${output}` : ""}`));
      }, 50);
    });
  });
}

/** Postgres and PgBouncer refuse to run as root, so their tools run as the postgres OS user. */
function runAsPostgres(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run("runuser", ["-u", "postgres", "--", cmd, ...args], opts);
}

async function commandExists(cmd: string): Promise<boolean> {
  const dirs = new Set([...(process.env.PATH ?? "").split(":"), "/usr/local/sbin", "/usr/sbin", "/sbin"]);
  for (const dir of dirs) {
    if (dir === "") continue;
    try {
      await fs.access(path.join(dir, cmd), fsConstants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

async function pathExists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

function errCode(e: unknown): string | undefined {
  if (typeof e === "object" && e !== null && "code" in e) {
    const code = (e).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM means it exists but belongs to someone else; still alive.
    return errCode(e) === "EPERM";
  }
}

/** Polls `check` until it returns true; throws `message` (which should name the service, port and log). */
async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, message: string, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new Error(`${message} (waited ${Math.round(timeoutMs / 1000)} s)`);
    await sleep(intervalMs);
  }
}

async function tailFile(file: string, lines = 20): Promise<string> {
  try {
    const text = await fs.readFile(file, "utf8");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(log file not readable)";
  }
}

/* ------------------------------------------------------------------------------------------------ */
/* Cross-process lock                                                                               */
/* ------------------------------------------------------------------------------------------------ */

/**
 * A lock file holding the owner's pid. Parallel vitest workers and the launcher may call the same
 * ensure* at once; without this both would see "not running" and the second start would fail on a
 * busy port or, worse, wipe a replica the first one is still building.
 */
async function withLock<T>(name: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const file = path.join(os.tmpdir(), `nexusbooks-stack-${name}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await fs.open(file, "wx");
      try {
        await fh.writeFile(String(process.pid));
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if (errCode(e) !== "EEXIST") throw e;
      const [content, stat] = await Promise.all([
        fs.readFile(file, "utf8").catch(() => ""),
        fs.stat(file).catch(() => null),
      ]);
      const holder = Number(content.trim());
      // An empty file younger than a few seconds is a holder that has not written its pid yet.
      const stale = Number.isInteger(holder) && holder > 0
        ? !pidAlive(holder)
        : stat === null || Date.now() - stat.mtimeMs > 5_000;
      if (stale) {
        await fs.rm(file, { force: true });
        continue;
      }
      if (Date.now() >= deadline) {
        throw new Error(`Timed out waiting for lock ${file} held by pid ${content.trim() || "?"}; delete the file if that process is gone`);
      }
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(file, { force: true });
  }
}

/* ------------------------------------------------------------------------------------------------ */
/* OS user / directories                                                                            */
/* ------------------------------------------------------------------------------------------------ */

let postgresIds: Promise<{ uid: number; gid: number }> | undefined;

function postgresUser(): Promise<{ uid: number; gid: number }> {
  postgresIds ??= (async () => {
    const [u, g] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
    return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
  })();
  return postgresIds;
}

/** Creates `dir` (and missing parents) owned by postgres; pre-existing ancestors keep their owner. */
async function ensurePostgresOwnedDir(dir: string, mode = 0o750): Promise<void> {
  const { uid, gid } = await postgresUser();
  const firstCreated = await fs.mkdir(dir, { recursive: true, mode });
  const toChown: string[] = [dir];
  if (firstCreated !== undefined) {
    // mkdir reports the topmost directory it created; everything from there down to dir is new.
    for (let d = path.dirname(dir); d.startsWith(firstCreated); d = path.dirname(d)) {
      toChown.push(d);
      if (d === firstCreated) break;
    }
  }
  for (const d of toChown) await fs.chown(d, uid, gid);
}

async function writePostgresOwnedFile(file: string, content: string, mode: number): Promise<void> {
  const { uid, gid } = await postgresUser();
  await fs.writeFile(file, content, { mode });
  await fs.chmod(file, mode);
  await fs.chown(file, uid, gid);
}

/* ------------------------------------------------------------------------------------------------ */
/* apt                                                                                              */
/* ------------------------------------------------------------------------------------------------ */

let aptUpdated = false;
const aptEnv = (): NodeJS.ProcessEnv => ({ ...process.env, DEBIAN_FRONTEND: "noninteractive" });

async function packageInstalled(pkg: string): Promise<boolean> {
  try {
    const { stdout } = await run("dpkg-query", ["-W", "-f=${Status}", pkg], { timeoutMs: 15_000 });
    return stdout.includes("install ok installed");
  } catch {
    return false;
  }
}

/**
 * Installs the Debian packages that are not installed yet. `apt-get update` runs at most once per
 * process and only when something is missing, so the common case costs a few dpkg-query calls.
 */
export async function ensureAptPackages(pkgs: string[], log: Log): Promise<void> {
  for (const p of pkgs) {
    // Package names go to apt as argv, but a leading "-" would still be read as an option.
    if (!/^[a-z0-9][a-z0-9+.-]*$/.test(p)) throw new Error(`Not a Debian package name: ${JSON.stringify(p)}`);
  }
  await withLock("apt", 15 * 60_000, async () => {
    const missing: string[] = [];
    for (const p of pkgs) if (!(await packageInstalled(p))) missing.push(p);
    if (missing.length === 0) return;
    if (!aptUpdated) {
      log(`[apt] apt-get update (needed for: ${missing.join(", ")})`);
      await run("apt-get", ["update"], { timeoutMs: 10 * 60_000, env: aptEnv() });
      aptUpdated = true;
    }
    log(`[apt] apt-get install -y ${missing.join(" ")}`);
    await run("apt-get", ["install", "-y", ...missing], { timeoutMs: 15 * 60_000, env: aptEnv() });
  });
}

/* ------------------------------------------------------------------------------------------------ */
/* Postgres helpers                                                                                 */
/* ------------------------------------------------------------------------------------------------ */

function pgBin(cfg: StackConfig, tool: string): string {
  return `/usr/lib/postgresql/${cfg.pgVersion}/bin/${tool}`;
}

function primaryLogFile(cfg: StackConfig): string {
  return `/var/log/postgresql/postgresql-${cfg.pgVersion}-main.log`;
}

function replicaLogFile(cfg: StackConfig): string {
  return path.join(path.dirname(path.resolve(cfg.pgReplicaDir)), "replica.log");
}

/** Opens a short-lived client as postgres over TCP (trust on 127.0.0.1), runs fn, always closes. */
async function withPg<T>(port: number, database: string, fn: (c: Client) => Promise<T>, connectTimeoutMs = 3_000): Promise<T> {
  const client = new Client({ host: "127.0.0.1", port, user: "postgres", database, connectionTimeoutMillis: connectTimeoutMs });
  // A server shutting down under us emits 'error' on an idle client; the pending query reports it anyway.
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function canQuery(port: number, database = "postgres"): Promise<boolean> {
  try {
    await withPg(port, database, async (c) => {
      await c.query("SELECT 1");
    }, 2_000);
    return true;
  } catch {
    return false;
  }
}

/** pg_isready only asks "is a postmaster accepting connections", independent of authentication. */
async function pgIsReady(port: number): Promise<boolean> {
  try {
    await run("pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(port), "-t", "2"], { timeoutMs: 5_000 });
    return true;
  } catch {
    // Missing binary (postgres not installed yet) counts as "not ready"; fall back to a real query.
    return canQuery(port);
  }
}

function tcpAnswers(port: number, host = "127.0.0.1", timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

async function systemIdentifier(port: number): Promise<string> {
  return withPg(port, "postgres", async (c) => {
    const r = await c.query<{ id: string }>("SELECT system_identifier::text AS id FROM pg_control_system()");
    const id = r.rows[0]?.id;
    if (id === undefined) throw new Error(`pg_control_system() returned nothing on port ${port}`);
    return id;
  });
}

/* ------------------------------------------------------------------------------------------------ */
/* Primary                                                                                          */
/* ------------------------------------------------------------------------------------------------ */

interface HbaRule {
  line: string;
  database: string;
}

const REQUIRED_HBA: readonly HbaRule[] = [
  { line: "host    all             all             127.0.0.1/32            trust", database: "all" },
  // "all" in the database column does not cover replication connections; pg_basebackup and the
  // replica's walreceiver need this explicit entry.
  { line: "host    replication     all             127.0.0.1/32            trust", database: "replication" },
];

function hbaHasRule(text: string, rule: HbaRule): boolean {
  return text.split("\n").some((raw) => {
    const fields = raw.replace(/#.*/, "").trim().split(/\s+/);
    return fields.length >= 5 && fields[0] === "host" && fields[1] === rule.database && fields[2] === "all" &&
      fields[3] === "127.0.0.1/32" && fields[4] === "trust";
  });
}

/** Adds the missing trust rules at the top (first match wins in pg_hba.conf). Returns whether it changed. */
async function ensureHbaRules(hbaFile: string, log: Log): Promise<boolean> {
  const text = await fs.readFile(hbaFile, "utf8");
  const missing = REQUIRED_HBA.filter((r) => !hbaHasRule(text, r));
  if (missing.length === 0) return false;
  const header = "# Added by NexusBooks dev/services.ts: local stack (replica, PgBouncer) connects over 127.0.0.1 with trust\n";
  // writeFile on the existing path keeps the file's owner and mode (postgres, 0640 on Debian).
  await fs.writeFile(hbaFile, header + missing.map((r) => r.line).join("\n") + "\n\n" + text);
  log(`[postgres] added to ${hbaFile}: ${missing.map((r) => r.line.replace(/\s+/g, " ")).join(" | ")}`);
  return true;
}

async function ensureDebianCluster(cfg: StackConfig, log: Log): Promise<void> {
  const { stdout } = await run("pg_lsclusters", ["-h"]);
  const exists = stdout.split("\n").some((l) => {
    const f = l.trim().split(/\s+/);
    return f[0] === cfg.pgVersion && f[1] === "main";
  });
  if (exists) return;
  log(`[postgres] creating cluster ${cfg.pgVersion}/main on port ${cfg.pgPrimaryPort}`);
  await run("pg_createcluster", [cfg.pgVersion, "main", "--port", String(cfg.pgPrimaryPort)], { timeoutMs: 120_000 });
}

async function startDebianCluster(cfg: StackConfig, action: "start" | "restart"): Promise<void> {
  const port = cfg.pgPrimaryPort;
  try {
    await run("pg_ctlcluster", ["--skip-systemctl-redirect", cfg.pgVersion, "main", action], { timeoutMs: 120_000 });
  } catch (e) {
    throw new Error(`Postgres primary (cluster ${cfg.pgVersion}/main, port ${port}) failed to ${action}; read ${primaryLogFile(cfg)}: ${errMessage(e)}`, { cause: e });
  }
  await waitUntil(() => pgIsReady(port), 60_000,
    `Postgres primary did not accept connections on 127.0.0.1:${port} after ${action}; check the port in /etc/postgresql/${cfg.pgVersion}/main/postgresql.conf and read ${primaryLogFile(cfg)}`);
}

/**
 * Checks the running primary: pg_hba rules for 127.0.0.1 (incl. replication) and WAL settings
 * a streaming replica needs. Runs even when the primary was already up, because a stock Debian
 * pg_hba.conf has no replication rule for 127.0.0.1.
 */
async function checkRunningPrimary(cfg: StackConfig, log: Log): Promise<void> {
  const port = cfg.pgPrimaryPort;
  let hbaFile = `/etc/postgresql/${cfg.pgVersion}/main/pg_hba.conf`;
  let sqlWorks = true;
  try {
    hbaFile = await withPg(port, "postgres", async (c) => (await c.query<{ hba_file: string }>("SHOW hba_file")).rows[0]?.hba_file ?? hbaFile);
  } catch {
    // Likely no trust rule for 127.0.0.1 yet; fix the Debian file and reload without SQL.
    sqlWorks = false;
  }
  const changed = await ensureHbaRules(hbaFile, log);
  if (changed || !sqlWorks) {
    if (sqlWorks) {
      await withPg(port, "postgres", (c) => c.query("SELECT pg_reload_conf()"));
    } else {
      await run("pg_ctlcluster", ["--skip-systemctl-redirect", cfg.pgVersion, "main", "reload"]);
    }
    // The reload is asynchronous (SIGHUP); give the postmaster a moment before callers connect.
    await sleep(300);
  }
  const problems = await withPg(port, "postgres", async (c) => {
    const bad = await c.query<{ line_number: number | null; error: string }>(
      "SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL");
    return bad.rows.map((r) => `line ${r.line_number ?? "?"}: ${r.error}`);
  });
  if (problems.length > 0) throw new Error(`${hbaFile} has errors (the server keeps the old rules): ${problems.join("; ")}`);

  const settings = await withPg(port, "postgres", async (c) => {
    const r = await c.query<{ name: string; setting: string }>(
      "SELECT name, setting FROM pg_settings WHERE name IN ('wal_level', 'max_wal_senders')");
    return new Map(r.rows.map((row) => [row.name, row.setting]));
  });
  const fixes: string[] = [];
  if (settings.get("wal_level") === "minimal") fixes.push("ALTER SYSTEM SET wal_level = 'replica'");
  if (Number(settings.get("max_wal_senders") ?? "0") < 2) fixes.push("ALTER SYSTEM SET max_wal_senders = 10");
  if (fixes.length > 0) {
    log(`[postgres] primary cannot feed a replica (${[...settings].map(([k, v]) => `${k}=${v}`).join(", ")}); ${fixes.join("; ")} and restarting`);
    await withPg(port, "postgres", async (c) => {
      for (const sql of fixes) await c.query(sql);
    });
    await startDebianCluster(cfg, "restart");
  }
}

/**
 * Makes sure the Debian cluster `<pgVersion> main` runs on cfg.pgPrimaryPort with trust for
 * 127.0.0.1 (including replication) and WAL settings that allow a streaming replica.
 * @returns a handle that stops the cluster if this call started it, otherwise null.
 */
export async function ensurePostgresPrimary(cfg: StackConfig, log: Log): Promise<StartedService | null> {
  return withLock("pg-primary", 5 * 60_000, async () => {
    const port = cfg.pgPrimaryPort;
    let started: StartedService | null = null;
    if (!(await pgIsReady(port))) {
      if (!(await commandExists("pg_ctlcluster"))) await ensureAptPackages(["postgresql", `postgresql-${cfg.pgVersion}`], log);
      await ensureDebianCluster(cfg, log);
      const hbaFile = `/etc/postgresql/${cfg.pgVersion}/main/pg_hba.conf`;
      if (await pathExists(hbaFile)) await ensureHbaRules(hbaFile, log);
      log(`[postgres] starting cluster ${cfg.pgVersion}/main on port ${port}`);
      await startDebianCluster(cfg, "start");
      started = {
        name: "postgres-primary",
        stop: async () => {
          await run("pg_ctlcluster", ["--skip-systemctl-redirect", cfg.pgVersion, "main", "stop"], { timeoutMs: 120_000 });
        },
      };
    }
    await checkRunningPrimary(cfg, log);
    return started;
  });
}

/* ------------------------------------------------------------------------------------------------ */
/* Replica                                                                                          */
/* ------------------------------------------------------------------------------------------------ */

interface RunningServer {
  inRecovery: boolean;
  systemId: string;
  dataDir: string;
}

async function inspectServer(port: number): Promise<RunningServer | null> {
  try {
    return await withPg(port, "postgres", async (c) => {
      const r = await c.query<{ rec: boolean; id: string; dir: string }>(
        "SELECT pg_is_in_recovery() AS rec, (SELECT system_identifier::text FROM pg_control_system()) AS id, current_setting('data_directory') AS dir");
      const row = r.rows[0];
      if (row === undefined) return null;
      return { inRecovery: row.rec, systemId: row.id, dataDir: row.dir };
    }, 2_000);
  } catch {
    return null;
  }
}

async function samePath(a: string, b: string): Promise<boolean> {
  const real = async (p: string): Promise<string> => fs.realpath(p).catch(() => path.resolve(p));
  return (await real(a)) === (await real(b));
}

/**
 * Guards the recursive delete: the path comes from an environment variable, and a typo must not
 * take the primary's data directory or an unrelated folder with it.
 */
async function wipeReplicaDir(cfg: StackConfig, primaryDataDir: string, log: Log): Promise<void> {
  const dir = path.resolve(cfg.pgReplicaDir);
  if (dir.split(path.sep).filter(Boolean).length < 3) throw new Error(`Refusing to wipe ${dir}: path too short for a replica data dir`);
  if (await samePath(dir, primaryDataDir)) throw new Error(`Refusing to wipe ${dir}: it is the primary's data directory`);
  if (!(await pathExists(dir))) return;
  const entries = await fs.readdir(dir);
  if (entries.length > 0 && !entries.includes("PG_VERSION")) {
    throw new Error(`Refusing to wipe ${dir}: not empty and not a Postgres data directory (no PG_VERSION)`);
  }
  log(`[replica] wiping ${dir}`);
  await fs.rm(dir, { recursive: true, force: true });
}

async function primaryHotStandbyLimits(cfg: StackConfig): Promise<Map<string, number>> {
  // A hot standby refuses to start when any of these is lower than on the primary.
  const names = ["max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions", "max_locks_per_transaction"];
  return withPg(cfg.pgPrimaryPort, "postgres", async (c) => {
    const r = await c.query<{ name: string; setting: string }>("SELECT name, setting FROM pg_settings WHERE name = ANY($1)", [names]);
    return new Map(r.rows.map((row) => [row.name, Number(row.setting)]));
  });
}

/**
 * Debian keeps postgresql.conf and pg_hba.conf in /etc, so a base backup of its data directory has
 * neither; the replica gets its own minimal set. Rewritten on every start so config changes apply.
 */
async function writeReplicaConfig(cfg: StackConfig): Promise<void> {
  const dir = path.resolve(cfg.pgReplicaDir);
  const limits = await primaryHotStandbyLimits(cfg);
  const atLeast = (name: string, floor: number): number => Math.max(floor, limits.get(name) ?? floor);
  const conf = [
    "# Written by NexusBooks dev/services.ts (streaming replica standing in for Neon's read replica).",
    "# Rewritten on every start; put lasting changes in dev/services.ts.",
    `port = ${cfg.pgReplicaPort}`,
    "listen_addresses = '127.0.0.1'",
    "unix_socket_directories = '/tmp'",
    "hot_standby = on",
    // Long read queries on the replica would otherwise be cancelled by vacuum cleanup replay.
    "hot_standby_feedback = on",
    `max_connections = ${atLeast("max_connections", 100)}`,
    `max_worker_processes = ${atLeast("max_worker_processes", 8)}`,
    `max_wal_senders = ${atLeast("max_wal_senders", 10)}`,
    `max_prepared_transactions = ${atLeast("max_prepared_transactions", 0)}`,
    `max_locks_per_transaction = ${atLeast("max_locks_per_transaction", 64)}`,
    "shared_buffers = 64MB",
    "ssl = off",
    `hba_file = '${path.join(dir, "pg_hba.conf")}'`,
    `ident_file = '${path.join(dir, "pg_ident.conf")}'`,
    // stderr goes to the file given to pg_ctl -l.
    "logging_collector = off",
    "log_destination = 'stderr'",
    "log_line_prefix = '%m [%p] replica '",
    "",
  ].join("\n");
  const hba = [
    "# Written by NexusBooks dev/services.ts",
    "local   all             all                                     trust",
    "host    all             all             127.0.0.1/32            trust",
    "host    replication     all             127.0.0.1/32            trust",
    "",
  ].join("\n");
  await writePostgresOwnedFile(path.join(dir, "postgresql.conf"), conf, 0o600);
  await writePostgresOwnedFile(path.join(dir, "pg_hba.conf"), hba, 0o600);
  await writePostgresOwnedFile(path.join(dir, "pg_ident.conf"), "# empty\n", 0o600);
}

async function baseBackup(cfg: StackConfig, log: Log): Promise<void> {
  const dir = path.resolve(cfg.pgReplicaDir);
  log(`[replica] pg_basebackup from 127.0.0.1:${cfg.pgPrimaryPort} into ${dir}`);
  try {
    await runAsPostgres(pgBin(cfg, "pg_basebackup"),
      ["-h", "127.0.0.1", "-p", String(cfg.pgPrimaryPort), "-U", "postgres", "-D", dir, "-R", "-X", "stream", "-c", "fast"],
      { timeoutMs: 10 * 60_000 });
  } catch (e) {
    throw new Error(`Replica base backup from primary 127.0.0.1:${cfg.pgPrimaryPort} failed; read ${primaryLogFile(cfg)}: ${errMessage(e)}`, { cause: e });
  }
}

async function startReplicaServer(cfg: StackConfig): Promise<void> {
  const dir = path.resolve(cfg.pgReplicaDir);
  const logFile = replicaLogFile(cfg);
  try {
    await runAsPostgres(pgBin(cfg, "pg_ctl"), [
      "-D", dir, "-l", logFile,
      // pg_ctl hands -o to a shell; only numbers and fixed strings go in here.
      "-o", `-p ${cfg.pgReplicaPort} -k /tmp -c hot_standby=on -c listen_addresses=127.0.0.1`,
      "-w", "-t", "60", "start",
    ], { timeoutMs: 90_000 });
  } catch (e) {
    throw new Error(`Postgres replica (port ${cfg.pgReplicaPort}, data ${dir}) failed to start; read ${logFile}:\n${await tailFile(logFile)}\n${errMessage(e)}`, { cause: e });
  }
}

async function stopReplicaServer(cfg: StackConfig, mode: "fast" | "immediate" = "fast"): Promise<void> {
  await runAsPostgres(pgBin(cfg, "pg_ctl"), ["-D", path.resolve(cfg.pgReplicaDir), "-m", mode, "-w", "-t", "60", "stop"], { timeoutMs: 90_000 });
}

async function replicaPostmasterRunning(cfg: StackConfig): Promise<boolean> {
  try {
    await runAsPostgres(pgBin(cfg, "pg_ctl"), ["-D", path.resolve(cfg.pgReplicaDir), "status"], { timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function replicaStreaming(cfg: StackConfig): Promise<boolean> {
  try {
    return await withPg(cfg.pgReplicaPort, "postgres", async (c) => {
      const r = await c.query<{ status: string }>("SELECT status FROM pg_stat_wal_receiver");
      return r.rows[0]?.status === "streaming";
    }, 2_000);
  } catch {
    return false;
  }
}

async function waitForStreaming(cfg: StackConfig, timeoutMs: number): Promise<void> {
  await waitUntil(() => replicaStreaming(cfg), timeoutMs,
    `Postgres replica on 127.0.0.1:${cfg.pgReplicaPort} is not streaming from primary 127.0.0.1:${cfg.pgPrimaryPort}; read ${replicaLogFile(cfg)}`);
}

/** An earlier test run may have died between pg_wal_replay_pause() and its finally block. */
async function resumeReplayIfPaused(cfg: StackConfig, log: Log): Promise<void> {
  await withPg(cfg.pgReplicaPort, "postgres", async (c) => {
    const r = await c.query<{ state: string }>("SELECT pg_get_wal_replay_pause_state() AS state");
    const state = r.rows[0]?.state ?? "not paused";
    if (state !== "not paused") {
      log(`[replica] WAL replay was ${state}; resuming`);
      await c.query("SELECT pg_wal_replay_resume()");
    }
  });
}

async function readControlSystemId(cfg: StackConfig): Promise<string | null> {
  try {
    const { stdout } = await runAsPostgres(pgBin(cfg, "pg_controldata"), ["-D", path.resolve(cfg.pgReplicaDir)], {
      timeoutMs: 15_000,
      env: { ...process.env, LC_ALL: "C" },
    });
    return /Database system identifier:\s*(\d+)/.exec(stdout)?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * Makes sure a real streaming replica of the primary (pg_basebackup -R) runs on cfg.pgReplicaPort
 * from cfg.pgReplicaDir. Reuses a running replica (resuming paused WAL replay), restarts a stopped
 * one, and rebuilds it when it cannot start, belongs to another primary or cannot stream any more.
 * The primary must already run (see ensurePostgresPrimary).
 * @returns a handle that stops the replica if this call started it, otherwise null.
 */
export async function ensureReplica(cfg: StackConfig, log: Log): Promise<StartedService | null> {
  return withLock("pg-replica", 15 * 60_000, async () => {
    const port = cfg.pgReplicaPort;
    const dir = path.resolve(cfg.pgReplicaDir);
    const logFile = replicaLogFile(cfg);
    if (!(await canQuery(cfg.pgPrimaryPort))) {
      throw new Error(`Postgres primary on 127.0.0.1:${cfg.pgPrimaryPort} does not answer; call ensurePostgresPrimary first (log: ${primaryLogFile(cfg)})`);
    }
    const primaryId = await systemIdentifier(cfg.pgPrimaryPort);
    const primaryDataDir = await withPg(cfg.pgPrimaryPort, "postgres",
      async (c) => (await c.query<{ d: string }>("SELECT current_setting('data_directory') AS d")).rows[0]?.d ?? "");

    const handle: StartedService = { name: "postgres-replica", stop: () => stopReplicaServer(cfg) };

    // 1. Something already answers on the replica port.
    let running = await inspectServer(port);
    if (running === null && (await replicaPostmasterRunning(cfg))) {
      // Our postmaster exists but does not answer yet (starting, or in crash recovery).
      const ready = await waitUntil(() => canQuery(port), 30_000, "").then(() => true, () => false);
      if (ready) {
        running = await inspectServer(port);
      } else {
        log(`[replica] postmaster in ${dir} does not accept connections; stopping it`);
        await stopReplicaServer(cfg, "immediate").catch(() => undefined);
      }
    }
    if (running !== null) {
      const ours = await samePath(running.dataDir, dir);
      if (running.inRecovery && running.systemId === primaryId) {
        await resumeReplayIfPaused(cfg, log);
        try {
          await waitForStreaming(cfg, 30_000);
          return null;
        } catch (e) {
          if (!ours) throw e;
          log(`[replica] running but not streaming (WAL gone from the primary?); rebuilding`);
        }
      } else if (!ours) {
        throw new Error(`Port ${port} is taken by a Postgres server (data ${running.dataDir}) that is not a streaming replica of the primary on ${cfg.pgPrimaryPort}; stop it or set NB_PG_REPLICA_PORT`);
      } else {
        log(`[replica] server in ${dir} is not a standby of this primary (system id ${running.systemId} vs ${primaryId}); rebuilding`);
      }
      await stopReplicaServer(cfg);
      await wipeReplicaDir(cfg, primaryDataDir, log);
    } else if (await tcpAnswers(port)) {
      throw new Error(`Port ${port} is taken by something that is not Postgres; cannot start the replica there (set NB_PG_REPLICA_PORT)`);
    }

    // 2. Start from the existing data dir when it is a standby of this primary, else build one.
    await ensurePostgresOwnedDir(path.dirname(dir));
    let reusedDir = false;
    if (await pathExists(path.join(dir, "PG_VERSION"))) {
      const dirId = await readControlSystemId(cfg);
      const standby = await pathExists(path.join(dir, "standby.signal"));
      if (dirId === primaryId && standby) {
        reusedDir = true;
      } else {
        log(`[replica] ${dir} is not a standby of this primary (system id ${dirId ?? "unreadable"} vs ${primaryId}, standby.signal ${standby ? "present" : "missing"})`);
        await wipeReplicaDir(cfg, primaryDataDir, log);
      }
    } else {
      await wipeReplicaDir(cfg, primaryDataDir, log);
    }

    const rebuild = async (): Promise<void> => {
      await baseBackup(cfg, log);
      await writeReplicaConfig(cfg);
      log(`[replica] starting on port ${port} (log: ${logFile})`);
      await startReplicaServer(cfg);
      await waitForStreaming(cfg, 60_000);
    };

    if (!reusedDir) {
      await rebuild();
      return handle;
    }
    try {
      await writeReplicaConfig(cfg);
      log(`[replica] starting existing ${dir} on port ${port} (log: ${logFile})`);
      await startReplicaServer(cfg);
      await waitForStreaming(cfg, 30_000);
    } catch (e) {
      log(`[replica] existing data dir unusable; rebuilding. Cause: ${errMessage(e).replace(/\s*\n\s*/g, " | ").slice(0, 600)}`);
      if (await replicaPostmasterRunning(cfg)) await stopReplicaServer(cfg, "immediate").catch(() => undefined);
      await wipeReplicaDir(cfg, primaryDataDir, log);
      await rebuild();
    }
    return handle;
  });
}

/**
 * Waits until the replica has replayed everything the primary had written when this was called
 * (the same check PostgreSQL's own TAP tests use: replay LSN >= pg_current_wal_lsn()).
 */
export async function waitForReplicaCatchUp(cfg: StackConfig, timeoutMs: number): Promise<void> {
  const target = await withPg(cfg.pgPrimaryPort, "postgres",
    async (c) => (await c.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0]?.lsn);
  if (target === undefined) throw new Error("pg_current_wal_lsn() returned nothing on the primary");
  const replica = new Client({ host: "127.0.0.1", port: cfg.pgReplicaPort, user: "postgres", database: "postgres", connectionTimeoutMillis: 3_000 });
  replica.on("error", () => undefined);
  await replica.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await replica.query<{ done: boolean; replay: string | null; paused: string }>(
        "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS done, pg_last_wal_replay_lsn()::text AS replay, pg_get_wal_replay_pause_state() AS paused",
        [target]);
      const row = r.rows[0];
      if (row?.done === true) return;
      if (Date.now() >= deadline) {
        const paused = row !== undefined && row.paused !== "not paused" ? ` WAL replay is ${row.paused} (pg_wal_replay_resume() to continue).` : "";
        throw new Error(`Replica on 127.0.0.1:${cfg.pgReplicaPort} did not replay up to ${target} within ${timeoutMs} ms (at ${row?.replay ?? "?"}).${paused} Read ${replicaLogFile(cfg)}`);
      }
      await sleep(50);
    }
  } finally {
    await replica.end().catch(() => undefined);
  }
}

/* ------------------------------------------------------------------------------------------------ */
/* Databases                                                                                        */
/* ------------------------------------------------------------------------------------------------ */

const EXTENSIONS = ["pg_trgm", "unaccent", "pgcrypto"] as const;

/**
 * Creates database `name` on the primary if missing and installs pg_trgm, unaccent and pgcrypto in
 * it. Safe against concurrent callers creating the same database or extension.
 */
export async function ensureDatabase(cfg: StackConfig, name: string, log: Log): Promise<void> {
  await withPg(cfg.pgPrimaryPort, "postgres", async (c) => {
    const r = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (r.rowCount !== 0) return;
    try {
      await c.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
      log(`[postgres] created database ${name}`);
    } catch (e) {
      // 42P04 duplicate_database: someone else won the race, which is what we wanted anyway.
      if (errCode(e) !== "42P04") throw e;
    }
  });
  await withPg(cfg.pgPrimaryPort, name, async (c) => {
    for (const ext of EXTENSIONS) {
      try {
        await c.query(`CREATE EXTENSION IF NOT EXISTS ${escapeIdentifier(ext)}`);
      } catch (e) {
        // IF NOT EXISTS is not race-free: a concurrent creator surfaces as a unique violation.
        if (errCode(e) !== "23505" && errCode(e) !== "42710") throw e;
      }
    }
  });
}

/* ------------------------------------------------------------------------------------------------ */
/* PgBouncer                                                                                        */
/* ------------------------------------------------------------------------------------------------ */

interface BouncerSpec {
  role: "primary" | "replica";
  listenPort: number;
  targetPort: number;
}

function bouncerFiles(cfg: StackConfig, role: BouncerSpec["role"]): { ini: string; pid: string; log: string; auth: string } {
  const dir = path.resolve(cfg.bouncerDir);
  return {
    ini: path.join(dir, `pgbouncer-${role}.ini`),
    pid: path.join(dir, `pgbouncer-${role}.pid`),
    log: path.join(dir, `pgbouncer-${role}.log`),
    auth: path.join(dir, "userlist.txt"),
  };
}

function bouncerIni(cfg: StackConfig, spec: BouncerSpec): string {
  const f = bouncerFiles(cfg, spec.role);
  return [
    `; Written by NexusBooks dev/services.ts: stand-in for Neon's pooled (-pooler) ${spec.role} endpoint.`,
    "[databases]",
    // Wildcard: any database name is forwarded as-is, like Neon's pooler.
    `* = host=127.0.0.1 port=${spec.targetPort}`,
    "",
    "[pgbouncer]",
    "listen_addr = 127.0.0.1",
    `listen_port = ${spec.listenPort}`,
    // No unix socket: nothing needs it, and a stale socket file would only add a failure mode.
    "unix_socket_dir =",
    "auth_type = trust",
    `auth_file = ${f.auth}`,
    "admin_users = postgres",
    "stats_users = postgres",
    "pool_mode = transaction",
    "max_client_conn = 1000",
    "default_pool_size = 20",
    // Transaction pooling never hands a server to a different client mid-session, so no reset query.
    "server_reset_query =",
    // pgjdbc/psycopg send extra_float_digits; Neon-style connection strings carry `options`
    // (endpoint=...). PgBouncer rejects unknown startup parameters unless listed here.
    "ignore_startup_parameters = extra_float_digits,options",
    `logfile = ${f.log}`,
    `pidfile = ${f.pid}`,
    "",
  ].join("\n");
}

async function readPid(file: string): Promise<number | null> {
  try {
    const pid = Number((await fs.readFile(file, "utf8")).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

async function processCommand(pid: number): Promise<string> {
  try {
    return (await fs.readFile(`/proc/${pid}/cmdline`, "utf8")).replace(/\0/g, " ").trim();
  } catch {
    return "";
  }
}

/** SIGTERM is PgBouncer's immediate shutdown; SIGKILL only if it ignores that for 10 s. */
async function killAndWait(pid: number, what: string): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch (e) {
    if (errCode(e) === "ESRCH") return;
    throw e;
  }
  const exited = await waitUntil(async () => !pidAlive(pid), 10_000, "").then(() => true, () => false);
  if (exited) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // exited in between
  }
  await waitUntil(async () => !pidAlive(pid), 5_000, `${what} (pid ${pid}) did not exit after SIGKILL`);
}

function bouncerHandle(cfg: StackConfig, spec: BouncerSpec): StartedService {
  const f = bouncerFiles(cfg, spec.role);
  return {
    name: `pgbouncer-${spec.role}`,
    stop: async () => {
      const pid = await readPid(f.pid);
      if (pid === null) return;
      if (!(await processCommand(pid)).includes("pgbouncer")) return; // pid reused by something else
      await killAndWait(pid, `PgBouncer ${spec.role} on port ${spec.listenPort}`);
    },
  };
}

/**
 * Makes sure two PgBouncers in transaction mode run: cfg.bouncerPrimaryPort → primary and
 * cfg.bouncerReplicaPort → replica (wildcard database, trust auth, admin console for postgres).
 * The backends should already run; a bouncer is "up" only when a SELECT 1 through it works.
 * @returns handles for the bouncers this call started (empty when both were already up).
 */
export async function ensurePgBouncers(cfg: StackConfig, log: Log): Promise<StartedService[]> {
  return withLock("pgbouncer", 2 * 60_000, async () => {
    if (!(await pathExists("/usr/sbin/pgbouncer")) && !(await commandExists("pgbouncer"))) await ensureAptPackages(["pgbouncer"], log);
    const bin = (await pathExists("/usr/sbin/pgbouncer")) ? "/usr/sbin/pgbouncer" : "pgbouncer";
    const specs: BouncerSpec[] = [
      { role: "primary", listenPort: cfg.bouncerPrimaryPort, targetPort: cfg.pgPrimaryPort },
      { role: "replica", listenPort: cfg.bouncerReplicaPort, targetPort: cfg.pgReplicaPort },
    ];
    const started: StartedService[] = [];
    for (const spec of specs) {
      if (await canQuery(spec.listenPort)) continue;
      const f = bouncerFiles(cfg, spec.role);
      if (await tcpAnswers(spec.listenPort)) {
        // Something listens but SELECT 1 fails. If it is our own bouncer (stale config, backend that
        // was down when it started), restart it; anything else we must not kill.
        const pid = await readPid(f.pid);
        if (pid !== null && (await processCommand(pid)).includes("pgbouncer")) {
          log(`[pgbouncer] ${spec.role} on port ${spec.listenPort} answers but cannot query; restarting it`);
          await killAndWait(pid, `PgBouncer ${spec.role}`);
        } else {
          const backendUp = await canQuery(spec.targetPort);
          throw new Error(`Port ${spec.listenPort} is in use but SELECT 1 through it fails (backend 127.0.0.1:${spec.targetPort} ${backendUp ? "answers" : "does not answer"}); it is not the PgBouncer from ${f.pid}. Stop it or set NB_BOUNCER_${spec.role === "primary" ? "" : "REPLICA_"}PORT`);
        }
      }
      await ensurePostgresOwnedDir(path.resolve(cfg.bouncerDir));
      await writePostgresOwnedFile(f.auth, '"postgres" ""\n', 0o640);
      await writePostgresOwnedFile(f.ini, bouncerIni(cfg, spec), 0o640);
      log(`[pgbouncer] starting ${spec.role} on 127.0.0.1:${spec.listenPort} → 127.0.0.1:${spec.targetPort} (log: ${f.log})`);
      try {
        await runAsPostgres(bin, ["-d", f.ini], { timeoutMs: 20_000 });
      } catch (e) {
        throw new Error(`PgBouncer ${spec.role} (port ${spec.listenPort}) failed to start; read ${f.log}:\n${await tailFile(f.log)}\n${errMessage(e)}`, { cause: e });
      }
      const handle = bouncerHandle(cfg, spec);
      try {
        await waitUntil(() => canQuery(spec.listenPort), 20_000,
          `PgBouncer ${spec.role} on 127.0.0.1:${spec.listenPort} does not pass SELECT 1 to 127.0.0.1:${spec.targetPort}; read ${f.log}`);
      } catch (e) {
        // Do not leave a half-working daemon behind that the next call would have to clean up.
        await handle.stop().catch(() => undefined);
        throw e;
      }
      started.push(handle);
    }
    return started;
  });
}

/* ------------------------------------------------------------------------------------------------ */
/* Redis                                                                                            */
/* ------------------------------------------------------------------------------------------------ */

/** Sends one inline RESP command and returns the first reply line ("" on any failure). */
function redisCommand(port: number, args: readonly string[], timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: "127.0.0.1" });
    let buf = "";
    const done = (reply: string): void => {
      sock.destroy();
      resolve(reply);
    };
    sock.setTimeout(timeoutMs, () => done(""));
    sock.once("error", () => done(""));
    sock.once("close", () => done(buf.split("\r\n")[0] ?? ""));
    sock.once("connect", () => {
      sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
    });
    sock.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      if (buf.includes("\r\n")) done(buf.split("\r\n")[0] ?? "");
    });
  });
}

async function redisAnswers(port: number): Promise<boolean> {
  const reply = await redisCommand(port, ["PING"]);
  // NOAUTH still proves a Redis is there; starting a second one on the port would only fail.
  return reply === "+PONG" || reply.startsWith("-NOAUTH");
}

/**
 * Makes sure a Redis answers PING on 127.0.0.1:cfg.redisPort (no persistence; it is a cache and
 * rate-limit store for dev and tests).
 * @returns a handle that shuts Redis down if this call started it, otherwise null.
 */
export async function ensureRedis(cfg: StackConfig, log: Log): Promise<StartedService | null> {
  return withLock("redis", 2 * 60_000, async () => {
    const port = cfg.redisPort;
    if (await redisAnswers(port)) return null;
    if (!(await commandExists("redis-server"))) await ensureAptPackages(["redis-server"], log);
    await fs.mkdir("/var/lib/redis", { recursive: true });
    await fs.mkdir("/var/log/redis", { recursive: true });
    const logFile = "/var/log/redis/ci.log";
    log(`[redis] starting on 127.0.0.1:${port} (log: ${logFile})`);
    try {
      await run("redis-server", [
        "--daemonize", "yes",
        // "-::1" = bind IPv6 loopback only if available.
        "--bind", "127.0.0.1", "-::1",
        "--port", String(port),
        "--save", "",
        "--appendonly", "no",
        "--dir", "/var/lib/redis",
        "--logfile", logFile,
      ], { timeoutMs: 20_000 });
    } catch (e) {
      throw new Error(`Redis (port ${port}) failed to start; read ${logFile}:\n${await tailFile(logFile)}\n${errMessage(e)}`, { cause: e });
    }
    await waitUntil(() => redisAnswers(port), 20_000, `Redis on 127.0.0.1:${port} does not answer PING; read ${logFile}`);
    return {
      name: "redis",
      stop: async () => {
        await redisCommand(port, ["SHUTDOWN", "NOSAVE"], 5_000);
        await waitUntil(async () => !(await tcpAnswers(port)), 10_000, `Redis on 127.0.0.1:${port} did not shut down; read ${logFile}`);
      },
    };
  });
}
