/**
 * The Worker's configuration: vars and secrets from the environment, checked with zod once per env object.
 * A missing or malformed value fails the request with a message that names it, instead of a stray
 * `undefined` deep inside a driver.
 */
import { z } from "zod";
import { exampleValuesIn } from "./example-secrets";

const csv = (s: string): string[] =>
  s
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p.length > 0);

const postgresUrl = z
  .string()
  .trim()
  .regex(/^postgres(ql)?:\/\/\S+$/, "must be a postgres:// URL");

const secret32 = z.string().min(32, "must be at least 32 characters");

const configSchema = z.object({
  ENVIRONMENT: z.enum(["development", "test", "staging", "production"]),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  CORS_ORIGINS: z.string().default("").transform(csv),
  CACHE_NAMESPACE: z.string().regex(/^[a-z0-9_-]{1,32}$/, "must be 1-32 of a-z 0-9 _ -"),
  NEON_LOCAL_PROXY: z
    .string()
    .default("")
    .refine((s) => s === "" || /^[\w.-]+:\d{1,5}$/.test(s), "must be host:port or empty"),
  DATABASE_URL: postgresUrl,
  DATABASE_REPLICA_URLS: z
    .string()
    .default("")
    .transform(csv)
    .pipe(z.array(postgresUrl)),
  UPSTASH_REDIS_REST_URL: z.url({ protocol: /^https?$/ }),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
  ADMIN_API_TOKEN: secret32,
  COOKIE_SECRET: secret32,
  JWT_KEYS: z
    .string()
    .transform(csv)
    .pipe(
      z
        .array(z.string().regex(/^[a-z0-9]{1,16}:[A-Za-z0-9+/_=-]{43,}$/, "entries must be kid:base64secret (≥ 32 bytes)"))
        .min(1, "needs at least one kid:secret"),
    ),
  AUTH_LOGIN_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(10),
  AUTH_LOGIN_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  PUBLIC_APP_URL: z.url({ protocol: /^https?$/ }).default("http://localhost:3000"),
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(100),
  STRIPE_API_BASE: z
    .string()
    .default("")
    .refine((s) => s === "" || /^https?:\/\/[\w.-]+(:\d{1,5})?$/.test(s), "must be empty (api.stripe.com) or http(s)://host[:port]"),
  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_\w{8,}$/, "must be a Stripe secret key (sk_test_… or sk_live_…)"),
  STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_\w{16,}$/, "must be a Stripe webhook signing secret (whsec_…)"),
  STRIPE_PUBLISHABLE_KEY: z
    .string()
    .default("")
    .refine((s) => s === "" || /^pk_(test|live)_\w{8,}$/.test(s), "must be empty or a Stripe publishable key (pk_test_… or pk_live_…)"),
  CHECKOUT_HOLD_SECONDS: z.coerce.number().int().min(60).max(3600).default(900),
  CART_IDLE_SECONDS: z.coerce.number().int().min(60).max(90 * 86_400).default(7 * 86_400),
  CART_MAX_LINE_QTY: z.coerce.number().int().min(1).max(1000).default(10),
  CART_MAX_LINES: z.coerce.number().int().min(1).max(500).default(50),
  QUEUE_BACKOFF_BASE_SECONDS: z.coerce.number().int().min(0).max(60).default(2),
  EMAIL_API_URL: z.union([z.literal(""), z.url({ protocol: /^https?$/ })]).default(""),
  EMAIL_API_KEY: z.string().default(""),
  EMAIL_FROM: z.string().default("NexusBooks <orders@nexusbooks.example>"),
  // Typesense is optional: without TYPESENSE_HOST search runs on the Postgres engine.
  TYPESENSE_HOST: z.string().trim().default(""),
  TYPESENSE_PORT: z.string().trim().default("").refine((s) => s === "" || /^\d{1,5}$/.test(s), "must be a TCP port"),
  TYPESENSE_PROTOCOL: z.enum(["http", "https", ""]).default(""),
  TYPESENSE_API_KEY: z.string().trim().default(""),
  TYPESENSE_COLLECTION: z.string().trim().default("").refine((s) => s === "" || /^[a-z0-9_-]{1,64}$/.test(s), "must be 1-64 of a-z 0-9 _ -"),
  // Where the client's IP comes from: a header name, or "none" (every client shares one per-IP identity).
  CLIENT_IP_HEADER: z
    .string()
    .trim()
    .toLowerCase()
    .default("cf-connecting-ip")
    .refine((s) => s === "none" || /^[a-z0-9-]{1,64}$/.test(s), "must be a header name such as cf-connecting-ip, or none"),
  PII_KEYS: z.string().regex(/^[a-z0-9]{1,16}:[A-Za-z0-9+/_=-]{43,}(,[a-z0-9]{1,16}:[A-Za-z0-9+/_=-]{43,})*$/, "must be kid:base64key[,kid:key]"),
});

