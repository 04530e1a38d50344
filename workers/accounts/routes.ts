/** Accounts routes: sign-up, login, token refresh, logout, and the signed-in user's own profile. */
import { Hono } from "hono";
import type { AppEnv } from "../platform/context";
import { validate } from "../platform/validation";
import { addressIdSchema, addressPatchSchema, addressSchema, loginSchema, mfaConfirmSchema, mfaDisableSchema, mfaEnrolSchema, mfaLoginSchema, profilePatchSchema, resetRequestSchema, resetSchema, signupSchema, tokenSchema } from "./schemas";
import { confirmTotp, disableTotp, enrolTotp, loginWithSecondFactor } from "./mfa";
import { confirmEmail, requestPasswordReset, requestVerification, resetPassword } from "./email-flows";
import { addAddress, deleteAddress, getProfile, listAddresses, updateAddress, updateProfile } from "./profile";
import { withCartMerge } from "../cart/merge";
import { login, logout, logoutEverywhere, refresh, signup } from "./service";
import { currentClaims, requireAuth } from "./middleware";

const noStore = { "Cache-Control": "no-store" };
const privateNoStore = { "Cache-Control": "private, no-store" };

/** The signed-in user's id (requireAuth ran before). */
const userOf = (req: Request): string => currentClaims(req)?.sub ?? "";

export const authRoutes = new Hono<AppEnv>()
  // 202 and the same body whether or not the address is taken (no session: the owner signs in next).
  .post("/auth/signup", validate("json", signupSchema), async (c) => c.json({ data: await signup(c, c.req.valid("json")) }, 202, noStore))
  .post("/auth/login", validate("json", loginSchema), async (c) => c.json(await withCartMerge(c, await login(c, c.req.valid("json"))), 200, noStore))
  .post("/auth/login/mfa", validate("json", mfaLoginSchema), async (c) => c.json(await withCartMerge(c, await loginWithSecondFactor(c, c.req.valid("json"))), 200, noStore))
  .post("/auth/refresh", async (c) => c.json(await refresh(c), 200, noStore))
  .post("/auth/verify-email/request", requireAuth(), async (c) => {
    await requestVerification(c, userOf(c.req.raw));
    return c.json({ data: { status: "sent" } }, 202, noStore);
  })
  .post("/auth/verify-email", validate("json", tokenSchema), async (c) => {
    await confirmEmail(c, c.req.valid("json").token);
    return c.body(null, 204, noStore);
  })
  .post("/auth/password-reset/request", validate("json", resetRequestSchema), async (c) => {
    await requestPasswordReset(c, c.req.valid("json").email);
    // The same answer whether or not the address has an account.
    return c.json({ data: { status: "if the address has an account, an email is on its way" } }, 202, noStore);
  })
  .post("/auth/password-reset", validate("json", resetSchema), async (c) => {
    const { token, password } = c.req.valid("json");
    await resetPassword(c, token, password);
    return c.body(null, 204, noStore);
  })
  .post("/me/mfa/totp", requireAuth(), validate("json", mfaEnrolSchema), async (c) =>
    c.json({ data: await enrolTotp(c, userOf(c.req.raw), c.req.valid("json").password) }, 201, privateNoStore),
  )
  .post("/me/mfa/totp/confirm", requireAuth(), validate("json", mfaConfirmSchema), async (c) =>
    c.json({ data: await confirmTotp(c, userOf(c.req.raw), c.req.valid("json")) }, 200, privateNoStore),
  )
  .post("/me/mfa/totp/disable", requireAuth(), validate("json", mfaDisableSchema), async (c) => {
    await disableTotp(c, userOf(c.req.raw), c.req.valid("json"));
    return c.body(null, 204, privateNoStore);
  })
  .post("/auth/logout", async (c) => {
    await logout(c);
    return c.body(null, 204, noStore);
  })
  .post("/auth/logout-all", requireAuth(), async (c) => {
    await logoutEverywhere(c, currentClaims(c.req.raw)?.sub ?? "");
    return c.body(null, 204, noStore);
  })
  .get("/me", requireAuth(), async (c) => c.json({ data: await getProfile(c, userOf(c.req.raw)) }, 200, privateNoStore))
  .patch("/me", requireAuth(), validate("json", profilePatchSchema), async (c) =>
    c.json({ data: await updateProfile(c, userOf(c.req.raw), c.req.valid("json")) }, 200, privateNoStore),
  )
  .get("/me/addresses", requireAuth(), async (c) => c.json({ data: await listAddresses(c, userOf(c.req.raw)) }, 200, privateNoStore))
  .post("/me/addresses", requireAuth(), validate("json", addressSchema), async (c) =>
    c.json({ data: await addAddress(c, userOf(c.req.raw), c.req.valid("json")) }, 201, privateNoStore),
  )
  .patch("/me/addresses/:id", requireAuth(), validate("param", addressIdSchema, { id: "NOT_FOUND" }), validate("json", addressPatchSchema), async (c) =>
    c.json({ data: await updateAddress(c, userOf(c.req.raw), c.req.valid("param").id, c.req.valid("json")) }, 200, privateNoStore),
  )
  .delete("/me/addresses/:id", requireAuth(), validate("param", addressIdSchema, { id: "NOT_FOUND" }), async (c) => {
    await deleteAddress(c, userOf(c.req.raw), c.req.valid("param").id);
    return c.body(null, 204, privateNoStore);
  });
