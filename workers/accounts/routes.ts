/** Accounts routes: sign-up, login, token refresh, logout, and the signed-in user's own profile. */
import { Hono } from "hono";
import { sql } from "drizzle-orm";
import type { AppEnv } from "../platform/context";
import { validate } from "../platform/validation";
import { AppError } from "../platform/errors";
import { loginSchema, signupSchema } from "./schemas";
import { login, logout, logoutEverywhere, refresh, signup } from "./service";
import { currentClaims, requireAuth } from "./middleware";

const noStore = { "Cache-Control": "no-store" };

export const authRoutes = new Hono<AppEnv>()
  .post("/auth/signup", validate("json", signupSchema), async (c) => c.json(await signup(c, c.req.valid("json")), 201, noStore))
  .post("/auth/login", validate("json", loginSchema), async (c) => c.json(await login(c, c.req.valid("json")), 200, noStore))
  .post("/auth/refresh", async (c) => c.json(await refresh(c), 200, noStore))
  .post("/auth/logout", async (c) => {
    await logout(c);
    return c.body(null, 204, noStore);
  })
  .post("/auth/logout-all", requireAuth(), async (c) => {
    await logoutEverywhere(c, currentClaims(c.req.raw)?.sub ?? "");
    return c.body(null, 204, noStore);
  })
  .get("/me", requireAuth(), async (c) => {
    const claims = currentClaims(c.req.raw);
    const { value } = await c.get("db").read(
      (db) =>
        db.rows<{ id: string; email: string; name: string | null; role: string; email_verified: boolean; mfa_enabled: boolean; created_at: string }>(sql`
          select id, email, name, role, email_verified_at is not null as email_verified, mfa_enabled, to_json(created_at) #>> '{}' as created_at
          from users where id = ${claims?.sub ?? ""}`),
      { primary: true },
    );
    const user = value[0];
    if (!user) throw new AppError(404, "NOT_FOUND", "User not found");
    return c.json({ data: user }, 200, { "Cache-Control": "private, no-store" });
  });
