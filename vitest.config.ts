import { defineConfig } from "vitest/config";

/**
 * Four projects: Node-side tests of the local stack's tools, tests inside workerd, HTTP tests against a dev server, and
 * browser tests (chromium) against a dev server.
 */
export default defineConfig({
  test: {
    projects: ["test/node/vitest.config.ts", "test/worker/vitest.config.ts", "test/http/vitest.config.ts", "test/browser/vitest.config.ts"],
  },
});
