/**
 * First middleware: request and trace ids, the parsed config, the request's logger, and one JSON access-log line
 * per request (method, path, status, latency, ids, user).
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { getConfig } from "./config";
import { createLogger } from "./logger";

const SAFE_ID = /^[A-Za-z0-9._:-]{8,128}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Reuses a well-formed incoming X-Request-Id (from a proxy) or mints one; the trace id follows W3C traceparent. */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && SAFE_ID.test(incoming) ? incoming : crypto.randomUUID();
    const tp = TRACEPARENT.exec(c.req.header("traceparent") ?? "");
    // Without an incoming trace, the trace starts here and takes the request id's bits (one UUID, not two).
    const traceId = tp?.[1] ?? (requestId === incoming ? crypto.randomUUID() : requestId).replaceAll("-", "");
    c.set("requestId", requestId);
    c.set("traceId", traceId);
    c.set("userId", null);
    c.set("servedBy", null);
    c.header("X-Request-Id", requestId);
    c.header("X-Trace-Id", traceId);
    // Config errors surface through onError; until then log at info with a bootstrap logger.
    c.set("log", createLogger("info", { request_id: requestId, trace_id: traceId }));
    const config = getConfig(c.env);
    c.set("config", config);
    const log = createLogger(config.logLevel, { request_id: requestId, trace_id: traceId, env: config.environment });
    c.set("log", log);
    try {
      await next();
    } finally {
      const status = c.res.status;
      const fields = {
        method: c.req.method,
        path: c.req.path,
        status,
        latency_ms: Math.round((performance.now() - started) * 100) / 100,
        user_id: c.get("userId"),
        served_by: c.get("servedBy"),
      };
      if (status >= 500) log.error("request", fields);
      else log.info("request", fields);
    }
  };
}
