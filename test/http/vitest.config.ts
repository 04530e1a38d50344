import { defineConfig } from "vitest/config";

/**
 * Tests over HTTP against a real wrangler dev server (workerd with its Durable Objects and queues) started by the
 * test itself on the test database: for concurrency at a scale the in-process workers pool cannot carry.
 */
export default defineConfig({
  test: {
    name: "http",
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/http/**/*.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 120_000,
  },
});
