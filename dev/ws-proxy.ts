/**
 * Stand-in for Neon's proxy, both halves on one port:
 *
 * 1. WebSocket ⇄ TCP pipe, so `@neondatabase/serverless` (Pool/Client over WebSockets) can reach the
 *    local PgBouncers exactly as it reaches Neon. The driver (1.2) opens `ws://` + wsProxy(host, port);
 *    with the string form of neonConfig.wsProxy it appends `?address=host:port`, and our launcher uses
 *    the function form producing `127.0.0.1:5480/v1?address=host:port`. So the target always arrives in
 *    the `address` query parameter; the path is not significant.
 *
 * 2. Neon's SQL-over-HTTP endpoint (`POST /sql`), which the driver's `neon()` function uses once
 *    `neonConfig.fetchEndpoint = () => "http://127.0.0.1:5480/sql"` is set (no other flag is needed;
 *    `poolQueryViaFetch` only concerns `Pool.query` and drops the port, so it cannot work locally).
 *    It follows Neon's proxy (proxy/src/serverless/sql_over_http.rs): the target is the host:port, user
 *    and database of the `Neon-Connection-String` header; the body is `{ query, params }` or
 *    `{ queries: [...] }` (run in one transaction shaped by the `Neon-Batch-*` headers); rows come back
 *    as raw text when `Neon-Raw-Text-Output: true`, so the driver's type parsers run client-side just as
 *    with Neon; Postgres errors come back as 400 `{ message, code, detail, ... }`, which the driver copies
 *    onto its NeonDbError. Connections are kept in one `pg.Pool` per target, like Neon's HTTP pool.
 *
 * Only targets in `allowedTargets` are dialled, by either half, so this never becomes an open relay.
 *
 * Run directly: tsx dev/ws-proxy.ts --port 5480 --allow 127.0.0.1:6432,127.0.0.1:6433
 */
import http from "node:http";
import type { IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import fs from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";
import type { RawData, WebSocket } from "ws";
import type { Duplex } from "node:stream";
import { DatabaseError, Pool, Query } from "pg";
import type { CustomTypesConfig, FieldDef, PoolClient, QueryArrayConfig } from "pg";
import { loadStackConfig } from "./config.js";

export interface WsProxyOptions {
  port: number;
  host?: string;
  /**
   * "host:port" pairs that may be dialled, e.g. "127.0.0.1:6432". Anything else gets 403 on the
   * WebSocket side and a 400 error in Neon's shape on `POST /sql`.
   */
  allowedTargets: string[];
  /** Optional per-connection diagnostics (refusals, upstream errors). */
  log?: (msg: string) => void;
  /**
   * Upper bound for one `POST /sql` request, connect and transaction included (default 15 s, the
   * default of Neon's `sql_over_http_timeout`). On expiry the statement is cancelled in Postgres and
   * the client gets Neon's "Query cancelled" error.
   */
  sqlTimeoutMs?: number;
  /** How long `POST /sql` waits for a pooled or new connection to the target (default 5 s). */
  sqlConnectTimeoutMs?: number;
}

export interface WsProxy {
  port: number;
  close(): Promise<void>;
}

interface Target {
  host: string;
  port: number;
  /** Normalised "host:port" (IPv6 in brackets) used for the allow-list comparison. */
  key: string;
}

/** Above this much unsent WebSocket data we stop reading from Postgres until the client catches up. */
const WS_HIGH_WATER = 1024 * 1024;
const WS_LOW_WATER = 256 * 1024;

function parseTarget(address: string): Target | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address.trim());
  if (m === null) return null;
  const host = (m[1] ?? m[2] ?? "").toLowerCase();
  const port = Number(m[3]);
  if (host === "" || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host, port, key: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}` };
}

function toBuffers(data: RawData): Buffer[] {
  if (Array.isArray(data)) return data;
  if (data instanceof ArrayBuffer) return [Buffer.from(data)];
  return [data];
}

/** Answers a refused upgrade with a plain HTTP status; the WebSocket client sees "Unexpected server response". */
function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? "Error"}\r\n` +
      "Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  // Do not wait for the client to close its side.
  socket.once("finish", () => socket.destroy());
}

/* ------------------------------------------------------------------------------------------------ */
/* SQL over HTTP (Neon's POST /sql)                                                                 */
/* ------------------------------------------------------------------------------------------------ */

// Neon's limits (proxy flags sql_over_http_max_request_size_bytes / _max_response_size_bytes).
const SQL_MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const SQL_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
// Neon's per-endpoint HTTP pool: 20 connections, closed after 5 min idle.
const SQL_POOL_MAX = 20;
const SQL_POOL_IDLE_MS = 5 * 60_000;
/**
 * How long a cancel request may take before we stop waiting. The cancel connection must not be closed
 * from our side earlier: PgBouncer 1.18 aborts (FATAL "bad client state") when a cancel client goes
 * away while the cancel is still being forwarded.
 */
