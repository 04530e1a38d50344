/** Response schemas of the health routes. */
import { z } from "zod";

export const readinessSchema = z
  .object({
    status: z.enum(["ok", "degraded", "fail"]),
    checks: z.array(
      z.object({
        name: z.string(),
        status: z.enum(["up", "down"]),
        latency_ms: z.number(),
        required: z.boolean(),
        detail: z.string().optional(),
        seconds_since_last_replay: z.number().nullable().optional(),
      }),
    ),
  })
  .meta({ id: "Readiness" });

export const dbPingSchema = z.object({ one: z.number().nullable(), source: z.enum(["primary", "replica"]) });
