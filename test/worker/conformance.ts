/**
 * The conformance check inside workerd: every response the worker and security suites receive (through `call()`,
 * `selfFetch()` and the shop helpers) is checked against the OpenAPI document the Worker itself serves, generated
 * in-process from the same route declarations — the development document, or the deployed one when a test makes the
 * bindings a staging/production environment. A violation fails the test that made the request.
 */
import { SELF } from "cloudflare:test";
import { app, devApp } from "../../workers/app";
import { buildDocument } from "../../workers/platform/openapi-document";
import { ConformanceChecker, assertConforms } from "../support/conformance";
import type { OpenApiDocument } from "../support/conformance";

let devChecker: ConformanceChecker | null = null;
let deployedChecker: ConformanceChecker | null = null;

/** The checker for the document of an environment (development and test get the /dev routes). */
export function checkerFor(environment: string | undefined): ConformanceChecker {
  if (environment === "development" || environment === "test" || environment === undefined) {
    devChecker ??= new ConformanceChecker(buildDocument(devApp, { devRoutes: true }) as unknown as OpenApiDocument);
    return devChecker;
  }
  deployedChecker ??= new ConformanceChecker(buildDocument(app, { devRoutes: false }) as unknown as OpenApiDocument);
  return deployedChecker;
}

/** Checks one response (its clone is read; the caller reads the original) and throws on a violation. */
export async function checkResponse(req: { method?: string | undefined; url: string; headers?: HeadersInit | undefined; environment?: string | undefined }, res: Response): Promise<Response> {
  await assertConforms(checkerFor(req.environment), req.method ?? "GET", req.url, res, req.headers);
  return res;
}

/** `SELF.fetch` (a separate incoming request, as concurrent clients arrive) with its response checked. */
export async function selfFetch(url: string, init: RequestInit = {}): Promise<Response> {
  return checkResponse({ method: init.method, url, headers: init.headers }, await SELF.fetch(url, init));
}
