import { defineConfig } from "vitest/config";

/** Three projects: Node-side tests of the local stack's tools, tests inside workerd, and HTTP tests against a dev server. */
export default defineConfig({
  test: {
    projects: ["test/node/vitest.config.ts", "test/worker/vitest.config.ts", "test/http/vitest.config.ts"],
  },
});
