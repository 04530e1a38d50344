/**
 * A Worker of a test's own: wrangler's dev server (workerd, its Durable Objects and queues) on a free port, with the
 * local stack's variables for `database` plus `vars`, no persistence and no inspector. For the HTTP and browser
 * suites and the long fuzz run.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { unstable_startWorker } from "wrangler";
import { projectRoot } from "./config";
import type { StackConfig } from "./config";
import { localWorkerVars } from "./worker-env";

export interface TestWorker {
  /** e.g. http://127.0.0.1:41234 (no trailing slash). */
  origin: string;
  dispose(): Promise<void>;
}

/** Starts the Worker in the test environment on `database`; `vars` override or add variables. */
export async function startTestWorker(cfg: StackConfig, database: string, vars: Record<string, string> = {}): Promise<TestWorker> {
  const all = { ...localWorkerVars(cfg, database, "test"), LOG_LEVEL: "error", ...vars };
  const dir = mkdtempSync(path.join(tmpdir(), "nb-worker-"));
  const envFile = path.join(dir, ".dev.vars");
  writeFileSync(envFile, Object.entries(all).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("\n"));
  const worker = await unstable_startWorker({
    config: path.join(projectRoot, "wrangler.toml"),
    envFiles: [envFile],
    dev: { inspector: false, persist: false, watch: false, logLevel: "error", server: { hostname: "127.0.0.1", port: 0 } },
  });
  await worker.ready;
  const origin = String(await worker.url).replace(/\/$/, "");
  return {
    origin,
    dispose: async () => {
      await worker.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
