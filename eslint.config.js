// @ts-check
import { readdirSync } from "node:fs";
import path from "node:path";
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import importX from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";

/**
 * The domain folders under `<root>/workers/` (every folder but `platform/`), read from disk so that a new domain is
 * covered by the boundary rule the day it is created.
 * @param {string} root
 * @returns {string[]}
 */
export function domainsOf(root) {
  return readdirSync(path.join(root, "workers"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== "platform")
    .map((d) => d.name)
    .sort();
}

/**
 * Imports that break the boundary rule in files whose owners have not converted them yet: file → the exact module
 * paths it may still import. Each entry is only that exception; every other import in the file is checked as usual.
 * TODO(boundaries): remove an entry when its domain is converted; the list must only shrink.
 * @type {Record<string, string[]>}
 */
export const BOUNDARY_ALLOWLIST = {
  // TODO(boundaries): remove when checkout stops importing the accounts index (checkout/sale-limit-routes uses
  // requireRole): through cart's index this import closes accounts/routes → cart → checkout → accounts/routes.
  "workers/accounts/routes.ts": ["workers/cart/merge.ts"],
};

/**
 * Files allowed in an import cycle with each other, and nothing else. Empty: no cycle is left, and none may return.
 * @type {string[]}
 */
export const CYCLE_ALLOWLIST = [];

/**
 * The import rules: no import cycles anywhere, and the domain boundaries.
 *  - a file outside `workers/<B>/` may import from `workers/<B>/` only through `workers/<B>/index.ts` (its public API);
 *    one exception: a domain's `tables.ts` may import another domain's `tables.ts` to declare a foreign key (the
 *    database is one schema and drizzle needs the referenced column); nothing else may touch another domain's tables;
 *  - `workers/platform/` is importable by everyone and imports no domain, no queue consumer and no Durable Object;
 *  - domains import neither `queues/` nor `durable-objects/` (those call domains, not the reverse).
 * Exported so test/node/boundaries.test.ts can run the very same rules on a fixture tree.
 * @param {{ root: string, files?: string[], allowlist?: Record<string, string[]>, cycleAllowlist?: string[] }} opts
 * @returns {import("eslint").Linter.Config[]}
 */
export function importRules({ root, files = ["**/*.ts", "**/*.tsx"], allowlist = {}, cycleAllowlist = [] }) {
  const domains = domainsOf(root);
  const rel = (/** @type {string} */ p) => `./${p}`;
  /** @param {(domain: string) => string[]} extraExcept */
  const zonesWith = (extraExcept) => {
    const domainCode = [...domains.map((a) => rel(`workers/${a}`)), rel("workers/platform"), rel("workers/app.ts"), rel("workers/scheduled.ts")];
    return [
      ...domains.map((b) => ({
        target: [...domains.filter((a) => a !== b).map((a) => rel(`workers/${a}`)), rel("workers/platform"), rel("workers/app.ts"), rel("workers/scheduled.ts"), rel("queues"), rel("durable-objects")],
        from: rel(`workers/${b}`),
        except: ["./index.ts", ...extraExcept(b)],
        message: `Import the ${b} domain through workers/${b}/index.ts (its public API), never its tables or internals.`,
      })),
      {
        target: [rel("workers/platform")],
        from: rel("workers"),
        except: ["./platform"],
        message: "platform/ is shared by every domain and must not depend on one (invert the dependency: a context variable or a callback).",
      },
      {
        target: domainCode,
        from: rel("queues"),
        message: "Queue consumers call domains, not the reverse: shared message shapes live in workers/platform/tasks.ts.",
      },
      {
        target: domainCode,
        from: rel("durable-objects"),
        message: "Durable Objects are reached through their bindings on Env (RPC), not imported by domain code.",
      },
    ];
  };
  /** @param {ReturnType<typeof zonesWith>} zones */
  const restricted = (zones) => ({ "import-x/no-restricted-paths": /** @type {const} */ (["error", { basePath: root, zones }]) });
  // workers/index.ts (the Worker's entry point) is in no zone: it wires the queue handler and exports the DO classes.
  return [
    {
      files,
      plugins: { "import-x": importX },
      settings: {
        // Dependencies are parsed as TypeScript: without these, no-cycle cannot follow an import into a .ts file.
        "import-x/extensions": [".ts", ".tsx", ".js"],
        "import-x/parsers": { "@typescript-eslint/parser": [".ts", ".tsx"] },
        "import-x/resolver-next": [createTypeScriptImportResolver({ project: path.join(root, "tsconfig.json") })],
      },
      rules: {
        "import-x/no-cycle": ["error", { ignoreExternal: true }],
        ...restricted(zonesWith(() => [])),
      },
    },
    { files: ["workers/*/tables.ts"], rules: restricted(zonesWith(() => ["./tables.ts"])) },
    ...Object.entries(allowlist).map(([file, allowed]) => ({
      files: [file],
      rules: restricted(
        zonesWith((b) => allowed.filter((a) => a.startsWith(`workers/${b}/`)).map((a) => `./${a.slice(`workers/${b}/`.length)}`)),
      ),
    })),
    ...(cycleAllowlist.length > 0 ? [{ files: cycleAllowlist, rules: { "import-x/no-cycle": /** @type {const} */ ("off") } }] : []),
  ];
}

const root = import.meta.dirname;

export default tseslint.config(
  {
    ignores: [
      "node_modules/", ".wrangler/", "worker-configuration.d.ts", "migrations/", ".stack/", "bench/results/",
      // Swagger UI's files, copied from node_modules by dev/prepare-assets.ts (not ours, not committed).
      "public/docs/assets/swagger-ui*",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ["./tsconfig.json", "./tsconfig.node.json", "./tsconfig.tools.json"], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "separate-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/only-throw-error": "off",
      "@typescript-eslint/require-await": "off",
    },
  },
  ...importRules({ root, allowlist: BOUNDARY_ALLOWLIST, cycleAllowlist: CYCLE_ALLOWLIST }),
  { files: ["eslint.config.js"], ...tseslint.configs.disableTypeChecked },
  // Scripts the browser loads as they are (public/: the Worker's static assets): plain scripts, browser globals.
  {
    files: ["public/**/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: "script",
      parserOptions: { project: null },
      globals: { window: "readonly", document: "readonly", location: "readonly", fetch: "readonly", setTimeout: "readonly", clearTimeout: "readonly", URL: "readonly", URLSearchParams: "readonly", DOMParser: "readonly" },
    },
  },
);
