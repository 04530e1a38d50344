/**
 * Schema-driven fuzzing of every operation in the document the Worker serves (test/contract/fuzz.ts), bounded for
 * `npm test`: a fixed seed (printed; `NB_FUZZ_SEED` replays another), `NB_FUZZ_RUNS` requests per operation, a time
 * budget. No 5xx, every answer conforms to the document, nothing the document calls invalid is accepted, and the
 * requests that must be rejected leave the store unchanged. `npm run fuzz` is the long run.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type pg from "pg";
import { loadStackConfig } from "../../dev/config";
import { formatReport, fuzz } from "../contract/fuzz";
import { DEFAULT_SEED, connect, fuzzCredentials, fuzzFixtures, rememberVariant, startFuzzWorker, storeSnapshot } from "../contract/fuzz-stack";
import type { FuzzWorker } from "../contract/fuzz-stack";

const cfg = loadStackConfig();
const SEED = Number(process.env.NB_FUZZ_SEED ?? DEFAULT_SEED);
const RUNS = Number(process.env.NB_FUZZ_RUNS ?? 40);
let worker: FuzzWorker;
let db: pg.Client;

beforeAll(async () => {
  db = await connect(cfg, cfg.testDatabase);
  worker = await startFuzzWorker(cfg, cfg.testDatabase);
}, 120_000);

afterAll(async () => {
  await worker?.dispose();
  await db?.end();
});

it(`fuzzes every documented operation (seed ${SEED}, ${RUNS} requests each): no 5xx, conforming answers, invalid requests refused and harmless`, async () => {
  const restore = await rememberVariant(db, worker.origin);
  const report = await fuzz({
    origin: worker.origin,
    doc: worker.doc,
    seed: SEED,
    runs: RUNS,
    credentials: await fuzzCredentials(worker.origin, console.log),
    fixtures: await fuzzFixtures(db),
    snapshot: storeSnapshot(db),
    afterValid: restore,
    budgetMs: 60_000,
    log: console.log,
  }).finally(() => restore().catch(() => undefined));
  console.log(formatReport(report));
  expect(report.sent).toBeGreaterThan(0);
  expect(report.stateChanges, `seed ${SEED}`).toEqual([]);
  expect(report.failures.map((f) => `${f.operation} #${f.index} (${f.kind}): ${f.request}\n${f.problem}`), `replay: NB_FUZZ_SEED=${SEED} (or npm run fuzz -- --seed ${SEED} --runs ${RUNS})`).toEqual([]);
}, 180_000);
