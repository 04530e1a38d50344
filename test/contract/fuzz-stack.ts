/**
 * What the fuzzer needs from the local stack (Node only): a Worker of its own on the test database (wrangler's
 * `unstable_startWorker`, as test/http/flash-sale.test.ts), known values from Postgres, credentials made through the
 * API, a snapshot of what rejected requests must not change, and the restoration of the one variant valid staff
 * requests may change.
 */
import pg from "pg";
import { startTestWorker } from "../../dev/test-worker";
import { LOCAL_STRIPE_WEBHOOK_SECRET, pgUrl } from "../../dev/config";
import type { StackConfig } from "../../dev/config";
import { LOCAL_ADMIN_TOKEN } from "../../dev/worker-env";
import type { OpenApiDocument } from "../support/conformance";
import type { FuzzCredentials, FuzzFixtures } from "./fuzz";

/** The variant valid staff requests may change (an ebook: no stock, so no test's stock scenario picks it); restored after. */
export const FUZZ_WRITE_SKU = "BK00592-EB";
export const DEFAULT_SEED = 20241201;

export interface FuzzWorker {
  origin: string;
  doc: OpenApiDocument;
  dispose(): Promise<void>;
}

/** A Worker of the fuzzer's own on `database` (fresh Durable Objects, limits raised so they do not decide the run). */
export async function startFuzzWorker(cfg: StackConfig, database: string): Promise<FuzzWorker> {
  const worker = await startTestWorker(cfg, database, { API_RATE_LIMIT_PER_MINUTE: "100000" });
  const origin = worker.origin;
  const res = await fetch(`${origin}/openapi.json`);
  if (res.status !== 200) {
    const text = await res.text();
    await worker.dispose();
    throw new Error(`GET /openapi.json answered ${res.status}: ${text}`);
  }
  return { origin, doc: (await res.json()) as OpenApiDocument, dispose: () => worker.dispose() };
}

export const connect = async (cfg: StackConfig, database: string): Promise<pg.Client> => {
  const db = new pg.Client({ connectionString: pgUrl(cfg.pgPrimaryPort, database) });
  await db.connect();
  return db;
};

async function column(db: pg.Client, text: string): Promise<string[]> {
  try {
    return (await db.query<{ v: string }>(text)).rows.map((r) => r.v).filter((v) => typeof v === "string" && v !== "");
  } catch {
    return [];
  }
}

/** Known values by name: real slugs, ISBNs and SKUs to read; for writes only the fuzzer's own variant. */
export async function fuzzFixtures(db: pg.Client): Promise<FuzzFixtures> {
  const products = await column(db, "select slug as v from products where status = 'active' order by id limit 6");
  const categories = await column(db, "select slug as v from categories order by id limit 4");
  const isbn13 = await column(db, "select gtin as v from products where gtin ~ '^97[89][0-9]{10}$' order by id limit 3");
  // The same books hyphenated, as people type them.
  const isbns = [...isbn13, ...isbn13.slice(0, 2).map((i) => `${i.slice(0, 3)}-${i.slice(3, 4)}-${i.slice(4, 9)}-${i.slice(9, 12)}-${i.slice(12)}`)];
  const skus = await column(db, "select sku as v from variants order by id limit 6");
  return {
    read: { slug: [...products, ...categories], isbn: isbns, sku: skus, category: categories, author: await column(db, "select slug as v from authors order by id limit 3") },
    write: { sku: [FUZZ_WRITE_SKU], n: ["1", "3"] },
    // POST /dev/stock/{sku}/bench times n reserve/release pairs (up to 20,000): valid runs stay small.
    exclusive: ["n"],
  };
}

const json = async (res: Response): Promise<Record<string, unknown>> => {
  try {
    return (await res.json()) as Record<string, unknown>;
  } catch {
    return {};
  }
};
const field = (body: Record<string, unknown>, key: string): string | undefined => {
  const data = body.data as Record<string, unknown> | undefined;
  const v = data?.[key] ?? body[key];
  return typeof v === "string" ? v : undefined;
};

