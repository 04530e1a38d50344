/**
 * Structured JSON logs, one line per event, always carrying the request and trace ids so a line in Workers Logs
 * can be joined to the response a client saw.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines also carry `fields` (e.g. user_id once known). */
  with(fields: LogFields): Logger;
}

/** Serialises an Error to plain fields; stack only outside production is the caller's choice. */
export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) return { error_name: err.name, error_message: err.message, error_stack: err.stack };
  return { error_message: String(err) };
}

/** Creates a logger writing JSON lines through console (which Workers Logs collects). */
export function createLogger(level: LogLevel, base: LogFields): Logger {
  const min = rank[level];
  const write = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (rank[lvl] < min) return;
    const line = JSON.stringify({ ts: new Date().toISOString(), level: lvl, msg, ...base, ...fields });
    if (lvl === "error") console.error(line);
    else if (lvl === "warn") console.warn(line);
    else console.log(line);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    with: (fields) => createLogger(level, { ...base, ...fields }),
  };
}
