/**
 * How the Postgres engine and the indexer reach Postgres, in the Worker (the request's DbRouter: replica-first
 * reads over HTTP, writes on the primary; see router-gateway.ts) and in Node (the reindex command, over `pg`).
 * Kept free of Worker types so the Node tools can use the engines as they are.
 */
import type { SQL } from "drizzle-orm";

/** Runs one statement and returns its rows (the same shape as platform/db's Reader). */
export interface SqlReader {
  rows<T extends Record<string, unknown>>(query: SQL): Promise<T[]>;
}

export interface SqlGateway {
  /** `statementTimeoutMs`: each statement is cancelled past it (SQLSTATE 57014); gateways without it may ignore it. */
  read<T>(fn: (db: SqlReader) => Promise<T>, opts?: { primary?: boolean; statementTimeoutMs?: number }): Promise<{ value: T; source: "primary" | "replica" }>;
  write<T>(fn: (db: SqlReader) => Promise<T>): Promise<T>;
}
