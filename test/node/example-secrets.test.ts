/**
 * The refusal list of workers/platform/example-secrets.ts stays in step with the files that publish example values:
 * every non-empty secret in `.dev.vars.example` and every secret the local stack hands the Worker is refused.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EXAMPLE_VALUES, exampleValuesIn } from "../../workers/platform/example-secrets";
import { loadStackConfig } from "../../dev/config";
import { localWorkerVars } from "../../dev/worker-env";

const SECRET_NAMES = Object.keys(EXAMPLE_VALUES);

function parseDevVars(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)="(.*)"\s*$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

describe("example secrets", () => {
  it("every non-empty value of .dev.vars.example that is a known secret is refused", () => {
    const example = parseDevVars(readFileSync(new URL("../../.dev.vars.example", import.meta.url), "utf8"));
    const named = Object.entries(example).filter(([k, v]) => v !== "" && SECRET_NAMES.includes(k));
    expect(named.length).toBeGreaterThanOrEqual(8);
    for (const [name, value] of named) expect(exampleValuesIn({ [name]: value }), name).toEqual([name]);
  });

  it("every secret the local stack gives the Worker (dev and test) is refused", () => {
    for (const environment of ["development", "test"] as const) {
      const vars = localWorkerVars(loadStackConfig(), "nexusbooks", environment);
      const flagged = exampleValuesIn(vars);
      for (const name of ["ADMIN_API_TOKEN", "COOKIE_SECRET", "JWT_KEYS", "PII_KEYS", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "UPSTASH_REDIS_REST_TOKEN"]) {
        expect(flagged, `${environment} ${name}`).toContain(name);
      }
    }
  });

  it("real-looking secrets pass", () => {
    expect(exampleValuesIn({ ADMIN_API_TOKEN: "Zr9f3kQ0b7XcV2nM8pL4tY6wE1uI5oA0sD3fG7hJ", JWT_KEYS: "k2:4u8Qm0sQy1mXo3n6c1d7Zb2a5f9g0h4j6k8l0m2n4p6", STRIPE_SECRET_KEY: "sk_live_51Habcdefghijkl" })).toEqual([]);
  });
});
