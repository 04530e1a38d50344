/**
 * The search relevance evaluation (issue 13): runs the generated evaluation set (tools/search-eval-set.ts) against
 * the real HTTP API, `GET /v1/search?q=…&limit=10` of a running Worker, and reports per class and overall: all@5
 * (share of queries whose every expected book is in the top 5; the issue's target is ≥ 95% overall and no class
 * below 90%), mean recall@5 and NDCG@10 (binary gains; the ideal has every expected book on top).
 *
 *   npm run search:eval -- [--universe full|small] [--half test|tune|all] [--origin URL] [--engine postgres|typesense]
 *                          [--json out.json] [--class title,isbn] [--show-failures] [--concurrency 4] [--database NAME]
 *                          [--subject-truth main|share|count]
 *
 * Without --origin it starts a Worker of its own (dev/test-worker.ts) on the universe's database: `full` → the dev
 * database (10k seed), `small` → the test database (--small seed), or --database (a database of your own, migrated
 * and seeded with `npx tsx dev/cli.ts migrate --database NAME && npx tsx dev/cli.ts seed [--small] --database NAME`,
 * so the measured index is the one this checkout builds), with the cache namespace suffix "-eval" (unless
 * NB_CACHE_NAMESPACE_SUFFIX says otherwise) so no cached page of another checkout is read or written. Nothing is
 * written to either database. `--engine typesense` starts dev/typesense-fake.ts, indexes the universe into it from
 * the database (documents built by the indexer's own loadDocuments) and points the Worker at it; the fake's matching
 * is a contract check, not Typesense's relevance model, and the output says so.
 *
 * Each request comes from its own TEST-NET address (search is rate-limited per client address). Each distinct query
 * is asked once per run (cases sharing a query share the answer): the Worker only caches a query on its second
 * sight in an isolate, so a run of its own Worker never reads the Redis cache. With --origin and a long-lived Worker
 * a second run within the cache TTL may be served cached pages.
 *
 * Time: the full universe on the Postgres engine takes about 10 s; on the Typesense fake about 5 minutes (the fake
 * scans every document for every query).
 */
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import pg from "pg";
import { loadStackConfig, pgUrl, projectRoot } from "../dev/config";
import type { StackConfig } from "../dev/config";
import { startTestWorker } from "../dev/test-worker";
import type { TestWorker } from "../dev/test-worker";
import { startTypesenseFake } from "../dev/typesense-fake";
import { pgGateway } from "../dev/search-reindex";
import { loadDocuments, nextProductIds } from "../workers/search/documents";
import { TypesenseSearchEngine } from "../workers/search/typesense-engine";
import { buildEvalSet, EVAL_CLASSES, SUBJECT_TRUTHS, markdownTable, readEvalData, scoreCase, summarise, TARGET_CLASS, TARGET_OVERALL, universeBooks } from "./search-eval-set";
import type { CaseScore, EvalCase, EvalClass, Half, SubjectTruth, Universe } from "./search-eval-set";

interface Options {
  universe: Universe;
  half: Half | "all";
  origin: string | null;
  database: string | null;
  engine: "postgres" | "typesense";
  json: string | null;
  classes: EvalClass[];
  showFailures: boolean;
  concurrency: number;
  subjectTruth: SubjectTruth;
}

function parseArgs(argv: string[]): Options {
  const value = (name: string): string | null => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return null;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`--${name} needs a value`);
    return v;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const v = value(name) ?? fallback;
    if (!(allowed as readonly string[]).includes(v)) throw new Error(`--${name} must be one of ${allowed.join(", ")}; got ${v}`);
    return v as T;
  };
  const classes = (value("class") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const c of classes) if (!(EVAL_CLASSES as readonly string[]).includes(c)) throw new Error(`--class: unknown class ${c} (one of ${EVAL_CLASSES.join(", ")})`);
  const concurrency = Number(value("concurrency") ?? "4");
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) throw new Error("--concurrency must be 1..32");
  return {
    universe: oneOf("universe", ["full", "small"] as const, "full"),
    half: oneOf("half", ["test", "tune", "all"] as const, "test"),
    origin: value("origin")?.replace(/\/$/, "") ?? null,
    database: value("database"),
    engine: oneOf("engine", ["postgres", "typesense"] as const, "postgres"),
    json: value("json"),
    classes: classes as EvalClass[],
    showFailures: argv.includes("--show-failures"),
    concurrency,
    subjectTruth: oneOf("subject-truth", SUBJECT_TRUTHS, "main"),
  };
}

