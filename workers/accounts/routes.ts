/** Accounts routes: sign-up, login, token refresh, logout, and the signed-in user's own profile. */
import { z } from "zod";
import { apiRoute, apiRouter, empty, ok } from "../platform/openapi";
import type { SecurityRequirement } from "../platform/openapi";
import type { ErrorCode } from "../platform/error-codes";
import {
  addressIdSchema,
  addressPatchSchema,
  addressSchema,
  loginSchema,
  mfaConfirmSchema,
  mfaDisableSchema,
  mfaEnrolSchema,
  mfaLoginSchema,
  profilePatchSchema,
  resetRequestSchema,
  resetSchema,
  signupSchema,
  tokenSchema,
} from "./schemas";
import {
  emailSentSchema,
  loginAnswerSchema,
  loginExample,
  profileExample,
  profileSchema,
  recoveryCodesSchema,
  resetRequestedSchema,
  savedAddressSchema,
  sessionSchema,
  signInSessionSchema,
  signupAcceptedSchema,
  totpEnrolmentSchema,
} from "./response-schemas";
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

const json = <T extends z.ZodType>(schema: T) => ({ required: true, content: { "application/json": { schema } } });

/** Public operations: no credentials (a bearer token, if sent, is still checked). */
const PUBLIC: SecurityRequirement[] = [];
/** The refresh cookie and its CSRF echo (double submit). */
const REFRESH_COOKIE: SecurityRequirement[] = [{ refreshCookie: [], csrfToken: [] }];

const NO_STORE = ["Cache-Control"] as const;
const COOKIES = ["Cache-Control", "Set-Cookie"] as const;
/** Limits that fail closed: over the limit 429 RATE_LIMITED (global), Redis unreachable 503. */
const LIMITED = ["RATE_LIMIT_UNAVAILABLE", "DATABASE_UNAVAILABLE"] as const satisfies readonly ErrorCode[];
const PASSWORD_POLICY = ["PASSWORD_TOO_SHORT", "PASSWORD_TOO_LONG", "PASSWORD_TOO_WEAK", "PASSWORD_BREACHED_SHAPE"] as const satisfies readonly ErrorCode[];

/** A guest cart to merge into the customer's cart on sign-in. */
const cartTokenHeader = z.object({
  "x-cart-token": z
    .string()
    .optional()
    .meta({ description: "A guest cart's token (from POST /v1/carts): its items merge into the customer's cart; the answer's `cart` says how." }),
});

const signupRoute = apiRoute({
  method: "post",
  path: "/auth/signup",
  tags: ["accounts"],
  summary: "Register a customer account",
  description:
    "202 and the same body whether or not the address is already registered (sign-up cannot tell who has an account); " +
    "a new account gets a verification email, an existing one a notice. No session: sign in next.",
  security: PUBLIC,
  request: { body: json(signupSchema) },
  responses: { 202: ok(signupAcceptedSchema, "Accepted: check the inbox, then sign in.", { headers: NO_STORE }) },
  errors: [...LIMITED, ...PASSWORD_POLICY, "SIGNUP_RETRY"],
});

const loginRoute = apiRoute({
  method: "post",
  path: "/auth/login",
  tags: ["accounts"],
  summary: "Sign in with email and password",
  description:
    "Answers a session and sets the session cookies (`nb_refresh`, `nb_csrf`; `__Host-` prefixed over HTTPS) and the " +
    "trusted-device cookie (`nb_device`), " +
    "or, for accounts with a second factor, `mfa_required` and an `mfa_token` for POST /v1/auth/login/mfa (no cookies yet). " +
    "Unknown addresses and wrong passwords answer the same 401. Failures back off per account, or per trusted device for a client " +
    "presenting that account's device cookie.",
  security: PUBLIC,
  request: { headers: cartTokenHeader, body: json(loginSchema) },
  responses: { 200: ok(loginAnswerSchema, "A session, or the second-factor challenge.", { headers: COOKIES, example: loginExample }) },
  errors: [...LIMITED, "LOGIN_BACKOFF", "INVALID_CREDENTIALS"],
});

