import { defineConfig } from "vitest/config";

/** Two projects: Node-side tests of the local stack's tools, and tests inside workerd. */
export default defineConfig({
  test: {
    projects: ["test/node/vitest.config.ts", "test/worker/vitest.config.ts"],
  },
});
