/**
 * The long fuzz run: every operation of the document, `--runs` requests each (default 300), against a Worker of its
 * own on the test database (`NB_TEST_DATABASE`), or against `--origin` (then `--database` names the database it
 * uses, for the state snapshot). Prints per-operation counts (sent, 2xx, 4xx by code, 5xx), totals, and failures.
 *
 *   npm run fuzz -- [--runs 300] [--seed N] [--op "PATCH /v1/admin"] [--concurrency 4] [--origin URL --database NAME]
 *
 * Exit code 1 when anything failed. The seed is printed; the same seed (and --op) replays the same requests.
 */
import { loadStackConfig } from "../dev/config";
import type { OpenApiDocument } from "../test/support/conformance";
import { formatReport, fuzz } from "../test/contract/fuzz";
import { connect, fuzzCredentials, fuzzFixtures, rememberVariant, startFuzzWorker, storeSnapshot } from "../test/contract/fuzz-stack";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const cfg = loadStackConfig();
const seed = Number(arg("seed") ?? Math.floor(Math.random() * 2 ** 31));
const runs = Number(arg("runs") ?? 300);
const database = arg("database") ?? cfg.testDatabase;
const external = arg("origin");

const worker = external
  ? { origin: external.replace(/\/$/, ""), doc: await (await fetch(`${external.replace(/\/$/, "")}/openapi.json`)).json<OpenApiDocument>(), dispose: async () => undefined }
  : await startFuzzWorker(cfg, database);
const db = await connect(cfg, database);
let failed = true;
try {
  console.log(`fuzz: ${worker.origin} on ${database}, seed ${seed}, ${runs} runs per operation`);
  const restore = await rememberVariant(db, worker.origin);
  const report = await fuzz({
    origin: worker.origin,
    doc: worker.doc,
    seed,
    runs,
    only: arg("op"),
    concurrency: Number(arg("concurrency") ?? 4),
    credentials: await fuzzCredentials(worker.origin, console.log),
    fixtures: await fuzzFixtures(db),
    snapshot: storeSnapshot(db),
    afterValid: restore,
    log: console.log,
  }).finally(() => restore().catch(() => undefined));
  console.log(formatReport(report, Number(arg("show") ?? 50)));
  failed = report.failures.length > 0 || report.stateChanges.length > 0;
} finally {
  await db.end();
  await worker.dispose();
}
process.exit(failed ? 1 : 0);