export interface AppConfig {
  environment: "development" | "test" | "staging" | "production";
  logLevel: "debug" | "info" | "warn" | "error";
  corsOrigins: string[];
  cacheNamespace: string;
  neonLocalProxy: string | null;
  databaseUrl: string;
  replicaUrls: string[];
  redisUrl: string;
  redisToken: string;
  adminApiToken: string;
  cookieSecret: string;
  /** HS256 signing keys by kid; the first signs new tokens, all verify (rotation). */
  jwtKeys: { kid: string; secret: string }[];
  /** Login and sign-up limits (per account: attempts per window; per IP: per minute / hour). */
  authLimits: { loginPerAccount: number; loginWindowSeconds: number; loginPerIp: number; signupPerIp: number };
  /** The storefront's origin, for links in emails. */
  publicAppUrl: string;
  /** Requests per minute per signed-in user on the API (seed 002: 100). */
  apiPerUserPerMinute: number;
  /** The PII key ring secret (parsed by platform/pii.ts). */
  piiKeys: string;
  /** The Typesense cluster when configured (search engine choice); null means the Postgres engine. */
  typesense: { host: string; port: number; protocol: "http" | "https"; apiKey: string; collection: string } | null;
  /** Non-production environments add diagnostic headers such as X-Served-By. */
  diagnostics: boolean;
  /** Stripe: where the API is (null = api.stripe.com; locally the fake), the secret key, the webhook secret. */
  stripe: { apiBase: URL | null; secretKey: string; webhookSecret: string; publishableKey: string | null };
  /** Checkout holds last this long; an unpaid order's stock returns after it. */
  checkoutHoldSeconds: number;
  /** Carts: idle expiry and quantity caps. */
  cart: { idleSeconds: number; maxLineQty: number; maxLines: number };
  /** First retry delay of a failed queue message; later retries double it (0 in tests: retry at once). */
  queueBackoffBaseSeconds: number;
  /** The HTTP email API (Resend-compatible); null sends to the dev mailbox outside production. */
  emailApi: { url: string; key: string } | null;
  emailFrom: string;
  /** The request header that carries the client's IP (lower case), or null when none can be trusted. */
  clientIpHeader: string | null;
}