const SQL_CANCEL_WAIT_MS = 10_000;

/** Header names as Node delivers them (lower-case); the driver sends them capitalised. */
const H = {
  connString: "neon-connection-string",
  rawText: "neon-raw-text-output",
  arrayMode: "neon-array-mode",
  isolation: "neon-batch-isolation-level",
  readOnly: "neon-batch-read-only",
  deferrable: "neon-batch-deferrable",
} as const;

const ISOLATION_SQL = {
  Serializable: "SERIALIZABLE",
  RepeatableRead: "REPEATABLE READ",
  ReadCommitted: "READ COMMITTED",
  ReadUncommitted: "READ UNCOMMITTED",
} as const;
type IsolationLevel = keyof typeof ISOLATION_SQL;

type PgText = string | null;
type RawRow = PgText[];

interface SqlStatement {
  query: string;
  params: PgText[];
  /** Per-statement override of the Neon-Array-Mode header (Neon accepts it in the body). */
  arrayMode?: boolean;
}

type SqlPayload = { kind: "single"; statement: SqlStatement } | { kind: "batch"; statements: SqlStatement[] };

interface SqlOutputOptions {
  raw: boolean;
  arrayMode: boolean;
  isolation?: IsolationLevel;
  readOnly: boolean;
  deferrable: boolean;
}

interface SqlConnInfo {
  target: Target;
  database: string;
  user: string;
  password?: string;
}

/** A failure with the HTTP status and body Neon would answer with. */
class SqlHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The Postgres error whose fields (code, detail, position, ...) go into the body. */
    readonly db?: DatabaseError,
    /** Neon's cancellation answer has only message and code. */
    readonly cancelled = false,
  ) {
    super(message);
  }
}

/** What Neon answers whenever it cancelled the statement (client gone or, here, the time limit). */
function cancelledError(): SqlHttpError {
  return new SqlHttpError(400, "Query cancelled, connection was terminated", undefined, true);
}

/** A statement's failure. Like Neon, any Postgres-side failure (with or without SQLSTATE) is a 400. */
function statementError(err: unknown): SqlHttpError {
  if (err instanceof SqlHttpError) return err;
  if (err instanceof DatabaseError) return new SqlHttpError(400, err.message, err);
  return new SqlHttpError(400, err instanceof Error ? err.message : String(err));
}

/**
 * Failure to get a connection. Neon reports these as 500 (its error kind is "compute"/"postgres", not
 * "user"), so the driver raises "Server error (HTTP status 500): ..." without a SQLSTATE; the text
 * says "connecting", as tokio-postgres' message does, which connection-error heuristics rely on.
 */
function connectError(err: unknown): SqlHttpError {
  if (err instanceof DatabaseError) return new SqlHttpError(500, err.message, err);
  return new SqlHttpError(500, `error connecting to server: ${err instanceof Error ? err.message : String(err)}`);
}

