/**
 * The local stack launcher. `npm run dev` and `npm test` both go through it.
 *
 *   tsx dev/cli.ts dev [--small] [--inspect]
 *                                  services, migrations, seed, proxies, then wrangler's dev server on :8787;
 *                                  Ctrl-C stops what it started (--inspect: the `wrangler dev` CLI with DevTools)
 *   tsx dev/cli.ts test [-- args]  services, proxies, test database (migrated, small seed), static assets, typecheck,
 *                                  lint, vitest (node, worker, http, browser)
 *   tsx dev/cli.ts up              services and proxies only, until Ctrl-C (for running vitest or benches by hand)
 *   tsx dev/cli.ts migrate [--database NAME]
 *   tsx dev/cli.ts seed [--small] [--database NAME]
 *   tsx dev/cli.ts status
 */
import { spawn } from "node:child_process";
import { writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { LOCAL_STRIPE_SECRET_KEY, LOCAL_STRIPE_WEBHOOK_SECRET, loadStackConfig, pgUrl, projectRoot } from "./config";
import type { StackConfig } from "./config";
import { ensureAptPackages, ensureDatabase, ensurePgBouncers, ensurePostgresPrimary, ensureRedis, ensureReplica, waitForReplicaCatchUp } from "./services";
import type { StartedService } from "./services";
import { startWsProxy } from "./ws-proxy";
import { startUpstashProxy } from "./upstash-proxy";
import { startStripeFake } from "./stripe-fake";
import { seed } from "./seed";
import { reindexAll } from "./search-reindex";
import { localWorkerVars } from "./worker-env";
import { DEPLOYED_SHAPE_UPSTASH_TOKEN } from "./deployed-shape";
import { isListening } from "./net";
import { prepareAssets } from "./prepare-assets";

const log = (msg: string): void => console.log(`[stack] ${msg}`);

/** Everything this process started, stopped in reverse order on exit. */
const started: StartedService[] = [];


/** Runs a command with inherited stdio; resolves with its exit code. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: projectRoot, stdio: "inherit", env: { ...process.env, ...env } });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const bin = (name: string): string => path.join(projectRoot, "node_modules/.bin", name);

/** PostgreSQL primary + streaming replica, PgBouncer in front of each, Redis. */
async function ensureServices(cfg: StackConfig): Promise<void> {
  await ensureAptPackages(["postgresql", "redis-server", "pgbouncer"], log);
  const primary = await ensurePostgresPrimary(cfg, log);
  if (primary) started.push(primary);
  const redis = await ensureRedis(cfg, log);
  if (redis) started.push(redis);
  const replica = await ensureReplica(cfg, log);
  if (replica) started.push(replica);
  started.push(...(await ensurePgBouncers(cfg, log)));
}

/**
 * The Neon WebSocket proxy, the Upstash REST proxy and the Stripe fake, in this process unless already running.
 * `stripeWebhookUrls`: where the Stripe fake POSTs its events (the dev Worker); tests deliver events themselves.
 */
async function ensureProxies(cfg: StackConfig, stripeWebhookUrls: string[] = []): Promise<void> {
  if (await isListening(cfg.wsProxyPort)) {
    log(`Neon WebSocket proxy already on :${cfg.wsProxyPort}`);
  } else {
    const ws = await startWsProxy({
      port: cfg.wsProxyPort,
      allowedTargets: [`127.0.0.1:${cfg.bouncerPrimaryPort}`, `127.0.0.1:${cfg.bouncerReplicaPort}`],
    });
    started.push({ name: "ws-proxy", stop: () => ws.close() });
    log(`Neon WebSocket proxy on :${ws.port}`);
  }
  if (await isListening(cfg.upstashProxyPort)) {
    log(`Upstash REST proxy already on :${cfg.upstashProxyPort}`);
  } else {
    const up = await startUpstashProxy({ port: cfg.upstashProxyPort, token: cfg.upstashToken, extraTokens: [DEPLOYED_SHAPE_UPSTASH_TOKEN], redisHost: "127.0.0.1", redisPort: cfg.redisPort });
    started.push({ name: "upstash-proxy", stop: () => up.close() });
    log(`Upstash REST proxy on :${up.port}`);
  }
  if (await isListening(cfg.stripeFakePort)) {
    log(`Stripe fake already on :${cfg.stripeFakePort}`);
  } else {
    const stripe = await startStripeFake({
      port: cfg.stripeFakePort,
      secretKey: LOCAL_STRIPE_SECRET_KEY,
      webhookSecret: LOCAL_STRIPE_WEBHOOK_SECRET,
      webhookUrls: stripeWebhookUrls,
      log,
    });
    started.push({ name: "stripe-fake", stop: () => stripe.close() });
    log(`Stripe fake on :${stripe.port}${stripeWebhookUrls.length > 0 ? ` (webhooks to ${stripeWebhookUrls.join(", ")})` : ""}`);
  }
}

/** Creates the database if needed and applies migrations with drizzle-kit (pg driver, direct to the primary). */
async function migrate(cfg: StackConfig, database: string): Promise<void> {
  await ensureDatabase(cfg, database, log);
  const code = await run(bin("drizzle-kit"), ["migrate"], { DATABASE_URL: pgUrl(cfg.pgPrimaryPort, database) });
  if (code !== 0) throw new Error(`drizzle-kit migrate failed for ${database} (exit ${code})`);
  log(`migrations applied to ${database}`);
}

let stopping = false;
async function teardown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const s of started.reverse()) {
    try {
      await s.stop();
      log(`stopped ${s.name}`);
    } catch (err) {
      log(`could not stop ${s.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function waitForHttp(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function dev(cfg: StackConfig, args: string[]): Promise<number> {
  const workerUrl = `http://127.0.0.1:${cfg.workerPort}`;
  if (await isListening(cfg.workerPort)) {
    if (await waitForHttp(`${workerUrl}/healthz`, 1000)) {
      log(`NexusBooks is already running at ${workerUrl}`);
      return 0;
    }
    throw new Error(`port ${cfg.workerPort} is taken by something else; set NB_WORKER_PORT`);
  }
  await ensureServices(cfg);
  await ensureProxies(cfg, [`${workerUrl}/webhooks/stripe`]);
  await migrate(cfg, cfg.devDatabase);
  await seed(pgUrl(cfg.pgPrimaryPort, cfg.devDatabase), { small: args.includes("--small"), log });
  await reindexAll(pgUrl(cfg.pgPrimaryPort, cfg.devDatabase), { ifEmpty: true, log, env: {} });
  // The Worker's static assets (Swagger UI for /docs) must be in public/ before wrangler reads the directory.
  await prepareAssets({ log });
  const vars = localWorkerVars(cfg, cfg.devDatabase, "development");
  await writeFile(
    path.join(projectRoot, ".dev.vars"),
    `# Written by \`npm run dev\` for the local stack; not committed.\n${Object.entries(vars).map(([k, v]) => `${k}="${v}"`).join("\n")}\n`,
  );
  await mkdir(cfg.runDir, { recursive: true });
  // Default: wrangler's dev server through its API with the inspector off (see dev/worker-server.ts for why);
  // --inspect: the `wrangler dev` CLI with DevTools.
  const [cmd, cmdArgs] = args.includes("--inspect")
    ? [bin("wrangler"), ["dev", "--ip", "127.0.0.1", "--port", String(cfg.workerPort), "--show-interactive-dev-session=false"]]
    : [bin("tsx"), [path.join(projectRoot, "dev/worker-server.ts"), "--port", String(cfg.workerPort)]];
  const wrangler = spawn(cmd, cmdArgs, {
    cwd: projectRoot,
    stdio: "inherit",
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
  });
  const exited = new Promise<number>((resolve) => wrangler.on("exit", (code) => resolve(code ?? 0)));
  started.push({
    name: "wrangler dev",
    stop: async () => {
      if (wrangler.exitCode === null) wrangler.kill("SIGINT");
      await exited;
    },
  });
  if (!(await waitForHttp(`${workerUrl}/healthz`, 60_000))) throw new Error("wrangler dev did not answer /healthz within 60 s");
  console.log(`
NexusBooks is up.
  API          ${workerUrl}            (try ${workerUrl}/v1/categories)
  readiness    ${workerUrl}/readyz
  Postgres     primary ${pgUrl(cfg.pgPrimaryPort, cfg.devDatabase)}  replica :${cfg.pgReplicaPort}  PgBouncer :${cfg.bouncerPrimaryPort}/:${cfg.bouncerReplicaPort}
  Redis        127.0.0.1:${cfg.redisPort} (Upstash REST proxy http://127.0.0.1:${cfg.upstashProxyPort})
Press Ctrl-C to stop.`);
  return exited;
}

async function test(cfg: StackConfig, extra: string[]): Promise<number> {
  await ensureServices(cfg);
  await ensureProxies(cfg);
  await migrate(cfg, cfg.testDatabase);
  await seed(pgUrl(cfg.pgPrimaryPort, cfg.testDatabase), { small: true, log });
  // The search table is fed by the queue consumer; a fresh database gets it from a full reindex.
  await reindexAll(pgUrl(cfg.pgPrimaryPort, cfg.testDatabase), { ifEmpty: true, log, env: {} });
  await waitForReplicaCatchUp(cfg, 30_000);
  await prepareAssets({ log });
  // The browser tests drive Debian's chromium (/usr/bin/chromium) through playwright-core.
  await ensureAptPackages(["chromium"], log);
  const steps: [string, string, string[]][] = [
    ["typecheck", bin("tsc"), ["-p", "tsconfig.json"]],
    ["typecheck (node)", bin("tsc"), ["-p", "tsconfig.node.json"]],
    ["typecheck (tools)", bin("tsc"), ["-p", "tsconfig.tools.json"]],
    ["lint", bin("eslint"), ["."]],
    // The two projects run one after the other: both pause WAL replay on the shared replica.
    ["node tests", bin("vitest"), ["run", "--project", "node", ...extra]],
    ["worker tests", bin("vitest"), ["run", "--project", "worker", ...extra]],
    ["http tests", bin("vitest"), ["run", "--project", "http", ...extra]],
    ["browser tests", bin("vitest"), ["run", "--project", "browser", ...extra]],
  ];
  for (const [name, cmd, args] of steps) {
    log(`${name}…`);
    const code = await run(cmd, args);
    if (code !== 0) {
      log(`${name} failed (exit ${code})`);
      return code;
    }
  }
  return 0;
}

async function main(): Promise<number> {
  const [command = "dev", ...args] = process.argv.slice(2);
  const cfg = loadStackConfig();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      void teardown().then(() => process.exit(130));
    });
  }
  try {
    switch (command) {
      case "dev":
        return await dev(cfg, args);
      case "test":
        return await test(cfg, args);
      case "up":
        // Services and proxies only, in the foreground, for running vitest or the bench by hand.
        await ensureServices(cfg);
        await ensureProxies(cfg);
        log("stack is up; Ctrl-C stops what this process started");
        return await new Promise<number>(() => undefined);
      case "migrate":
        await ensureServices(cfg);
        await migrate(cfg, arg(args, "--database") ?? cfg.devDatabase);
        return 0;
      case "seed":
        await ensureServices(cfg);
        await seed(pgUrl(cfg.pgPrimaryPort, arg(args, "--database") ?? cfg.devDatabase), { small: args.includes("--small"), log });
        await reindexAll(pgUrl(cfg.pgPrimaryPort, arg(args, "--database") ?? cfg.devDatabase), { ifEmpty: true, log, env: {} });
        return 0;
      case "status": {
        const ports: [string, number][] = [
          ["postgres primary", cfg.pgPrimaryPort],
          ["postgres replica", cfg.pgReplicaPort],
          ["pgbouncer primary", cfg.bouncerPrimaryPort],
          ["pgbouncer replica", cfg.bouncerReplicaPort],
          ["redis", cfg.redisPort],
          ["neon ws proxy", cfg.wsProxyPort],
          ["upstash proxy", cfg.upstashProxyPort],
          ["stripe fake", cfg.stripeFakePort],
          ["worker", cfg.workerPort],
        ];
        for (const [name, port] of ports) console.log(`${name.padEnd(20)} :${port}  ${(await isListening(port)) ? "up" : "down"}`);
        return 0;
      }
      default:
        console.error(`unknown command '${command}' (dev | test | migrate | seed | status)`);
        return 2;
    }
  } finally {
    await teardown();
  }
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(`[stack] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await teardown();
    process.exit(1);
  },
);
