/**
 * Search's own operating limits, read from the environment once per env object: the statement timeout of search
 * reads (SEARCH_STATEMENT_TIMEOUT_MS). Word and typo bounds live in the search_tsquery SQL function (migration
 * 0011) and request.ts; per-client rate limits are the SEARCH_/SUGGEST_RATE_LIMITER bindings (wrangler.toml).
 */
import { z } from "zod";

export interface SearchLimits {
  /** Postgres cancels a search statement after this long; the API answers 503 SEARCH_TIMEOUT. */
  statementTimeoutMs: number;
}

export const DEFAULT_STATEMENT_TIMEOUT_MS = 2000;

const schema = z.object({
  SEARCH_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(1).max(30_000).default(DEFAULT_STATEMENT_TIMEOUT_MS),
});

const parsed = new WeakMap<object, SearchLimits>();

/** The limits of this env; a malformed value falls back to the default rather than failing every search. */
export function searchLimits(env: Partial<Pick<Env, "SEARCH_STATEMENT_TIMEOUT_MS">>): SearchLimits {
  const hit = parsed.get(env);
  if (hit) return hit;
  const result = schema.safeParse({ SEARCH_STATEMENT_TIMEOUT_MS: env.SEARCH_STATEMENT_TIMEOUT_MS || undefined });
  const limits = { statementTimeoutMs: result.success ? result.data.SEARCH_STATEMENT_TIMEOUT_MS : DEFAULT_STATEMENT_TIMEOUT_MS };
  parsed.set(env, limits);
  return limits;
}
