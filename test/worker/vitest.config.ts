import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { loadStackConfig } from "../../dev/config";
import { localWorkerVars } from "../../dev/worker-env";

const cfg = loadStackConfig();
const bindings = localWorkerVars(cfg, cfg.testDatabase, "test");

/**
 * Tests inside workerd (the real Workers runtime) against the local stack: Postgres primary and replica through
 * PgBouncer and the Neon WebSocket proxy, Redis through the Upstash REST proxy. `npm test` starts the stack first.
 */
export default defineConfig({
  plugins: [
    cloudflareTest({
      main: "./workers/index.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: { bindings: { ...bindings, TEST_STACK: JSON.stringify({ wsProxyPort: cfg.wsProxyPort, bouncerPrimaryPort: cfg.bouncerPrimaryPort, bouncerReplicaPort: cfg.bouncerReplicaPort, database: cfg.testDatabase }) } },
    }),
  ],
  test: {
    name: "worker",
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/worker/**/*.test.ts", "test/security/**/*.test.ts"],
    globalSetup: ["test/worker/global-setup.ts"],
    // The replica-lag test pauses WAL replay for the whole cluster: files run one at a time.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