/** A staff token, a signed-in customer and a guest cart, made through the API (whatever is not available is left out). */
export async function fuzzCredentials(origin: string, log: (line: string) => void = () => undefined): Promise<FuzzCredentials> {
  const headers = { "content-type": "application/json", "cf-connecting-ip": "100.127.0.1" };
  const account = JSON.stringify({ email: `fuzz-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`, password: "vK9#qL2$wX7!zR4p-secure" });
  let customer: string | undefined;
  const signup = await fetch(`${origin}/v1/auth/signup`, { method: "POST", headers, body: account });
  if (signup.status === 202) {
    const login = await fetch(`${origin}/v1/auth/login`, { method: "POST", headers, body: account });
    customer = field(await json(login), "access_token");
  }
  if (!customer) log(`fuzz: no customer token (signup ${signup.status}: ${(await signup.text()).slice(0, 300)})`);
  const cartRes = await fetch(`${origin}/v1/carts`, { method: "POST", headers: { "cf-connecting-ip": "100.127.0.2" } });
  const cart = field(await json(cartRes), "cart_token");
  if (!cart) log(`fuzz: no cart token (POST /v1/carts ${cartRes.status})`);
  return { staff: LOCAL_ADMIN_TOKEN, customer, cart, stripeWebhookSecret: LOCAL_STRIPE_WEBHOOK_SECRET };
}

/**
 * What requests the API refuses must leave alone: row counts, stock sums, every variant's price and status, order
 * statuses, the audit and outbox logs, sessions, synonyms. A query that fails (a table of a later migration) reads n/a.
 */
const SNAPSHOT: Record<string, string> = {
  orders: "select count(*)::text as v from orders",
  order_statuses: "select coalesce(md5(string_agg(id::text || ':' || status || ':' || amount_refunded, ',' order by id)), '-') as v from orders",
  order_lines: "select count(*)::text as v from order_lines",
  order_history: "select count(*)::text as v from order_history",
  inventory_on_hand: "select coalesce(sum(on_hand), 0)::text as v from inventory",
  inventory_reserved: "select coalesce(sum(reserved), 0)::text as v from inventory",
  inventory_movements: "select count(*)::text as v from inventory_movements",
  variants: "select md5(string_agg(sku || ':' || coalesce(price_override::text, '-') || ':' || status, ',' order by sku)) as v from variants",
  product_versions: "select coalesce(sum(version), 0)::text as v from products",
  cache_versions: "select coalesce(md5(string_agg(scope || ':' || version, ',' order by scope)), '-') as v from cache_versions",
  users: "select count(*)::text as v from users",
  addresses: "select count(*)::text as v from addresses",
  refresh_tokens: "select count(*)::text as v from refresh_tokens",
  user_tokens: "select count(*)::text as v from user_tokens",
  synonyms: "select coalesce(md5(string_agg(t::text, ',' order by t::text)), '-') as v from search_synonyms t",
  audit_log: "select count(*)::text as v from audit_log",
  outbox: "select count(*)::text as v from outbox",
  payment_events: "select count(*)::text as v from payment_events",
  dead_letters: "select coalesce(md5(string_agg(t::text, ',' order by t::text)), '-') as v from dead_letters t",
  checkout_claims: "select count(*)::text as v from checkout_claims",
};

export function storeSnapshot(db: pg.Client): () => Promise<Record<string, string>> {
  return async () => {
    const out: Record<string, string> = {};
    for (const [name, text] of Object.entries(SNAPSHOT)) {
      try {
        out[name] = (await db.query<{ v: string | null }>(text)).rows[0]?.v ?? "null";
      } catch {
        out[name] = "n/a";
      }
    }
    return out;
  };
}

/** Reads the fuzzer's variant now and returns a function that puts it back (through the staff API, so caches follow). */
export async function rememberVariant(db: pg.Client, origin: string, sku = FUZZ_WRITE_SKU): Promise<() => Promise<void>> {
  const [row] = (await db.query<{ price_override: number | null; status: string }>("select price_override, status from variants where sku = $1", [sku])).rows;
  return async () => {
    if (!row) return;
    const res = await fetch(`${origin}/v1/admin/variants/${sku}`, {
      method: "PATCH",
      headers: { "content-type": "application/json", authorization: `Bearer ${LOCAL_ADMIN_TOKEN}` },
      body: JSON.stringify({ price_override: row.price_override, status: row.status }),
    });
    if (res.status !== 200) throw new Error(`restoring ${sku} answered ${res.status}: ${await res.text()}`);
  };
}