/** TEST-NET-1/2/3 (RFC 5737): 762 addresses that belong to nobody; request i gets its own. */
function shopperIp(i: number): string {
  const nets = ["192.0.2", "198.51.100", "203.0.113"];
  return `${nets[Math.floor(i / 254) % nets.length] ?? "192.0.2"}.${(i % 254) + 1}`;
}

interface Hit {
  product_id: number;
  name: string;
}

interface Answer {
  got: Hit[];
  engine: string;
  ms: number;
}

/** One search; a 429 or 503 is retried after its Retry-After (at most 3 times). */
async function search(origin: string, q: string, i: number): Promise<Answer> {
  const url = `${origin}/v1/search?q=${encodeURIComponent(q)}&limit=10`;
  for (let attempt = 0; ; attempt++) {
    const started = performance.now();
    const res = await fetch(url, { headers: { "cf-connecting-ip": shopperIp(i + attempt * 7) }, signal: AbortSignal.timeout(30_000) });
    if ((res.status === 429 || res.status === 503) && attempt < 3) {
      await res.body?.cancel();
      await new Promise((done) => setTimeout(done, 1000 * Math.min(10, Number(res.headers.get("retry-after") ?? "1") || 1)));
      continue;
    }
    if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    const body = await res.json<{ data: Hit[]; engine: string }>();
    return { got: body.data.map((h) => ({ product_id: h.product_id, name: h.name })), engine: body.engine, ms: performance.now() - started };
  }
}

/** Runs `fn` over `items` with at most `n` in flight, keeping the order of the results. */
async function pool<T, R>(items: T[], n: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, () => worker()));
  return out;
}

/** Read-only checks that the database holds the universe (and, for Postgres, a search index). */
async function checkDatabase(url: string, universe: Universe, expected: number, engine: Options["engine"]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const products = Number((await client.query<{ n: string }>("select count(*) as n from products where status = 'active'")).rows[0]?.n ?? 0);
    if (products !== expected) console.warn(`warning: the ${universe} universe has ${expected} books but the database has ${products} active products`);
    if (engine === "postgres") {
      const docs = (await client.query("select 1 from search_documents limit 1")).rowCount ?? 0;
      if (docs === 0) throw new Error(`the search index of ${url} is empty: run \`npm run search:reindex\` (or start the stack) first`);
    }
  } finally {
    await client.end();
  }
}

const TYPESENSE_KEY = "search-eval-key";
const TYPESENSE_COLLECTION = "books_eval";

/** The fake, filled with the database's documents and synonyms through the Typesense engine itself (no DB writes). */
async function startFilledTypesense(databaseUrl: string): Promise<{ port: number; close: () => Promise<void>; documents: number }> {
  const fake = await startTypesenseFake({ apiKey: TYPESENSE_KEY });
  const engine = new TypesenseSearchEngine({ host: "127.0.0.1", port: fake.port, protocol: "http", apiKey: TYPESENSE_KEY, collection: TYPESENSE_COLLECTION });
  const dbPool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  let documents = 0;
  try {
    const gateway = pgGateway(dbPool);
    await engine.ensureReady();
    const synonyms = await dbPool.query<{ id: string; root: string | null; synonyms: string[] }>("select id, root, synonyms from search_synonyms order by id");
    for (const s of synonyms.rows) await engine.upsertSynonym(s);
    for (let after = 0; ; ) {
      // Small batches: the engine's delete carries every id and SKU of a batch in its URL, and Node's HTTP server
      // (the fake) refuses request heads over 16 KB.
      const { value: ids } = await gateway.read((r) => nextProductIds(r, after, 50));
      if (ids.length === 0) break;
      const { value: docs } = await gateway.read((r) => loadDocuments(r, ids));
      await engine.replaceProducts(ids, docs);
      documents += docs.length;
      after = ids[ids.length - 1] as number;
    }
  } catch (err) {
    await fake.close();
    throw err;
  } finally {
    await dbPool.end();
  }
  return { port: fake.port, close: fake.close, documents };
}

