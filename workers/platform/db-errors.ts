/** Telling an unreachable database from a failed statement, for fallback and 503 decisions. */

/**
 * True for failures of the connection rather than of the statement: SQLSTATE classes 08 (connection), 57P
 * (shutdown, cannot connect now), 53300 (too many connections).
 * Also 40001 from a replica (a query cancelled by a conflict with recovery), which is worth a retry elsewhere.
 * Driver errors without a SQLSTATE count only when they speak of the connection (a bug must not look like an outage).
 */
export function isConnectionError(err: unknown): boolean {
  // drizzle wraps driver errors (DrizzleQueryError) and keeps the driver's error as `cause`.
  let e: unknown = err;
  while (e instanceof Error && typeof (e as { code?: unknown }).code !== "string" && e.cause !== undefined && e.cause !== null) {
    e = e.cause;
  }
  // The driver rejects with the WebSocket's ErrorEvent (not an Error) when the socket cannot open.
  if (!(e instanceof Error)) return true;
  const code = (e as { code?: unknown }).code;
  // Neon's HTTP endpoint answers failures of its own (no such endpoint, target refused) with an empty code.
  if (code === "") return true;
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) {
    return code.startsWith("08") || code.startsWith("57P") || code === "53300" || code === "40001";
  }
  const text = `${e.name} ${e.message}`;
  return /connect|connection|websocket|socket|terminated|timeout|timed out|ECONN|closed|network|fetch failed|abort|server error/i.test(text);
}

/**
 * True when the connection was never established because connecting took too long (pg's connect timeout, or the
 * pool's wait for a connection): nothing was sent, so running the same work again cannot apply it twice.
 */
export function isConnectTimeout(err: unknown): boolean {
  let e: unknown = err;
  while (e instanceof Error && !/connection timeout|trying to connect/i.test(e.message) && e.cause !== undefined && e.cause !== null) e = e.cause;
  return e instanceof Error && /connection timeout|timeout exceeded when trying to connect/i.test(e.message);
}