/** Thrown when the environment does not satisfy the schema; the message lists every offending name. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid Worker configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

const parsed = new WeakMap<object, AppConfig>();

/** Parses and caches the configuration of one env object; throws ConfigError naming what is missing or wrong. */
export function getConfig(env: Env): AppConfig {
  const hit = parsed.get(env);
  if (hit) return hit;
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const name = i.path.join(".") || "(env)";
      const value = (env as unknown as Record<string, unknown>)[name];
      return value === undefined ? `${name} is missing` : `${name} ${i.message}`;
    });
    throw new ConfigError(problems);
  }
  const e = result.data;
  const config: AppConfig = {
    environment: e.ENVIRONMENT,
    logLevel: e.LOG_LEVEL,
    corsOrigins: e.CORS_ORIGINS,
    cacheNamespace: e.CACHE_NAMESPACE,
    neonLocalProxy: e.NEON_LOCAL_PROXY === "" ? null : e.NEON_LOCAL_PROXY,
    databaseUrl: e.DATABASE_URL,
    replicaUrls: e.DATABASE_REPLICA_URLS,
    redisUrl: e.UPSTASH_REDIS_REST_URL,
    redisToken: e.UPSTASH_REDIS_REST_TOKEN,
    adminApiToken: e.ADMIN_API_TOKEN,
    cookieSecret: e.COOKIE_SECRET,
    jwtKeys: e.JWT_KEYS.map((entry) => {
      const i = entry.indexOf(":");
      return { kid: entry.slice(0, i), secret: entry.slice(i + 1) };
    }),
    piiKeys: e.PII_KEYS,
    apiPerUserPerMinute: e.API_RATE_LIMIT_PER_MINUTE,
    publicAppUrl: e.PUBLIC_APP_URL.replace(/\/+$/, ""),
    authLimits: { loginPerAccount: e.AUTH_LOGIN_MAX_ATTEMPTS, loginWindowSeconds: e.AUTH_LOGIN_WINDOW_SECONDS, loginPerIp: 60, signupPerIp: 30 },
    typesense:
      e.TYPESENSE_HOST === ""
        ? null
        : {
            host: e.TYPESENSE_HOST,
            protocol: e.TYPESENSE_PROTOCOL === "" ? "https" : e.TYPESENSE_PROTOCOL,
            port: e.TYPESENSE_PORT === "" ? (e.TYPESENSE_PROTOCOL === "http" ? 8108 : 443) : Number(e.TYPESENSE_PORT),
            apiKey: e.TYPESENSE_API_KEY,
            // One collection per environment unless named explicitly.
            collection: e.TYPESENSE_COLLECTION === "" ? `books_${e.CACHE_NAMESPACE.replace(/-/g, "_")}` : e.TYPESENSE_COLLECTION,
          },
    diagnostics: e.ENVIRONMENT !== "production",
    stripe: { apiBase: e.STRIPE_API_BASE === "" ? null : new URL(e.STRIPE_API_BASE), secretKey: e.STRIPE_SECRET_KEY, webhookSecret: e.STRIPE_WEBHOOK_SECRET, publishableKey: e.STRIPE_PUBLISHABLE_KEY === "" ? null : e.STRIPE_PUBLISHABLE_KEY },
    checkoutHoldSeconds: e.CHECKOUT_HOLD_SECONDS,
    cart: { idleSeconds: e.CART_IDLE_SECONDS, maxLineQty: e.CART_MAX_LINE_QTY, maxLines: e.CART_MAX_LINES },
    queueBackoffBaseSeconds: e.QUEUE_BACKOFF_BASE_SECONDS,
    emailApi: e.EMAIL_API_URL === "" ? null : { url: e.EMAIL_API_URL, key: e.EMAIL_API_KEY },
    emailFrom: e.EMAIL_FROM,
    clientIpHeader: e.CLIENT_IP_HEADER === "none" ? null : e.CLIENT_IP_HEADER,
  };
  if (config.environment !== "development" && config.environment !== "test") {
    const examples = exampleValuesIn(env as unknown as Record<string, unknown>);
    if (examples.length > 0) throw new ConfigError(examples.map((n) => `${n} holds a published example value; set a real secret (wrangler secret put ${n})`));
  }
  if (config.environment === "production" && config.stripe.apiBase) {
    throw new ConfigError(["STRIPE_API_BASE must be empty in production"]);
  }
  if (config.typesense && config.typesense.apiKey === "") {
    throw new ConfigError(["TYPESENSE_API_KEY is missing (required when TYPESENSE_HOST is set)"]);
  }
  if (config.environment === "production" && config.neonLocalProxy) {
    throw new ConfigError(["NEON_LOCAL_PROXY must be empty in production"]);
  }
  parsed.set(env, config);
  return config;
}
