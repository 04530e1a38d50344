/** The Hono environment every route shares: bindings plus the per-request services set by middleware. */
import type { AppConfig } from "./config";
import type { Logger } from "./logger";
import type { DbRouter, DbSource } from "./db";
import type { Cache } from "./cache";
import type { Principal } from "./principal";
import type { TargetCodes } from "./validation";

export interface AppVariables {
  requestId: string;
  traceId: string;
  log: Logger;
  config: AppConfig;
  db: DbRouter;
  cache: Cache;
  /** True when this session wrote recently: its reads go to the primary. */
  readYourWrites: boolean;
  /** Where the response's data came from, reported in X-Served-By outside production. */
  servedBy: "cache" | DbSource | null;
  userId: string | null;
  /** A guest cart token a storefront page read from its httpOnly cookie (after its CSRF check on a POST); the JSON API reads `X-Cart-Token` only. */
  cartToken?: string;
  /** The signed-in principal, set from the accounts middleware's verdict (see principal.ts); unset when anonymous. */
  principal?: Principal | null;
  /** The running route's field → error code table, read by the validation hook (see openapi.ts). */
  fieldCodes?: TargetCodes;
}

export interface AppEnv {
  Bindings: Env;
  Variables: AppVariables;
}
