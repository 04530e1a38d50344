/**
 * The import rules cannot be silently disabled: the project's real ESLint config must carry them for domain code,
 * and the very same rules (eslint.config.js's importRules) must flag a cycle, a cross-domain import of another
 * domain's tables or internals, platform importing a domain, and a domain importing a queue consumer, on a fixture
 * tree built here. Domains' index files must not hand out their tables.
 */
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ESLint } from "eslint";
import type { Linter } from "eslint";
import tseslint from "typescript-eslint";

const repo = path.resolve(import.meta.dirname, "../..");

interface ConfigModule {
  importRules: (opts: { root: string; allowlist?: Record<string, string[]>; cycleAllowlist?: string[] }) => Linter.Config[];
  BOUNDARY_ALLOWLIST: Record<string, string[]>;
  CYCLE_ALLOWLIST: string[];
}
const configPath = path.join(repo, "eslint.config.js");
const loadConfig = async (): Promise<ConfigModule> => (await import(configPath)) as ConfigModule;

const fixture: Record<string, string> = {
  "tsconfig.json": JSON.stringify({ compilerOptions: { module: "ES2022", moduleResolution: "bundler", strict: true }, include: ["workers", "queues"] }),
  "workers/platform/db.ts": `export const db = 1;\n`,
  "workers/platform/bad.ts": `import { alphaThing } from "../alpha";\nexport const bad = alphaThing;\n`,
  "workers/alpha/index.ts": `export { alphaThing } from "./service";\n`,
  "workers/alpha/service.ts": `import { db } from "../platform/db";\nexport const alphaThing = db + 1;\n`,
  "workers/alpha/tables.ts": `export const widgets = { name: "widgets" };\n`,
  "workers/alpha/uses-queue.ts": `import { consume } from "../../queues/consumer";\nexport const q = consume;\n`,
  "workers/beta/reads-alpha-table.ts": `import { widgets } from "../alpha/tables";\nexport const w = widgets;\n`,
  "workers/beta/reads-alpha-internals.ts": `import { alphaThing } from "../alpha/service";\nexport const t = alphaThing;\n`,
  "workers/beta/uses-alpha-index.ts": `import { alphaThing } from "../alpha";\nexport const ok = alphaThing;\n`,
  "workers/beta/tables.ts": `import { widgets } from "../alpha/tables";\nexport const gadgets = { name: "gadgets", widget: widgets.name };\n`,
  "workers/beta/cycle-a.ts": `import { b } from "./cycle-b";\nexport const a = (): number => b() + 1;\n`,
  "workers/beta/cycle-b.ts": `import { a } from "./cycle-a";\nexport const b = (): number => a() - 1;\n`,
  "queues/consumer.ts": `import { alphaThing } from "../workers/alpha";\nexport const consume = alphaThing;\n`,
  "queues/consumer-internals.ts": `import { alphaThing } from "../workers/alpha/service";\nexport const c = alphaThing;\n`,
};

let root = "";
let results: Map<string, ESLint.LintResult>;

const messagesOf = (file: string): { ruleId: string | null; message: string }[] =>
  (results.get(file)?.messages ?? []).map((m) => ({ ruleId: m.ruleId, message: m.message }));
