import { defineConfig } from "vitest/config";

/**
 * Tests in a real browser (Debian's chromium, driven by playwright-core) against a real wrangler dev server the
 * test starts on the test database: the pages the Worker serves, as a browser renders them.
 */
export default defineConfig({
  test: {
    name: "browser",
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/browser/**/*.test.ts"],
    environment: "node",
    // The dev server the test starts must not reach Cloudflare for its Request.cf placeholder or metrics.
    env: { CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
