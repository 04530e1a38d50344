/**
 * dev/prepare-assets.ts: Swagger UI's files land in public/docs/assets/ byte for byte, a second run changes
 * nothing (a watching dev server does not reload), and git ignores the copies but not the page's own files.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { expect, it } from "vitest";
import { projectRoot } from "../../dev/config";
import { DOCS_ASSETS_DIR, SWAGGER_UI_FILES, prepareAssets } from "../../dev/prepare-assets";

const dist = path.dirname(createRequire(path.join(projectRoot, "package.json")).resolve("swagger-ui-dist/package.json"));

it("copies the pinned swagger-ui-dist files unchanged, and only once", async () => {
  await prepareAssets();
  for (const [from, to] of Object.entries(SWAGGER_UI_FILES)) {
    expect(readFileSync(path.join(DOCS_ASSETS_DIR, to)).equals(readFileSync(path.join(dist, from))), to).toBe(true);
  }
  const again = await prepareAssets();
  expect(again.copied).toBe(0);
  const pinned = (JSON.parse(readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies["swagger-ui-dist"];
  expect(again.version).toBe(pinned);
});

it("git ignores the copies and keeps the initializer and the stylesheet", () => {
  const rel = (name: string) => path.relative(projectRoot, path.join(DOCS_ASSETS_DIR, name));
  const ignored = (name: string): boolean => {
    try {
      execFileSync("git", ["check-ignore", "-q", rel(name)], { cwd: projectRoot });
      return true;
    } catch {
      return false;
    }
  };
  for (const name of Object.values(SWAGGER_UI_FILES)) expect(ignored(name), name).toBe(true);
  for (const name of ["docs-init.js", "site.css"]) expect(ignored(name), name).toBe(false);
});
