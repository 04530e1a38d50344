/**
 * Runs the Worker on wrangler's local dev server (the same ProxyWorker, bindings, .dev.vars and live reload as
 * `wrangler dev`) through wrangler's own API, with the DevTools inspector off.
 *
 * Why not the `wrangler dev` CLI by default: its inspector proxy enables the Network domain and writes every
 * inspector event, response bodies included, to wrangler's debug log file; measured here that costs about 1.2 ms
 * of Node CPU per subrequest (each Redis or Postgres round trip), which is overhead production does not have.
 * `npm run dev -- --inspect` runs the CLI with DevTools instead.
 *
 * Usage: tsx dev/worker-server.ts --port 8787
 */
import path from "node:path";
import { unstable_startWorker } from "wrangler";
import { projectRoot } from "./config";

const args = process.argv.slice(2);
const portArg = args[args.indexOf("--port") + 1];
const port = Number(portArg ?? 8787);

const worker = await unstable_startWorker({
  config: path.join(projectRoot, "wrangler.toml"),
  dev: { inspector: false, server: { hostname: "127.0.0.1", port }, watch: true, liveReload: false, logLevel: "log" },
});
await worker.ready;
console.log(`[wrangler:info] Ready on ${String(await worker.url)}`);

const stop = (): void => {
  void worker.dispose().finally(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
