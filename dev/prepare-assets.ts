/**
 * Fills `public/docs/assets/` (the Worker's static assets, see `[assets]` in wrangler.toml) with the Swagger UI files
 * `GET /docs` loads, copied byte for byte from the installed `swagger-ui-dist` (the version package.json pins), with
 * its licence and notice. The copies are not committed (.gitignore); the page's own initializer and stylesheet are.
 *
 * Run by `npm run dev` and `npm test` before the Worker starts, and before every deploy (`npm run assets`, see the
 * README's "Deploying"). A file already identical is left alone, so a running dev server does not reload for nothing.
 *
 * Usage: tsx dev/prepare-assets.ts
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { projectRoot } from "./config";

/** Where the Worker's static assets live (wrangler.toml `[assets] directory`). */
export const ASSETS_DIR = path.join(projectRoot, "public");
/** Served as `/docs/assets/<name>`. */
export const DOCS_ASSETS_DIR = path.join(ASSETS_DIR, "docs/assets");

/** Where copies are written before they are renamed into place (same file system, gitignored). */
const TMP_DIR = path.join(projectRoot, ".wrangler", "tmp-assets");

/** swagger-ui-dist file → its name under /docs/assets/ (every name starts with `swagger-ui` or `favicon-`: .gitignore). */
export const SWAGGER_UI_FILES: Readonly<Record<string, string>> = {
  "swagger-ui-bundle.js": "swagger-ui-bundle.js",
  "swagger-ui-bundle.js.LICENSE.txt": "swagger-ui-bundle.js.LICENSE.txt",
  "swagger-ui.css": "swagger-ui.css",
  "favicon-16x16.png": "favicon-16x16.png",
  "favicon-32x32.png": "favicon-32x32.png",
  LICENSE: "swagger-ui-LICENSE.txt",
  NOTICE: "swagger-ui-NOTICE.txt",
};

async function readIfExists(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** Copies the Swagger UI files into public/docs/assets/; returns how many changed. */
export async function prepareAssets(opts: { log?: (msg: string) => void } = {}): Promise<{ version: string; copied: number }> {
  const require = createRequire(path.join(projectRoot, "package.json"));
  const distDir = path.dirname(require.resolve("swagger-ui-dist/package.json"));
  const { version } = JSON.parse(await readFile(path.join(distDir, "package.json"), "utf8")) as { version: string };
  await mkdir(DOCS_ASSETS_DIR, { recursive: true });
  await mkdir(TMP_DIR, { recursive: true });
  let copied = 0;
  for (const [from, to] of Object.entries(SWAGGER_UI_FILES)) {
    const source = await readFile(path.join(distDir, from));
    const target = path.join(DOCS_ASSETS_DIR, to);
    const current = await readIfExists(target);
    if (current?.equals(source)) continue;
    // Written aside (outside public/, so a crash leaves nothing that would be served or deployed) and renamed, so a
    // dev server watching the directory never serves half a file.
    const tmp = path.join(TMP_DIR, `${to}.${process.pid}.tmp`);
    await writeFile(tmp, source);
    await rename(tmp, target);
    copied++;
  }
  opts.log?.(`docs assets: Swagger UI ${version}, ${copied === 0 ? "up to date" : `${copied} file(s) copied`} in public/docs/assets`);
  return { version, copied };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await prepareAssets({ log: (msg) => console.log(`[assets] ${msg}`) });
}
