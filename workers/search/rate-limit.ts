/**
 * Per-client rate limits on search and suggest through the Workers Rate Limiting binding: counted in the Cloudflare
 * location, no network round trip, so it costs nothing on the typing path. Every request counts, valid or not, and
 * the check runs before any cache or database work.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { searchClientKey } from "./client-key";

/** The binding's window (wrangler.toml `simple.period`): a refused client may retry after at most this long. */
export const SEARCH_RATE_PERIOD_SECONDS = 10;

type LimiterName = "SEARCH_RATE_LIMITER" | "SUGGEST_RATE_LIMITER";

/**
 * Refuses a client over `binding`'s limit with 429 RATE_LIMITED and Retry-After. Fails open (logged) when the binding
 * is missing or errors: search is read-only and already bounded per query, so an outage of the limiter must not
 * take search down.
 */
export function searchRateLimit(binding: LimiterName): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const limiter = (c.env as Partial<Pick<Env, LimiterName>>)[binding];
    let allowed = true;
    if (limiter) {
      try {
        allowed = (await limiter.limit({ key: searchClientKey(c) })).success;
      } catch (err) {
        c.get("log").warn("search_rate_limit_unavailable", { binding, error_message: err instanceof Error ? err.message : String(err) });
      }
    } else {
      c.get("log").warn("search_rate_limit_unbound", { binding });
    }
    if (!allowed) {
      const retryAfter = SEARCH_RATE_PERIOD_SECONDS;
      throw new AppError("RATE_LIMITED", "Too many searches from this client; slow down", { retry_after_seconds: retryAfter }, { "Retry-After": String(retryAfter) });
    }
    await next();
  };
}