/** Neon's error body: every key present, SQLSTATE fields from the Postgres error or ""/null. */
function errorBody(err: SqlHttpError): string {
  if (err.cancelled) return JSON.stringify({ message: err.message, code: "08P01" });
  const db = err.db;
  return JSON.stringify({
    message: err.message,
    code: db?.code ?? "",
    detail: db?.detail ?? null,
    hint: db?.hint ?? null,
    position: db?.position ?? null,
    internalPosition: db?.internalPosition ?? null,
    internalQuery: db?.internalQuery ?? null,
    severity: db?.severity ?? "",
    where: db?.where ?? null,
    table: db?.table ?? null,
    column: db?.column ?? null,
    schema: db?.schema ?? null,
    dataType: db?.dataType ?? null,
    constraint: db?.constraint ?? null,
    file: db?.file ?? null,
    line: db?.line ?? null,
    routine: db?.routine ?? null,
  });
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The target of `Neon-Connection-String`, with Neon's messages for malformed ones. */
function parseConnInfo(headers: IncomingHttpHeaders): SqlConnInfo {
  const raw = headerValue(headers, H.connString);
  if (raw === undefined) throw new SqlHttpError(400, `invalid header: ${H.connString}`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch (e) {
    throw new SqlHttpError(400, `invalid connection string: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") throw new SqlHttpError(400, "incorrect scheme");
  const decode = (s: string, what: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new SqlHttpError(400, `invalid ${what}`);
    }
  };
  const database = decode(url.pathname.replace(/^\//, "").split("/")[0] ?? "", "database name");
  if (database === "") throw new SqlHttpError(400, "missing database name");
  const user = decode(url.username, "username");
  if (user === "") throw new SqlHttpError(400, "missing username");
  if (url.hostname === "") throw new SqlHttpError(400, "missing hostname");
  // Neon ignores the port (it routes by endpoint name); here host:port *is* the endpoint. Postgres' default applies when absent.
  const target = parseTarget(`${url.hostname}:${url.port === "" ? "5432" : url.port}`);
  if (target === null) throw new SqlHttpError(400, "invalid hostname");
  // Neon demands a password or JWT; the local bouncers use trust auth, so a password is optional here.
  const password = url.password === "" ? undefined : decode(url.password, "password");
  return { target, database, user, ...(password === undefined ? {} : { password }) };
}

/** Output and transaction options. Like Neon, anything but the exact value "true" means false. */
function parseOutputHeaders(headers: IncomingHttpHeaders): SqlOutputOptions {
  const isolation = headerValue(headers, H.isolation);
  if (isolation !== undefined && !Object.hasOwn(ISOLATION_SQL, isolation)) throw new SqlHttpError(400, "invalid isolation level");
  return {
    raw: headerValue(headers, H.rawText) === "true",
    arrayMode: headerValue(headers, H.arrayMode) === "true",
    ...(isolation === undefined ? {} : { isolation: isolation as IsolationLevel }),
    readOnly: headerValue(headers, H.readOnly) === "true",
    deferrable: headerValue(headers, H.deferrable) === "true",
  };
}

/** Reads the request body up to Neon's size limit; gives up as soon as `signal` aborts. */
function readBody(req: http.IncomingMessage, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const tooLarge = (): SqlHttpError => new SqlHttpError(413, `request is too large (max is ${SQL_MAX_REQUEST_BYTES} bytes)`);
    const declared = Number(headerValue(req.headers, "content-length") ?? "0");
    if (declared > SQL_MAX_REQUEST_BYTES) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      signal.removeEventListener("abort", onAbort);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > SQL_MAX_REQUEST_BYTES) {
        cleanup();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new SqlHttpError(400, `could not read the HTTP request body: ${err.message}`));
    };
    const onAbort = (): void => {
      cleanup();
      reject(cancelledError());
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Neon's json_to_pg_text: how a JSON parameter becomes the text handed to Postgres. */
function jsonParamToPgText(value: unknown): PgText {
  if (value === null) return null;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return jsonArrayToPgArray(value);
  // booleans, numbers and objects: their JSON text.
  return JSON.stringify(value);
}

/** A JSON array as a Postgres array literal; strings keep JSON's quoting, which Postgres accepts. */
function jsonArrayToPgArray(value: unknown): string {
  if (value === null) return "NULL";
  if (Array.isArray(value)) return `{${value.map(jsonArrayToPgArray).join(",")}}`;
  if (typeof value === "object") return JSON.stringify(JSON.stringify(value));
  return JSON.stringify(value);
}

const PAYLOAD_MISMATCH = "could not parse the HTTP request body: data did not match any variant of untagged enum Payload";

function parseStatement(value: unknown): SqlStatement | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  if (typeof o.query !== "string") return null;
  const params = o.params ?? [];
  if (!Array.isArray(params)) return null;
  if (o.arrayMode !== undefined && o.arrayMode !== null && typeof o.arrayMode !== "boolean") return null;
  return {
    query: o.query,
    params: params.map(jsonParamToPgText),
    ...(typeof o.arrayMode === "boolean" ? { arrayMode: o.arrayMode } : {}),
  };
}

/** `{ query, params?, arrayMode? }` or `{ queries: [...] }`, tried in that order as Neon's serde does. */
function parsePayload(body: string): SqlPayload {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    throw new SqlHttpError(400, `could not parse the HTTP request body: ${e instanceof Error ? e.message : String(e)}`);
  }
  const single = parseStatement(parsed);
  if (single !== null) return { kind: "single", statement: single };
  const queries = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>).queries : undefined;
  if (Array.isArray(queries)) {
    const statements = queries.map(parseStatement);
    if (statements.every((s): s is SqlStatement => s !== null)) return { kind: "batch", statements };
  }
  throw new SqlHttpError(400, PAYLOAD_MISMATCH);
}

/**
 * Sends Postgres' CancelRequest for a backend (PgBouncer forwards it) and, like libpq, waits for the
 * server to close the connection. Never rejects; bounded in time.
 */
function sendCancelRequest(target: Target, processID: number, secretKey: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.host, port: target.port });
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, SQL_CANCEL_WAIT_MS);
    socket.on("connect", () => {
      const msg = Buffer.alloc(16);
      msg.writeInt32BE(16, 0);
      msg.writeInt32BE(80877102, 4); // CancelRequest code
      msg.writeInt32BE(processID, 8);
      msg.writeInt32BE(secretKey, 12);
      // write(), not end(): half-closing first is exactly what crashes PgBouncer 1.18 (see above).
      socket.write(msg);
    });
    socket.on("data", () => undefined); // nothing is expected; keep the socket flowing until EOF
    socket.on("end", done);
    socket.on("close", done);
    socket.on("error", done);
  });
}

/** Settles like `work`, or rejects with Neon's cancellation error as soon as `signal` aborts. */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(cancelledError());
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    // Always attached, so a late rejection of `work` after an abort is not unhandled.
    void work.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** One pooled connection checked out for one request. */
class Lease {
  private done = false;
  /** Set when the connection's state is unknown (protocol error, failed BEGIN/COMMIT): never reuse it. */
  private broken = false;

  constructor(
    readonly client: PoolClient,
    private readonly target: Target,
  ) {}

  markBroken(): void {
    this.broken = true;
  }

  /** False once the connection is known to be unusable or is being cancelled and dropped. */
  get usable(): boolean {
    return !this.done && !this.broken;
  }

  /** Back to the pool, unless broken or still inside a transaction (what Neon's check_idle does). */
  release(): void {
    if (this.done) return;
    this.done = true;
    const destroy = this.broken || this.client.getTransactionStatus() !== "I";
    this.client.release(destroy ? new Error("neon-http: connection discarded") : undefined);
  }

  /** Cancels whatever runs on the connection, then drops it: its state is unknown afterwards. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    // pg keeps the BackendKeyData it got at startup on the client; @types/pg does not declare it.
    const key = this.client as unknown as { processID: number | null; secretKey: number | null };
    const cancelled = key.processID !== null && key.secretKey !== null
      ? sendCancelRequest(this.target, key.processID, key.secretKey)
      : Promise.resolve();
    // Only after the cancel arrived: once the client connection is gone PgBouncer forgets its cancel key.
    void cancelled.then(() => this.client.release(new Error("neon-http: request aborted")));
  }
}

/** One pool per target, user and database: connections are reused across requests, as with Neon. */
interface SqlPool {
  pool: Pool;
  /** Array type OID → element type OID (0 = not an array), for typed (non-raw) output. */
  arrayElements: Map<number, number>;
}

/** Rows are requested as raw Postgres text: parsing is the client's job, as with Neon. */
const RAW_TEXT_TYPES: CustomTypesConfig = { getTypeParser: () => (value: string) => value };

/** `queryMode` (pg ≥ 8.11, not in @types/pg) forces the extended protocol even without parameters. */
interface ExtendedQueryConfig extends QueryArrayConfig<PgText[]> {
  queryMode: "extended";
}

interface StatementResult {
  fields: FieldDef[];
  command: string;
  rowCount: number | null;
  rows: RawRow[];
}

/** Counts response bytes across the statements of one request against Neon's response limit. */
interface ResponseBudget {
  bytes: number;
}

function responseTooLarge(): SqlHttpError {
  return new SqlHttpError(507, `response is too large (max is ${SQL_MAX_RESPONSE_BYTES} bytes)`);
}

/**
 * Runs one statement with text parameters over the extended protocol, as Neon's query_raw_txt does
 * (so multi-statement strings fail like on Neon instead of running as a simple query).
 */
function runStatement(lease: Lease, statement: SqlStatement, budget: ResponseBudget): Promise<StatementResult> {
  return new Promise((resolve, reject) => {
    const config: ExtendedQueryConfig = {
      text: statement.query,
      values: statement.params,
      rowMode: "array",
      types: RAW_TEXT_TYPES,
      queryMode: "extended",
    };
    const query = new Query<RawRow>(config);
    const rows: RawRow[] = [];
    let overflow = false;
    query.on("row", (row: RawRow) => {
      if (overflow) return;
      // Raw text is never longer than its JSON form, so this early stop never refuses a response that
      // would have fit; the exact size is checked once the result is serialised.
      for (const v of row) budget.bytes += v === null ? 4 : v.length;
      if (budget.bytes > SQL_MAX_RESPONSE_BYTES) {
        overflow = true;
        rows.length = 0;
        // Stops Postgres from producing the rest; Neon drops the connection in this case too.
        lease.abort();
        reject(responseTooLarge());
        return;
      }
      rows.push(row);
    });
    query.on("error", (err: Error) => {
      if (!(err instanceof DatabaseError)) lease.markBroken();
      reject(statementError(err));
    });
    query.on("end", (result) => {
      if (overflow) return;
      resolve({ fields: result.fields, command: result.command ?? "", rowCount: result.rowCount ?? null, rows });
    });
    lease.client.query(query);
  });
}

/** Runs a statement of our own (BEGIN/COMMIT/ROLLBACK); a failure leaves the connection unusable. */
async function runControl(lease: Lease, sql: string, signal: AbortSignal): Promise<void> {
  try {
    await unlessAborted(lease.client.query(sql), signal);
  } catch (e) {
    lease.markBroken();
    throw statementError(e);
  }
}

/** Looks up which of `oids` are array types, once per pool (only needed for typed output). */
async function resolveArrayTypes(lease: Lease, entry: SqlPool, oids: number[]): Promise<void> {
  const missing = [...new Set(oids)].filter((oid) => !entry.arrayElements.has(oid));
  if (missing.length === 0) return;
  // The rule rust-postgres (Neon's client) applies: a base type with an element type and variable length.
  const r = await lease.client.query<{ oid: string; elem: string }>(
    `SELECT oid::text AS oid,
            CASE WHEN typtype = 'b' AND typlen = -1 AND typelem <> 0 THEN typelem::text ELSE '0' END AS elem
       FROM pg_catalog.pg_type WHERE oid = ANY($1::text[]::oid[])`,
    [missing.map(String)],
  );
  for (const oid of missing) entry.arrayElements.set(oid, 0);
  for (const row of r.rows) entry.arrayElements.set(Number(row.oid), Number(row.elem));
}

class JsonConversionError extends Error {}

const OID = { bool: 16, int2: 21, int4: 23, float4: 700, float8: 701, json: 114, jsonb: 3802 } as const;

/** Neon's pg_text_to_json for a non-array value: only these types become JSON non-strings. */
function scalarToJson(text: string, oid: number): string {
  switch (oid) {
    case OID.bool:
      return text === "t" ? "true" : "false";
    case OID.int2:
    case OID.int4:
      if (!/^[+-]?\d+$/.test(text)) throw new JsonConversionError(`parse int error: ${text}`);
      return String(Number(text));
    case OID.float4:
    case OID.float8: {
      const f = Number(text);
      if (text.trim() === "" || (Number.isNaN(f) && text !== "NaN")) throw new JsonConversionError(`parse float error: ${text}`);
      // NaN and ±Infinity have no JSON number; Neon passes them as strings.
      return Number.isFinite(f) ? JSON.stringify(f) : JSON.stringify(text);
    }
    case OID.json:
    case OID.jsonb:
      return text; // already JSON
    default:
      return JSON.stringify(text);
  }
}

/**
 * Neon's pg_array_parse: a Postgres array literal (optionally with bounds decoration) as nested JSON
 * arrays whose items are converted by their element type. Delimiter is always ',', as in Neon.
 */
function pgArrayToJson(text: string, elem: number): string {
  let s = text;
  if (s.startsWith("[")) {
    const eq = s.indexOf("=");
    if (eq < 0) throw new JsonConversionError("unbalanced array");
    s = s.slice(eq + 1);
  }
  const [json, rest] = parseArray(s.trimStart(), elem);
  if (rest !== "") throw new JsonConversionError("unbalanced array");
  return json;
}

function parseArray(input: string, elem: number): [string, string] {
  if (!input.startsWith("{")) throw new JsonConversionError("unbalanced array");
  let s = input.slice(1);
  const items: string[] = [];
  if (!s.startsWith("}")) {
    for (;;) {
      let item: string;
      [item, s] = parseArrayItem(s, elem);
      items.push(item);
      if (!s.startsWith(",")) break;
      s = s.slice(1);
    }
  }
  if (!s.startsWith("}")) throw new JsonConversionError("unbalanced array");
  return [`[${items.join(",")}]`, s.slice(1).trimStart()];
}

function parseArrayItem(input: string, elem: number): [string, string] {
  let s = input.trimStart();
  if (s.startsWith("{")) return parseArray(s, elem);
  if (s.startsWith('"')) {
    s = s.slice(1);
    let unquoted = "";
    for (;;) {
      const i = s.search(/[\\"]/);
      if (i < 0) throw new JsonConversionError("unbalanced quoted string");
      unquoted += s.slice(0, i);
      const end = s[i];
      s = s.slice(i + 1);
      if (end === '"') break;
      if (s === "") throw new JsonConversionError("unbalanced quoted string");
      unquoted += s[0] ?? "";
      s = s.slice(1);
    }
    return [scalarToJson(unquoted, elem), s.trimStart()];
  }
  const i = s.search(/[,}]/);
  if (i < 0) throw new JsonConversionError("unbalanced array");
  const item = s.slice(0, i).trimEnd();
  // Unquoted NULL is SQL NULL; a string "NULL" would have been quoted.
  return [item === "NULL" ? "null" : scalarToJson(item, elem), s.slice(i)];
}

/**
 * One result object, keys in Neon's order. With raw output (what the driver asks for) every value is
 * Postgres' text or null; otherwise values are converted the way Neon converts them.
 */
function serializeResult(result: StatementResult, arrayMode: boolean, raw: boolean, arrayElements: Map<number, number>): string {
  const fields = result.fields.map((f) => ({
    name: f.name,
    dataTypeID: f.dataTypeID,
    tableID: f.tableID,
    columnID: f.columnID,
    dataTypeSize: f.dataTypeSize,
    dataTypeModifier: f.dataTypeModifier,
    format: "text",
  }));
  let rows: string[];
  if (raw && arrayMode) {
    rows = result.rows.map((row) => JSON.stringify(row));
  } else {
    const names = result.fields.map((f) => JSON.stringify(f.name));
    const toJson = (v: PgText, i: number): string => {
      if (v === null) return "null";
      if (raw) return JSON.stringify(v);
      const oid = result.fields[i]?.dataTypeID ?? 0;
      const elem = arrayElements.get(oid) ?? 0;
      return elem !== 0 ? pgArrayToJson(v, elem) : scalarToJson(v, oid);
    };
    // Built as text so duplicate column names and raw json values come out exactly as Neon writes them.
    rows = result.rows.map((row) => arrayMode
      ? `[${row.map(toJson).join(",")}]`
      : `{${row.map((v, i) => `${names[i] ?? '""'}:${toJson(v, i)}`).join(",")}}`);
  }
  return `{"rowAsArray":${arrayMode},"fields":${JSON.stringify(fields)},"rows":[${rows.join(",")}],` +
    `"command":${JSON.stringify(result.command)},"rowCount":${result.rowCount === null ? "null" : String(result.rowCount)}}`;
}

/** Runs one statement of the request and returns its result object as JSON text. */
async function executeToJson(
  lease: Lease,
  entry: SqlPool,
  statement: SqlStatement,
  out: SqlOutputOptions,
  budget: ResponseBudget,
  signal: AbortSignal,
): Promise<string> {
  const result = await unlessAborted(runStatement(lease, statement, budget), signal);
  if (!out.raw) {
    try {
      await unlessAborted(resolveArrayTypes(lease, entry, result.fields.map((f) => f.dataTypeID)), signal);
    } catch (e) {
      throw statementError(e);
    }
  }
  let json: string;
  try {
    json = serializeResult(result, statement.arrayMode ?? out.arrayMode, out.raw, entry.arrayElements);
  } catch (e) {
    if (e instanceof JsonConversionError) throw new SqlHttpError(500, "could not parse postgres response");
    throw e;
  }
  return json;
}

function startTransactionSql(out: SqlOutputOptions): string {
  const modes: string[] = [];
  if (out.isolation !== undefined) modes.push(`ISOLATION LEVEL ${ISOLATION_SQL[out.isolation]}`);
  if (out.readOnly) modes.push("READ ONLY");
  if (out.deferrable) modes.push("DEFERRABLE");
  return modes.length === 0 ? "START TRANSACTION" : `START TRANSACTION ${modes.join(", ")}`;
}

/**
 * Starts the proxy on `host` (default 127.0.0.1) and `port` (0 = pick a free one): WebSocket tunnels
 * (`ws://host:port/v1?address=target`) and Neon's SQL-over-HTTP endpoint (`http://host:port/sql`,
 * for `neonConfig.fetchEndpoint`), both limited to `allowedTargets`. Other plain HTTP requests get 426.
 * @returns the bound port and a close() that drops all tunnels, cancels in-flight SQL requests, closes
 * the SQL connection pools and stops listening.
 */
export async function startWsProxy(opts: WsProxyOptions): Promise<WsProxy> {
  const allowed = new Set<string>();
  for (const t of opts.allowedTargets) {
    const parsed = parseTarget(t);
    if (parsed === null) throw new Error(`ws-proxy: allowed target ${JSON.stringify(t)} is not host:port`);
    allowed.add(parsed.key);
  }
  const log = opts.log ?? ((): void => undefined);
  const tunnels = new Set<{ ws: WebSocket; tcp: net.Socket }>();
  const sqlTimeoutMs = opts.sqlTimeoutMs ?? 15_000;
  const sqlConnectTimeoutMs = opts.sqlConnectTimeoutMs ?? 5_000;
  const sqlPools = new Map<string, SqlPool>();
  /** Aborted on close(), so no request keeps a connection checked out while the pools end. */
  const sqlRequests = new Set<AbortController>();

  function poolFor(conn: SqlConnInfo): SqlPool {
    const key = JSON.stringify([conn.target.key, conn.database, conn.user, conn.password ?? null]);
    let entry = sqlPools.get(key);
    if (entry === undefined) {
      const pool = new Pool({
        host: conn.target.host,
        port: conn.target.port,
        database: conn.database,
        user: conn.user,
        ...(conn.password === undefined ? {} : { password: conn.password }),
        max: SQL_POOL_MAX,
        idleTimeoutMillis: SQL_POOL_IDLE_MS,
        connectionTimeoutMillis: sqlConnectTimeoutMs,
        allowExitOnIdle: true,
      });
      // Idle connections that die (bouncer restart) are dropped by the pool; without listeners the
      // error events would crash the process. A checked-out connection's error also fails its query.
      pool.on("error", (err: Error) => log(`neon-http: idle connection to ${conn.target.key} failed: ${err.message}`));
      pool.on("connect", (client: PoolClient) => {
        client.on("error", (err: Error) => log(`neon-http: connection to ${conn.target.key} failed: ${err.message}`));
      });
      entry = { pool, arrayElements: new Map() };
      sqlPools.set(key, entry);
    }
    return entry;
  }

  async function acquire(entry: SqlPool, target: Target, signal: AbortSignal): Promise<Lease> {
    const pending = entry.pool.connect();
    let client: PoolClient;
    try {
      client = await unlessAborted(pending, signal);
    } catch (e) {
      // The connection may still arrive after the abort; it must go back rather than leak.
      if (signal.aborted) void pending.then((c) => c.release(), () => undefined);
      throw e instanceof SqlHttpError ? e : connectError(e);
    }
    return new Lease(client, target);
  }

  /** Runs the request's statement(s) and returns the response body and extra headers. */
  async function execute(
    lease: Lease,
    entry: SqlPool,
    payload: SqlPayload,
    out: SqlOutputOptions,
    signal: AbortSignal,
  ): Promise<{ body: string; headers: Record<string, string> }> {
    const budget: ResponseBudget = { bytes: 0 };
    if (payload.kind === "single") {
      return { body: await executeToJson(lease, entry, payload.statement, out, budget, signal), headers: {} };
    }
    // Neon echoes the transaction options it applied.
    const headers: Record<string, string> = {};
    if (out.readOnly) headers["Neon-Batch-Read-Only"] = "true";
    if (out.deferrable) headers["Neon-Batch-Deferrable"] = "true";
    if (out.isolation !== undefined) headers["Neon-Batch-Isolation-Level"] = out.isolation;

    await runControl(lease, startTransactionSql(out), signal);
    const results: string[] = [];
    try {
      for (const statement of payload.statements) {
        results.push(await executeToJson(lease, entry, statement, out, budget, signal));
      }
    } catch (e) {
      // Undo and keep the connection, unless it is broken or being cancelled and dropped anyway.
      if (lease.usable) await runControl(lease, "ROLLBACK", signal).catch(() => undefined);
      throw e;
    }
    await runControl(lease, "COMMIT", signal);
    return { body: `{"results":[${results.join(",")}]}`, headers };
  }

  async function handleSql(req: http.IncomingMessage, signal: AbortSignal): Promise<{ body: string; headers: Record<string, string> }> {
    // Same order of checks as Neon: connection string, then headers, then the body.
    const conn = parseConnInfo(req.headers);
    if (headerValue(req.headers, "authorization") !== undefined) {
      // Neon validates the JWT against the project's JWKS (Neon Authorize); nothing here could.
      throw new SqlHttpError(400, "missing authentication credentials: JWT (authToken) is not supported by the local Neon stand-in");
    }
    const out = parseOutputHeaders(req.headers);
    const payload = parsePayload(await readBody(req, signal));
    if (!allowed.has(conn.target.key)) {
      log(`neon-http: refused ${conn.target.key}: not in allowed targets`);
      throw new SqlHttpError(400, `ws-proxy: ${conn.target.key} is not an allowed target`);
    }
    const entry = poolFor(conn);
    const lease = await acquire(entry, conn.target, signal);
    const onAbort = (): void => lease.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const result = await execute(lease, entry, payload, out, signal);
      if (Buffer.byteLength(result.body) > SQL_MAX_RESPONSE_BYTES) throw responseTooLarge();
      return result;
    } finally {
      signal.removeEventListener("abort", onAbort);
      lease.release();
    }
  }

  function sqlEndpoint(req: http.IncomingMessage, res: http.ServerResponse): void {
    const baseHeaders = { "Access-Control-Allow-Origin": "*", "Neon-Request-Id": randomUUID() };
    if (req.method === "OPTIONS") {
      // CORS preflight, as Neon answers it.
      res.writeHead(200, {
        ...baseHeaders,
        Allow: "OPTIONS, POST",
        "Access-Control-Allow-Headers":
          "Authorization, Neon-Connection-String, Neon-Raw-Text-Output, Neon-Array-Mode, Neon-Pool-Opt-In, Neon-Batch-Read-Only, Neon-Batch-Isolation-Level",
        "Access-Control-Max-Age": "86400",
      });
      res.end();
      return;
    }
    const send = (status: number, body: string, headers: Record<string, string> = {}): void => {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(status, { ...baseHeaders, ...headers, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== "POST") {
      send(400, JSON.stringify("query is not supported"));
      return;
    }
    const ac = new AbortController();
    sqlRequests.add(ac);
    const timer = setTimeout(() => ac.abort(), sqlTimeoutMs);
    // A client that goes away (or times out its fetch) gets its statement cancelled, as on Neon.
    res.on("close", () => {
      clearTimeout(timer);
      sqlRequests.delete(ac);
      if (!res.writableFinished) ac.abort();
    });
    handleSql(req, ac.signal).then(
      ({ body, headers }) => send(200, body, headers),
      (err: unknown) => {
        const e = err instanceof SqlHttpError ? err : new SqlHttpError(500, err instanceof Error ? err.message : String(err));
        if (e.status >= 500) log(`neon-http: ${e.message}`);
        // The unread rest of a refused body would otherwise be parsed as the next request.
        if (!req.complete) res.setHeader("Connection", "close");
        send(e.status, errorBody(e));
      },
    );
  }

  const server = http.createServer((req, res) => {
    if (new URL(req.url ?? "/", "http://ws-proxy.invalid").pathname === "/sql") {
      sqlEndpoint(req, res);
      return;
    }
    res.writeHead(426, { "Content-Type": "text/plain; charset=utf-8", Upgrade: "websocket" });
    res.end("ws-proxy: WebSocket upgrade required (?address=host:port) or POST /sql\n");
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });

  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    const url = new URL(req.url ?? "/", "http://ws-proxy.invalid");
    const address = url.searchParams.get("address");
    const target = address === null ? null : parseTarget(address);
    if (target === null) {
      log(`ws-proxy: refused ${req.url ?? ""}: missing or malformed address`);
      refuseUpgrade(socket, 400, "ws-proxy: expected ?address=host:port");
      return;
    }
    if (!allowed.has(target.key)) {
      log(`ws-proxy: refused ${target.key}: not in allowed targets`);
      refuseUpgrade(socket, 403, `ws-proxy: ${target.key} is not an allowed target`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => tunnel(ws, target));
  });

  function tunnel(ws: WebSocket, target: Target): void {
    const tcp = net.connect({ host: target.host, port: target.port });
    tcp.setNoDelay(true);
    const entry = { ws, tcp };
    tunnels.add(entry);

    // Client → Postgres. net.Socket queues writes made while still connecting, so the startup message
    // may arrive before the TCP handshake finishes.
    ws.on("message", (data: RawData) => {
      for (const chunk of toBuffers(data)) {
        if (!tcp.write(chunk)) ws.pause();
      }
    });
    tcp.on("drain", () => ws.resume());

    // Postgres → client, one binary message per chunk; pause the TCP side while ws lags behind.
    tcp.on("data", (chunk: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(chunk, { binary: true }, () => {
        if (tcp.isPaused() && ws.bufferedAmount < WS_LOW_WATER) tcp.resume();
      });
      if (ws.bufferedAmount > WS_HIGH_WATER) tcp.pause();
    });

    tcp.on("error", (err) => {
      log(`ws-proxy: ${target.key}: ${err.message}`);
      if (ws.readyState === ws.OPEN) ws.close(1011, "upstream error");
      else ws.terminate();
    });
    tcp.on("close", () => {
      tunnels.delete(entry);
      if (ws.readyState === ws.OPEN) ws.close(1000, "upstream closed");
    });

    ws.on("error", (err) => {
      log(`ws-proxy: client for ${target.key}: ${err.message}`);
      tcp.destroy();
    });
    ws.on("close", () => {
      tunnels.delete(entry);
      // end() lets queued bytes (e.g. the Terminate message) reach Postgres before FIN.
      tcp.end();
      setTimeout(() => tcp.destroy(), 5_000).unref();
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    port,
    close: () => {
      closing ??= (async () => {
        for (const { ws, tcp } of tunnels) {
          ws.terminate();
          tcp.destroy();
        }
        tunnels.clear();
        for (const ac of sqlRequests) ac.abort();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await stopped;
        // Aborted requests release their connections once the cancel went out (bounded by SQL_CANCEL_WAIT_MS).
        await Promise.all([...sqlPools.values()].map(({ pool }) => pool.end()));
        sqlPools.clear();
      })();
      return closing;
    },
  };
}

/* ------------------------------------------------------------------------------------------------ */
/* CLI                                                                                              */
/* ------------------------------------------------------------------------------------------------ */

function parseArgs(argv: readonly string[]): { port: number; host: string; allow: string[] } {
  const cfg = loadStackConfig();
  const out = {
    port: cfg.wsProxyPort,
    host: "127.0.0.1",
    allow: [`127.0.0.1:${cfg.bouncerPrimaryPort}`, `127.0.0.1:${cfg.bouncerReplicaPort}`],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`ws-proxy: ${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--port": {
        const p = Number(value());
        if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error("ws-proxy: --port must be a TCP port");
        out.port = p;
        break;
      }
      case "--host":
        out.host = value();
        break;
      case "--allow":
        out.allow = value().split(",").map((s) => s.trim()).filter((s) => s !== "");
        break;
      default:
        throw new Error(`ws-proxy: unknown argument ${arg} (use --port N --host H --allow host:port,...)`);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const proxy = await startWsProxy({
    port: args.port,
    host: args.host,
    allowedTargets: args.allow,
    log: (msg) => process.stderr.write(`${msg}\n`),
  });
  process.stdout.write(`${JSON.stringify({ service: "ws-proxy", url: `ws://${args.host}:${proxy.port}/v1`, sqlUrl: `http://${args.host}:${proxy.port}/sql`, host: args.host, port: proxy.port, allowedTargets: args.allow })}\n`);
  const shutdown = (): void => {
    proxy.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return fs.realpathSync(path.resolve(entry)) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
