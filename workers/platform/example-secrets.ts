/**
 * Values that are public by design: the examples in `.dev.vars.example` and the local stack's constants
 * (dev/worker-env.ts, dev/config.ts). They are fine on a laptop and fatal anywhere else (a copied JWT_KEYS lets
 * anyone mint an admin token), so getConfig refuses them outside development and test. A node test keeps this list
 * in step with those files.
 */

/** Known example values by variable; list variables (JWT_KEYS, PII_KEYS) are checked entry by entry and by secret. */
export const EXAMPLE_VALUES: Readonly<Record<string, readonly string[]>> = {
  ADMIN_API_TOKEN: ["local-admin-token-change-me-0123456789abcdef"],
  COOKIE_SECRET: ["local-cookie-secret-change-me-0123456789abcdef"],
  JWT_KEYS: ["k1:bG9jYWwtand0LWtleS1vbmUtY2hhbmdlLW1lLTAxMjM0NTY3ODlhYmNkZWY"],
  PII_KEYS: ["p1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"],
  STRIPE_SECRET_KEY: ["sk_test_nexusbooks_local"],
  STRIPE_WEBHOOK_SECRET: ["whsec_nexusbooks_local_0123456789abcdef"],
  UPSTASH_REDIS_REST_TOKEN: ["nexusbooks-local-token"],
  DATABASE_URL: ["postgres://postgres@127.0.0.1:6432/nexusbooks"],
  DATABASE_REPLICA_URLS: ["postgres://postgres@127.0.0.1:6433/nexusbooks"],
};

const LIST_VARIABLES = new Set(["JWT_KEYS", "PII_KEYS", "DATABASE_REPLICA_URLS"]);
// Placeholders people type when they copy an example and mean to come back to it.
const PLACEHOLDER = /change[-_]?me|replace[-_]?me|example-secret/i;

/** The secret part of a `kid:secret` entry (the whole entry when there is no kid). */
const secretOf = (entry: string): string => (/^[a-z0-9]{1,16}:/.test(entry) ? entry.slice(entry.indexOf(":") + 1) : entry);

/** Names of variables in `env` that hold a known example value or an obvious placeholder. */
export function exampleValuesIn(env: Record<string, unknown>): string[] {
  const found: string[] = [];
  for (const [name, examples] of Object.entries(EXAMPLE_VALUES)) {
    const raw = env[name];
    if (typeof raw !== "string" || raw.trim() === "") continue;
    const entries = LIST_VARIABLES.has(name) ? raw.split(",").map((s) => s.trim()).filter(Boolean) : [raw.trim()];
    const known = new Set(examples.flatMap((e) => [e, secretOf(e)]));
    const placeholderCheck = name !== "DATABASE_URL" && name !== "DATABASE_REPLICA_URLS";
    if (entries.some((e) => known.has(e) || known.has(secretOf(e)) || (placeholderCheck && PLACEHOLDER.test(e)))) found.push(name);
  }
  return found;
}