interface Scored {
  case: EvalCase;
  got: Hit[];
  score: CaseScore;
  ms: number;
}

function failureLines(scored: Scored[], titleOf: (id: number) => string): string[] {
  const lines: string[] = [];
  for (const c of EVAL_CLASSES) {
    const failed = scored.filter((s) => s.case.class === c && !s.score.all5);
    if (failed.length === 0) continue;
    lines.push("", `### ${c}: ${failed.length} failing`);
    for (const s of failed) {
      const ranks = s.got.map((h) => h.product_id);
      const expected = s.case.expect.map((id) => {
        const at = ranks.indexOf(id);
        return `${titleOf(id)} (#${id}, ${at < 0 ? "not in top 10" : `rank ${at + 1}`})`;
      });
      const got = s.got.slice(0, 5).map((h, i) => `${i + 1}. ${h.name} (#${h.product_id})`);
      lines.push(`- \`${s.case.id}\` "${s.case.q}" [${s.case.note}]`, `  - expected: ${expected.join("; ")}`, `  - got: ${got.length > 0 ? got.join("; ") : "(nothing)"}`);
    }
  }
  return lines;
}

function gitDescribe(): string {
  try {
    const head = execFileSync("git", ["-C", projectRoot, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["-C", projectRoot, "status", "--porcelain", "--", "workers"], { encoding: "utf8" }).trim() !== "";
    return `${head}${dirty ? " (workers/ modified)" : ""}`;
  } catch {
    return "unknown";
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  // A Worker of our own keeps its cached pages apart from every other checkout's (the namespace is part of each key).
  if (process.env.NB_CACHE_NAMESPACE_SUFFIX === undefined) process.env.NB_CACHE_NAMESPACE_SUFFIX = "-eval";
  const cfg: StackConfig = loadStackConfig();
  const data = readEvalData();
  const all = buildEvalSet(data, opts.universe, opts.subjectTruth);
  const cases = all.filter((c) => (opts.half === "all" || c.half === opts.half) && (opts.classes.length === 0 || opts.classes.includes(c.class)));
  const titles = new Map(data.books.map((b) => [b.id, b.title]));
  const titleOf = (id: number): string => titles.get(id) ?? `#${id}`;
  const database = opts.database ?? (opts.universe === "full" ? cfg.devDatabase : cfg.testDatabase);
  const databaseUrl = pgUrl(cfg.pgPrimaryPort, database);

  const started = performance.now();
  let worker: TestWorker | null = null;
  let typesense: { port: number; close: () => Promise<void>; documents: number } | null = null;
  let origin = opts.origin;
  const setup: string[] = [];
  // An interrupted run must not leave workerd or the fake behind.
  const stop = (): void => {
    void Promise.allSettled([worker?.dispose(), typesense?.close()]).then(() => process.exit(130));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    if (origin === null) {
      await checkDatabase(databaseUrl, opts.universe, universeBooks(data, opts.universe).length, opts.engine);
      const vars: Record<string, string> = {};
      if (opts.engine === "typesense") {
        typesense = await startFilledTypesense(databaseUrl);
        setup.push(`typesense fake on :${typesense.port} with ${typesense.documents} documents`);
        Object.assign(vars, { TYPESENSE_HOST: "127.0.0.1", TYPESENSE_PORT: String(typesense.port), TYPESENSE_PROTOCOL: "http", TYPESENSE_API_KEY: TYPESENSE_KEY, TYPESENSE_COLLECTION });
      }
      worker = await startTestWorker(cfg, database, vars);
      origin = worker.origin;
      setup.push(`own Worker on ${database} (cache namespace test${cfg.cacheNamespaceSuffix})`);
    }
    const ready = performance.now();
    const base = origin;
    // Each distinct query once: a second sight would be admitted to the Redis cache and could be served a page
    // cached by an earlier run (another engine or older code; the key does not say which).
    const distinct = [...new Set(cases.map((c) => c.q))];
    const answers = await pool(distinct, opts.concurrency, (q, i) => search(base, q, i));
    const answerOf = new Map(distinct.map((q, i) => [q, answers[i] as Answer]));
    const ran = performance.now();
    const scored: Scored[] = cases.map((c) => {
      const a = answerOf.get(c.q) as Answer;
      return { case: c, got: a.got, ms: a.ms, score: scoreCase(c.expect, a.got.map((h) => h.product_id)) };
    });
    const engines = [...new Set(answers.map((a) => a.engine))].join(", ");

    const out: string[] = [];
    out.push(`# Search relevance evaluation: ${opts.universe} universe, ${opts.half === "all" ? "both halves" : `${opts.half} half`}`, "");
    out.push(`- engine: ${engines}${opts.engine === "typesense" ? " (dev/typesense-fake.ts: its matching is a contract check, not Typesense's relevance model)" : ""}`);
    out.push(`- origin: ${opts.origin ?? origin}${setup.length > 0 ? ` (${setup.join("; ")})` : ""}`);
    out.push(`- commit: ${gitDescribe()}; ${new Date().toISOString()}`);
    out.push(`- set: ${all.length} cases generated for ${opts.universe} (${all.filter((c) => c.half === "test").length} test, ${all.filter((c) => c.half === "tune").length} tune); ${cases.length} run (${distinct.length} distinct queries)${opts.classes.length > 0 ? `, classes ${opts.classes.join(", ")}` : ""}`);
    const latencies = answers.map((a) => a.ms).sort((a, b) => a - b);
    out.push(`- time: setup ${((ready - started) / 1000).toFixed(1)} s, queries ${((ran - ready) / 1000).toFixed(1)} s at concurrency ${opts.concurrency} (p50 ${Math.round(latencies[Math.floor(latencies.length / 2)] ?? 0)} ms, p95 ${Math.round(latencies[Math.floor(latencies.length * 0.95)] ?? 0)} ms)`);
    out.push(`- targets: all@5 ≥ ${TARGET_OVERALL * 100}% overall, no class below ${TARGET_CLASS * 100}% (✗ marks a miss)`);
    const halves: (Half | "all")[] = opts.half === "all" ? ["test", "tune", "all"] : [opts.half];
    const summaries: Record<string, ReturnType<typeof summarise>> = {};
    for (const h of halves) {
      const part = scored.filter((s) => h === "all" || s.case.half === h);
      const rows = summarise(part.map((s) => ({ class: s.case.class, score: s.score })));
      summaries[h] = rows;
      const overall = rows[rows.length - 1];
      const classOk = rows.slice(0, -1).every((r) => r.all5 >= TARGET_CLASS);
      const verdict = overall && overall.all5 >= TARGET_OVERALL && classOk ? "meets the targets" : "misses the targets";
      out.push("", `## ${h === "all" ? "Both halves" : h === "test" ? "Test half" : "Tuning half"} (${part.length} queries): ${verdict}`, "", markdownTable(rows));
    }
    if (opts.showFailures) out.push("", "## Failures (expected book: its rank in the top 10; got: the top 5)", ...failureLines(scored, titleOf));
    console.log(out.join("\n"));
    if (opts.json) {
      const report = {
        universe: opts.universe,
        half: opts.half,
        engine: engines,
        commit: gitDescribe(),
        at: new Date().toISOString(),
        summaries,
        cases: scored.map((s) => ({ ...s.case, got: s.got.map((h) => h.product_id), got_names: s.got.map((h) => h.name), ...s.score, ms: Math.round(s.ms) })),
      };
      await writeFile(opts.json, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`\n(written ${opts.json})`);
    }
  } finally {
    if (worker) await worker.dispose();
    if (typesense) await typesense.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
