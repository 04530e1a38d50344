/** Response schemas of the accounts routes: what the document promises and the conformance tests check. */
import { z } from "zod";
import { ACCESS_TOKEN_TTL_SECONDS, MFA_TOKEN_TTL_SECONDS } from "./jwt";
import { roles } from "./tables";

const userId = z.string().meta({ description: "The user's id (a UUID).", example: "6f1c2a9e-3b7d-4c1e-9a55-2f4e8b7d1c03" });
const roleSchema = z.enum(roles).meta({ description: "Set by staff, never by sign-up (new accounts are `customer`)." });

/** The answer to sign-up: the same whether or not the address already had an account. */
export const signupAcceptedSchema = z
  .object({
    status: z.literal("check_your_email"),
    message: z.string(),
  })
  .meta({ id: "SignupAccepted" });

/** A signed-in session: a short-lived access token (the refresh token travels only in its httpOnly cookie). */
export const sessionSchema = z
  .object({
    access_token: z.string().meta({ description: "A JWT for `Authorization: Bearer …`." }),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().meta({ description: `Seconds the access token is valid (${ACCESS_TOKEN_TTL_SECONDS}); refresh before then.` }),
    user: z.object({
      id: userId,
      email: z.string(),
      name: z.string().nullable(),
      role: roleSchema,
    }),
  })
  .meta({ id: "AuthSession" });

/** What became of the guest cart sent with a sign-in (`X-Cart-Token`). */
export const cartMergeSchema = z
  .object({
    cart_id: z.string().meta({ description: "The customer's cart (`u-<user id>`), which now holds the guest cart's items." }),
    merged: z.object({
      added: z.array(z.string()).meta({ description: "SKUs added to (or summed into) the customer's cart." }),
      capped: z.array(z.string()).meta({ description: "SKUs whose summed quantity was cut to the per-line maximum." }),
      dropped: z.array(z.string()).meta({ description: "SKUs left out: the cart was full or in another currency." }),
    }),
  })
  .meta({
    id: "CartMergeResult",
    description: "Present only when the request carried a valid guest `X-Cart-Token` and the merge succeeded (a failed merge never fails the sign-in).",
  });

/** A session from a sign-in step, with the guest cart merge when a valid `X-Cart-Token` came with the request. */
export const signInSessionSchema = sessionSchema
  .extend({
    cart: cartMergeSchema.optional(),
  })
  .meta({ id: "SignInSession" });

/** The password was right and the account has a second factor: no session yet, finish with POST /v1/auth/login/mfa. */
export const mfaChallengeSchema = z
  .object({
    mfa_required: z.literal(true),
    mfa_token: z.string().meta({ description: "Send it to POST /v1/auth/login/mfa with a code; single use." }),
    expires_in: z.number().int().meta({ description: `Seconds the mfa_token is valid (${MFA_TOKEN_TTL_SECONDS}).` }),
  })
  .meta({ id: "MfaChallenge" });

/** The answer to a correct password: a session, or the second-factor challenge. */
export const loginAnswerSchema = z.union([signInSessionSchema, mfaChallengeSchema]).meta({
  description: "A session, or (`mfa_required: true`) the challenge of the second step.",
});

export const loginExample = {
  data: {
    access_token: "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJzdWIiOiI2ZjFjMmE5ZS0zYjdkLTRjMWUtOWE1NS0yZjRlOGI3ZDFjMDMifQ.c2lnbmF0dXJl",
    token_type: "Bearer",
    expires_in: ACCESS_TOKEN_TTL_SECONDS,
    user: { id: "6f1c2a9e-3b7d-4c1e-9a55-2f4e8b7d1c03", email: "ada@example.com", name: "Ada Lovelace", role: "customer" },
    cart: { cart_id: "u-6f1c2a9e-3b7d-4c1e-9a55-2f4e8b7d1c03", merged: { added: ["BK00042-PB", "BK00107-HC"], capped: [], dropped: [] } },
  },
};

export const profileSchema = z
  .object({
    id: userId,
    email: z.string(),
    name: z.string().nullable(),
    phone: z.string().nullable().meta({ description: "E.164; stored encrypted." }),
    role: roleSchema,
    email_verified: z.boolean(),
    mfa_enabled: z.boolean(),
    created_at: z.string().meta({ format: "date-time" }),
  })
  .meta({ id: "Profile" });

export const profileExample = {
  data: {
    id: "6f1c2a9e-3b7d-4c1e-9a55-2f4e8b7d1c03",
    email: "ada@example.com",
    name: "Ada Lovelace",
    phone: "+442071838750",
    role: "customer",
    email_verified: true,
    mfa_enabled: false,
    created_at: "2026-11-02T09:14:27.512+00:00",
  },
};

/** One of the customer's saved addresses (stored encrypted). Optional fields are absent when never given. */
export const savedAddressSchema = z
  .object({
    id: z.string().meta({ description: "The address id (a UUID)." }),
    label: z.string().nullable(),
    country: z.string().meta({ description: "ISO 3166-1 alpha-2.", example: "US" }),
    name: z.string(),
    line1: z.string(),
    line2: z.string().optional(),
    city: z.string(),
    region: z.string().optional().meta({ description: "The ISO 3166-2 subdivision, as saved." }),
    postal_code: z.string(),
    phone: z.string().optional(),
    default_shipping: z.boolean(),
    default_billing: z.boolean(),
  })
  .meta({ id: "SavedAddress" });

export const totpEnrolmentSchema = z
  .object({
    secret: z.string().meta({ description: "The new TOTP secret (base32), for manual entry." }),
    otpauth_uri: z.string().meta({ description: "`otpauth://totp/…` for a QR code (SHA-1, 6 digits, 30 s)." }),
  })
  .meta({ id: "TotpEnrolment" });

export const recoveryCodesSchema = z
  .object({
    recovery_codes: z.array(z.string()).meta({ description: "Ten single-use codes (`xxxxx-xxxxx`); shown once, stored hashed." }),
  })
  .meta({ id: "RecoveryCodes" });

export const emailSentSchema = z.object({ status: z.literal("sent") });

export const resetRequestedSchema = z.object({ status: z.literal("if the address has an account, an email is on its way") });
