/**
 * The typed context every service takes instead of a Hono Context, so the same function runs from a route, a queue
 * consumer, a cron or a Durable Object: the bindings, config, database router, cache, logger and clock, plus the ids
 * that tie its log lines and outbox rows to the request (or job) that caused them.
 */
import type { Context } from "hono";
import type { AppEnv } from "./context";
import type { AppConfig } from "./config";
import { getConfig } from "./config";
import type { Logger, LogFields } from "./logger";
import { createLogger } from "./logger";
import { DbRouter } from "./db";
import { Cache } from "./cache";

/** Time, injectable so expiry and reconciliation logic can be tested without waiting. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface ServiceContext {
  /** The Worker's bindings (Durable Object namespaces, queues). */
  readonly env: Env;
  readonly config: AppConfig;
  readonly db: DbRouter;
  readonly cache: Cache;
  readonly log: Logger;
  readonly clock: Clock;
  /** The request id (null outside a request). */
  readonly requestId: string | null;
  /** The trace id outbox rows carry to their consumers (null when there is none). */
  readonly traceId: string | null;
  /** True when this caller wrote recently: its reads go to the primary. */
  readonly readYourWrites: boolean;
  /** Keeps `work` alive after the caller returns (waitUntil); the database pools stay open until it settles. */
  defer(work: Promise<unknown>): void;
}

/** The service context of an HTTP request, from what the platform middleware installed on the Hono context. */
export function serviceContext(c: Context<AppEnv>): ServiceContext {
  const db = c.get("db");
  return {
    env: c.env,
    config: c.get("config"),
    db,
    cache: c.get("cache"),
    log: c.get("log"),
    clock: systemClock,
    requestId: c.get("requestId"),
    traceId: c.get("traceId"),
    readYourWrites: c.get("readYourWrites"),
    defer: (work) => c.executionCtx.waitUntil(db.track(work)),
  };
}

/** A service context that owns its resources: `end()` closes the database pools (after deferred work). */
export interface OwnedServiceContext extends ServiceContext {
  end(): Promise<void>;
}

/**
 * A service context for work outside a request: a queue batch, a cron run, a Durable Object. `waitUntil` is the
 * invocation's (ExecutionContext or DurableObjectState); the caller must `end()` it (in a finally).
 */
export function standaloneServiceContext(
  env: Env,
  host: { waitUntil(work: Promise<unknown>): void },
  opts: { logFields?: LogFields; traceId?: string | null; clock?: Clock; config?: AppConfig; log?: Logger; db?: DbRouter; cache?: Cache } = {},
): OwnedServiceContext {
  const config = opts.config ?? getConfig(env);
  const log = opts.log ?? createLogger(config.logLevel, { env: config.environment, ...opts.logFields });
  const db = opts.db ?? new DbRouter(config, log);
  return {
    env,
    config,
    db,
    cache: opts.cache ?? new Cache(config, log),
    log,
    clock: opts.clock ?? systemClock,
    requestId: null,
    traceId: opts.traceId ?? null,
    // Background work outside a request is primary-only: there is no session to read its own writes.
    readYourWrites: true,
    defer: (work) => host.waitUntil(db.track(work)),
    end: () => db.end(),
  };
}