const loginMfaRoute = apiRoute({
  method: "post",
  path: "/auth/login/mfa",
  tags: ["accounts"],
  summary: "Second sign-in step: the mfa_token and an authenticator or recovery code",
  description: "The `mfa_token` is single use and allows a few wrong codes; TOTP codes cannot be replayed, recovery codes work once.",
  security: PUBLIC,
  request: { headers: cartTokenHeader, body: json(mfaLoginSchema) },
  responses: { 200: ok(signInSessionSchema, "The session (the session and device cookies are set).", { headers: COOKIES }) },
  errors: [...LIMITED, "INVALID_MFA_TOKEN", "MFA_CODE_REJECTED", "NOT_FOUND"],
});

const refreshRoute = apiRoute({
  method: "post",
  path: "/auth/refresh",
  tags: ["accounts"],
  summary: "A new access token for the refresh cookie (rotated)",
  description:
    "Rotates the refresh cookie. Presenting a rotated token again revokes the whole session (REFRESH_TOKEN_REUSED), except " +
    "within a short grace for two tabs refreshing at once. A refusal clears the session cookies.",
  security: REFRESH_COOKIE,
  responses: { 200: ok(sessionSchema, "The new access token (the rotated cookies are set).", { headers: COOKIES }) },
  errors: ["NO_SESSION", "CSRF_FAILED", "SESSION_EXPIRED", "REFRESH_TOKEN_REUSED", "DATABASE_UNAVAILABLE"],
});

const verifyRequestRoute = apiRoute({
  method: "post",
  path: "/auth/verify-email/request",
  tags: ["accounts"],
  summary: "Send the verification email again",
  middleware: [requireAuth()],
  responses: { 202: ok(emailSentSchema, "Queued.", { headers: NO_STORE }) },
  errors: [...LIMITED, "EMAIL_ALREADY_VERIFIED"],
});

const verifyRoute = apiRoute({
  method: "post",
  path: "/auth/verify-email",
  tags: ["accounts"],
  summary: "Confirm the email address with the token from the email",
  security: PUBLIC,
  request: { body: json(tokenSchema) },
  responses: { 204: empty("Verified.", NO_STORE) },
  errors: ["INVALID_OR_EXPIRED_TOKEN", "DATABASE_UNAVAILABLE"],
});

const resetRequestRoute = apiRoute({
  method: "post",
  path: "/auth/password-reset/request",
  tags: ["accounts"],
  summary: "Email a password-reset link",
  description: "The same answer, after the same work, whether or not the address has an account.",
  security: PUBLIC,
  request: { body: json(resetRequestSchema) },
  responses: { 202: ok(resetRequestedSchema, "Accepted.", { headers: NO_STORE }) },
  errors: LIMITED,
});

const resetRoute = apiRoute({
  method: "post",
  path: "/auth/password-reset",
  tags: ["accounts"],
  summary: "Set a new password with the token from the reset email",
  description: "Ends every session of the account.",
  security: PUBLIC,
  request: { body: json(resetSchema) },
  responses: { 204: empty("Password changed; every session is signed out.", NO_STORE) },
  errors: ["INVALID_OR_EXPIRED_TOKEN", ...PASSWORD_POLICY, "DATABASE_UNAVAILABLE"],
});

const MFA_ERRORS = [...LIMITED, "NOT_FOUND"] as const satisfies readonly ErrorCode[];

const enrolRoute = apiRoute({
  method: "post",
  path: "/me/mfa/totp",
  tags: ["accounts"],
  summary: "Start authenticator (TOTP) enrolment (needs the password)",
  description: "A new secret, pending until confirmed with a first code; starting again replaces a pending one.",
  middleware: [requireAuth()],
  request: { body: json(mfaEnrolSchema) },
  responses: { 201: ok(totpEnrolmentSchema, "The pending secret and its otpauth:// URI.", { headers: NO_STORE }) },
  errors: [...MFA_ERRORS, "MFA_ALREADY_ENABLED", "REAUTHENTICATION_FAILED"],
});