const rulesOf = (file: string): (string | null)[] => messagesOf(file).map((m) => m.ruleId);

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), "nb-boundaries-"));
  for (const [file, text] of Object.entries(fixture)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  const { importRules } = await loadConfig();
  const eslint = new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [{ files: ["**/*.ts"], languageOptions: { parser: tseslint.parser } }, ...importRules({ root })],
  });
  const lint = await eslint.lintFiles(["workers/**/*.ts", "queues/**/*.ts"]);
  results = new Map(lint.map((r) => [path.relative(root, r.filePath), r]));
}, 60_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("import rules on a fixture tree", () => {
  it("flags both files of an import cycle", () => {
    expect(rulesOf("workers/beta/cycle-a.ts")).toContain("import-x/no-cycle");
    expect(rulesOf("workers/beta/cycle-b.ts")).toContain("import-x/no-cycle");
  });

  it("flags another domain's tables and internals, and says to use the index", () => {
    expect(rulesOf("workers/beta/reads-alpha-table.ts")).toEqual(["import-x/no-restricted-paths"]);
    expect(messagesOf("workers/beta/reads-alpha-table.ts")[0]?.message).toContain("workers/alpha/index.ts");
    expect(rulesOf("workers/beta/reads-alpha-internals.ts")).toEqual(["import-x/no-restricted-paths"]);
    expect(rulesOf("queues/consumer-internals.ts")).toEqual(["import-x/no-restricted-paths"]);
  });

  it("flags platform importing a domain, and a domain importing a queue consumer", () => {
    expect(rulesOf("workers/platform/bad.ts")).toContain("import-x/no-restricted-paths");
    expect(rulesOf("workers/alpha/uses-queue.ts")).toEqual(["import-x/no-restricted-paths"]);
  });

  it("lets imports through a domain's index pass, and a tables file declare a foreign key", () => {
    expect(messagesOf("workers/beta/uses-alpha-index.ts")).toEqual([]);
    expect(messagesOf("queues/consumer.ts")).toEqual([]);
    expect(messagesOf("workers/beta/tables.ts")).toEqual([]);
    expect(messagesOf("workers/alpha/service.ts")).toEqual([]);
  });

  it("an allowlist entry admits exactly the listed import and nothing else", async () => {
    const { importRules } = await loadConfig();
    const eslint = new ESLint({
      cwd: root,
      overrideConfigFile: true,
      overrideConfig: [
        { files: ["**/*.ts"], languageOptions: { parser: tseslint.parser } },
        ...importRules({ root, allowlist: { "workers/beta/reads-alpha-table.ts": ["workers/alpha/tables.ts"] } }),
      ],
    });
    const [allowed, other] = await eslint.lintFiles(["workers/beta/reads-alpha-table.ts", "workers/beta/reads-alpha-internals.ts"]);
    expect(allowed?.messages).toEqual([]);
    expect(other?.messages.map((m) => m.ruleId)).toEqual(["import-x/no-restricted-paths"]);
  });
});

describe("the project's ESLint config", () => {
  it("applies no-cycle and the boundary rule, as errors, to domain, queue and Durable Object code", async () => {
    const eslint = new ESLint({ cwd: repo });
    for (const file of ["workers/orders/service.ts", "workers/platform/outbox.ts", "queues/payment-consumer.ts", "durable-objects/stock-do.ts", "workers/scheduled.ts"]) {
      const config = (await eslint.calculateConfigForFile(path.join(repo, file))) as { rules: Record<string, unknown[]> };
      expect(config.rules["import-x/no-cycle"]?.[0], file).toBe(2);
      const restricted = config.rules["import-x/no-restricted-paths"] as [number, { zones: { from: string }[] }] | undefined;
      expect(restricted?.[0], file).toBe(2);
      const froms = restricted?.[1].zones.map((z) => z.from) ?? [];
      for (const d of ["accounts", "orders", "payments", "catalog", "search"]) expect(froms, file).toContain(`./workers/${d}`);
    }
  });

  // accounts/routes.ts keeps its one entry until checkout stops importing the accounts index (see eslint.config.js).
  it("the allowlists only name files of domains not yet converted, and no cycle is allowed", async () => {
    const { BOUNDARY_ALLOWLIST, CYCLE_ALLOWLIST } = await loadConfig();
    const converted =
      /^(workers\/(orders|payments|platform|health|email|catalog|search|inventory)\/|workers\/accounts\/(?!routes\.ts$)|workers\/(app|scheduled)\.ts$|queues\/(dispatcher|payment-consumer|search-index-consumer|envelope|email-consumer|inventory-consumer)\.ts$)/;
    for (const file of Object.keys(BOUNDARY_ALLOWLIST)) {
      expect(file).not.toMatch(converted);
      expect(existsSync(path.join(repo, file)), file).toBe(true);
    }
    expect(CYCLE_ALLOWLIST).toEqual([]);
  });
});

describe("domain index files", () => {
  const domains = readdirSync(path.join(repo, "workers"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== "platform")
    .map((d) => d.name);

  it("every domain has one", () => {
    for (const d of domains) expect(existsSync(path.join(repo, "workers", d, "index.ts")), d).toBe(true);
  });

  it("none hands out a table", () => {
    for (const d of domains) {
      const tablesFile = path.join(repo, "workers", d, "tables.ts");
      if (!existsSync(tablesFile)) continue;
      const tables = new Set([...readFileSync(tablesFile, "utf8").matchAll(/export const (\w+) = pgTable\(/g)].map((m) => m[1]));
      const index = readFileSync(path.join(repo, "workers", d, "index.ts"), "utf8");
      expect(index, d).not.toMatch(/export \* from/);
      const reexported = [...index.matchAll(/export (?!type)\{([^}]*)\} from "\.\/tables"/g)].flatMap((m) => (m[1] ?? "").split(",").map((n) => n.trim().split(/\s+as\s+/)[0]));
      for (const name of reexported) expect(tables.has(name), `${d} exports table ${name}`).toBe(false);
    }
  });
});
