import { defineConfig } from "vitest/config";

/** Node-side tests: the local stack's own tools (proxies, launcher, seed) against real Postgres and Redis. */
export default defineConfig({
  test: {
    name: "node",
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/node/**/*.test.ts", "test/tools/**/*.test.ts", "test/contract/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
