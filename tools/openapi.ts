/**
 * Prints the OpenAPI document the Worker serves at /openapi.json, generated in-process from the route declarations.
 *
 *   tsx tools/openapi.ts [--deployed] [--out FILE]
 *
 * `--deployed`: the document of staging and production (no /dev routes); by default the development one.
 */
import { writeFile } from "node:fs/promises";
import { app, devApp } from "../workers/app";
import { buildDocument } from "../workers/platform/openapi-document";

/** The document of the deployed or the development app. */
export function openApiDocument(deployed: boolean): ReturnType<typeof buildDocument> {
  return buildDocument(deployed ? app : devApp, { devRoutes: !deployed });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const out = args.includes("--out") ? args[args.indexOf("--out") + 1] : undefined;
  const text = `${JSON.stringify(openApiDocument(args.includes("--deployed")), null, 2)}\n`;
  if (out) await writeFile(out, text);
  else process.stdout.write(text);
}