const confirmRoute = apiRoute({
  method: "post",
  path: "/me/mfa/totp/confirm",
  tags: ["accounts"],
  summary: "Confirm enrolment with a first code: turns the second factor on",
  middleware: [requireAuth()],
  request: { body: json(mfaConfirmSchema) },
  responses: { 200: ok(recoveryCodesSchema, "On; the recovery codes (shown this once).", { headers: NO_STORE }) },
  errors: [...MFA_ERRORS, "MFA_ALREADY_ENABLED", "MFA_NOT_ENROLLING", "REAUTHENTICATION_FAILED", "INVALID_MFA_CODE"],
});

const disableRoute = apiRoute({
  method: "post",
  path: "/me/mfa/totp/disable",
  tags: ["accounts"],
  summary: "Turn the second factor off (the password and a code or recovery code)",
  middleware: [requireAuth()],
  request: { body: json(mfaDisableSchema) },
  responses: { 204: empty("Off; recovery codes are deleted.", NO_STORE) },
  errors: [...MFA_ERRORS, "MFA_NOT_ENABLED", "INVALID_MFA_CODE"],
});

const logoutRoute = apiRoute({
  method: "post",
  path: "/auth/logout",
  tags: ["accounts"],
  summary: "Sign out this session (the refresh cookie's)",
  description: "Clears the session cookies; the session's access tokens stop working too. An unknown refresh cookie also answers 204.",
  security: REFRESH_COOKIE,
  responses: { 204: empty("Signed out (the cookies are cleared).", COOKIES) },
  errors: ["NO_SESSION", "CSRF_FAILED", "DATABASE_UNAVAILABLE"],
});

const logoutAllRoute = apiRoute({
  method: "post",
  path: "/auth/logout-all",
  tags: ["accounts"],
  summary: "Sign out every session of the account",
  middleware: [requireAuth()],
  responses: { 204: empty("Every session is signed out (this client's cookies are cleared).", COOKIES) },
  errors: ["DATABASE_UNAVAILABLE"],
});

const emptyQuery = z.strictObject({});
const PROFILE_ERRORS = ["NOT_FOUND", "DATABASE_UNAVAILABLE"] as const satisfies readonly ErrorCode[];

const getMeRoute = apiRoute({
  method: "get",
  path: "/me",
  tags: ["accounts"],
  summary: "The signed-in customer's profile",
  middleware: [requireAuth()],
  request: { query: emptyQuery },
  responses: { 200: ok(profileSchema, "The profile.", { headers: NO_STORE, example: profileExample }) },
  errors: PROFILE_ERRORS,
});

const patchMeRoute = apiRoute({
  method: "patch",
  path: "/me",
  tags: ["accounts"],
  summary: "Change the name and/or phone (null removes the phone)",
  middleware: [requireAuth()],
  request: { body: json(profilePatchSchema) },
  responses: { 200: ok(profileSchema, "The profile after the change.", { headers: NO_STORE, example: profileExample }) },
  errors: PROFILE_ERRORS,
});

const listAddressesRoute = apiRoute({
  method: "get",
  path: "/me/addresses",
  tags: ["accounts"],
  summary: "The saved addresses, defaults first",
  middleware: [requireAuth()],
  request: { query: emptyQuery },
  responses: { 200: ok(z.array(savedAddressSchema), "Every saved address (at most 20).", { headers: NO_STORE }) },
  errors: ["DATABASE_UNAVAILABLE"],
});

const addAddressRoute = apiRoute({
  method: "post",
  path: "/me/addresses",
  tags: ["accounts"],
  summary: "Save an address (the first becomes the default for shipping and billing)",
  middleware: [requireAuth()],
  request: { body: json(addressSchema) },
  responses: { 201: ok(savedAddressSchema, "The saved address.", { headers: NO_STORE }) },
  errors: ["TOO_MANY_ADDRESSES", "DATABASE_UNAVAILABLE"],
});

/** An address id that is not a UUID is simply not one of the caller's addresses. */
const ADDRESS_ID = { param: { id: "NOT_FOUND" } } as const;

