/** Liveness and readiness. /healthz never touches a dependency; /readyz checks each and reports timings. */
import { Hono } from "hono";
import type { AppEnv } from "../platform/context";
import { serviceContext } from "../platform/service-context";
import { checkReadiness } from "./service";

export const healthRoutes = new Hono<AppEnv>()
  .get("/healthz", (c) => {
    c.header("Cache-Control", "no-store");
    return c.json({ status: "ok" });
  })
  .get("/readyz", async (c) => {
    const report = await checkReadiness(serviceContext(c));
    c.header("Cache-Control", "no-store");
    return c.json(report, report.status === "fail" ? 503 : 200);
  });
