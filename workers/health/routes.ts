/** Liveness and readiness. /healthz never touches a dependency; /readyz checks each and reports timings. */
import { z } from "zod";
import { apiRoute, apiRouter, ok } from "../platform/openapi";
import { serviceContext } from "../platform/service-context";
import { readinessSchema } from "./response-schemas";
import { checkReadiness } from "./service";

const NO_STORE = { "Cache-Control": "no-store" };

const healthz = apiRoute({
  method: "get",
  path: "/healthz",
  tags: ["health"],
  summary: "Liveness: the Worker answers (no dependency is touched)",
  responses: { 200: ok(z.object({ status: z.literal("ok") }), "Alive.", { headers: ["Cache-Control"] }) },
});

const readyz = apiRoute({
  method: "get",
  path: "/readyz",
  tags: ["health"],
  summary: "Readiness: the primary, every replica and Redis, with timings",
  description: "`degraded` (200) when a replica or Redis is down; `fail` (503) when the primary is.",
  responses: {
    200: ok(readinessSchema, "Ready (`ok` or `degraded`).", { headers: ["Cache-Control"] }),
    503: ok(readinessSchema, "Not ready: the primary cannot be reached.", { headers: ["Cache-Control"] }),
  },
});

export const healthRoutes = apiRouter()
  .openapi(healthz, (c) => c.json({ data: { status: "ok" as const } }, 200, NO_STORE))
  .openapi(readyz, async (c) => {
    const report = await checkReadiness(serviceContext(c));
    return report.status === "fail" ? c.json({ data: report }, 503, NO_STORE) : c.json({ data: report }, 200, NO_STORE);
  });