const patchAddressRoute = apiRoute({
  method: "patch",
  path: "/me/addresses/{id}",
  tags: ["accounts"],
  summary: "Change a saved address",
  middleware: [requireAuth()],
  request: { params: addressIdSchema, body: json(addressPatchSchema) },
  responses: { 200: ok(savedAddressSchema, "The address after the change.", { headers: NO_STORE }) },
  errors: ["NOT_FOUND", "DATABASE_UNAVAILABLE"],
  fieldCodes: ADDRESS_ID,
});

const deleteAddressRoute = apiRoute({
  method: "delete",
  path: "/me/addresses/{id}",
  tags: ["accounts"],
  summary: "Delete a saved address",
  middleware: [requireAuth()],
  request: { params: addressIdSchema },
  responses: { 204: empty("Deleted.", NO_STORE) },
  errors: ["NOT_FOUND", "DATABASE_UNAVAILABLE"],
  fieldCodes: ADDRESS_ID,
});

export const authRoutes = apiRouter()
  .openapi(signupRoute, async (c) => c.json({ data: await signup(c, c.req.valid("json")) }, 202, noStore))
  .openapi(loginRoute, async (c) => c.json({ data: await withCartMerge(c, await login(c, c.req.valid("json"))) }, 200, noStore))
  .openapi(loginMfaRoute, async (c) => c.json({ data: await withCartMerge(c, await loginWithSecondFactor(c, c.req.valid("json"))) }, 200, noStore))
  .openapi(refreshRoute, async (c) => c.json({ data: await refresh(c) }, 200, noStore))
  .openapi(verifyRequestRoute, async (c) => {
    await requestVerification(c, userOf(c.req.raw));
    return c.json({ data: { status: "sent" as const } }, 202, noStore);
  })
  .openapi(verifyRoute, async (c) => {
    await confirmEmail(c, c.req.valid("json").token);
    return c.body(null, 204, noStore);
  })
  .openapi(resetRequestRoute, async (c) => {
    await requestPasswordReset(c, c.req.valid("json").email);
    // The same answer whether or not the address has an account.
    return c.json({ data: { status: "if the address has an account, an email is on its way" as const } }, 202, noStore);
  })
  .openapi(resetRoute, async (c) => {
    const { token, password } = c.req.valid("json");
    await resetPassword(c, token, password);
    return c.body(null, 204, noStore);
  })
  .openapi(enrolRoute, async (c) => c.json({ data: await enrolTotp(c, userOf(c.req.raw), c.req.valid("json").password) }, 201, privateNoStore))
  .openapi(confirmRoute, async (c) => c.json({ data: await confirmTotp(c, userOf(c.req.raw), c.req.valid("json")) }, 200, privateNoStore))
  .openapi(disableRoute, async (c) => {
    await disableTotp(c, userOf(c.req.raw), c.req.valid("json"));
    return c.body(null, 204, privateNoStore);
  })
  .openapi(logoutRoute, async (c) => {
    await logout(c);
    return c.body(null, 204, noStore);
  })
  .openapi(logoutAllRoute, async (c) => {
    await logoutEverywhere(c, userOf(c.req.raw));
    return c.body(null, 204, noStore);
  })
  .openapi(getMeRoute, async (c) => c.json({ data: await getProfile(c, userOf(c.req.raw)) }, 200, privateNoStore))
  .openapi(patchMeRoute, async (c) => c.json({ data: await updateProfile(c, userOf(c.req.raw), c.req.valid("json")) }, 200, privateNoStore))
  .openapi(listAddressesRoute, async (c) => c.json({ data: await listAddresses(c, userOf(c.req.raw)) }, 200, privateNoStore))
  .openapi(addAddressRoute, async (c) => c.json({ data: await addAddress(c, userOf(c.req.raw), c.req.valid("json")) }, 201, privateNoStore))
  .openapi(patchAddressRoute, async (c) =>
    c.json({ data: await updateAddress(c, userOf(c.req.raw), c.req.valid("param").id, c.req.valid("json")) }, 200, privateNoStore),
  )
  .openapi(deleteAddressRoute, async (c) => {
    await deleteAddress(c, userOf(c.req.raw), c.req.valid("param").id);
    return c.body(null, 204, privateNoStore);
  });
