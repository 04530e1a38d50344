/** Input schemas of the accounts routes: strict (unknown fields such as `role` are rejected), bounded. */
import { z } from "zod";
import { safeText } from "../platform/validation";
import { isIsoCountry, regionProblem } from "../platform/iso-3166";

const email = safeText().pipe(z.email("must be an email address").max(254));

export const signupSchema = z.strictObject({
  email,
  // Length is enforced by the policy check with its own codes; this only bounds the input.
  password: z
    .string()
    .min(1)
    .max(1024)
    .meta({ description: "8–256 characters (after NFKC), not guessable and not built from the email or name: see the PASSWORD_* codes." }),
  name: safeText().trim().min(1).max(120).optional(),
});

export const loginSchema = z.strictObject({
  email: safeText().trim().min(1).max(254).meta({ description: "Compared case-insensitively." }),
  password: z.string().min(1).max(1024),
});

export const emptyBodySchema = z.strictObject({});

const phone = safeText()
  .trim()
  .regex(/^\+[1-9][0-9]{6,14}$/, "must be E.164, e.g. +14155550123")
  .meta({ description: "E.164, e.g. `+14155550123`.", example: "+14155550123", pattern: "^\\+[1-9][0-9]{6,14}$" });

export const profilePatchSchema = z
  .strictObject({ name: safeText().trim().min(1).max(120).optional(), phone: phone.nullable().optional() })
  .refine((p) => p.name !== undefined || p.phone !== undefined, { message: "nothing to change" });
export type ProfilePatch = z.output<typeof profilePatchSchema>;

const line = (max: number) => safeText().trim().min(1).max(max);

const addressFields = z.strictObject({
  label: safeText().trim().min(1).max(40).optional(),
  name: line(120),
  line1: line(200),
  line2: safeText().trim().max(200).optional(),
  city: line(100),
  region: safeText()
    .trim()
    .max(100)
    .optional()
    .meta({ description: "The ISO 3166-2 subdivision (`CA`, `NY`, `ON` …); required for US and CA addresses.", example: "CA" }),
  postal_code: safeText()
    .trim()
    .min(1)
    .max(20)
    .regex(/^[A-Za-z0-9 -]+$/, "letters, digits, spaces and hyphens only")
    .meta({ pattern: "^[A-Za-z0-9 -]+$", example: "95014" }),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 code such as 'US'")
    .refine(isIsoCountry, "must be an ISO 3166-1 alpha-2 country code such as 'US'")
    .meta({ description: "An officially assigned ISO 3166-1 alpha-2 code (`XX` is not).", example: "US" }),
  phone: phone.optional(),
  default_shipping: z.boolean().optional(),
  default_billing: z.boolean().optional(),
});

export const addressSchema = addressFields.superRefine((a, ctx) => {
  const problem = regionProblem(a.country, a.region);
  if (problem) ctx.addIssue({ code: "custom", path: ["region"], message: problem });
});
export type AddressInput = z.output<typeof addressSchema>;

export const addressPatchSchema = addressFields.partial().refine((p) => Object.keys(p).length > 0, { message: "nothing to change" });
export type AddressPatch = z.output<typeof addressPatchSchema>;

export const addressIdSchema = z.strictObject({ id: z.uuid("must be an address id") });

const currentPassword = z.string().min(1).max(1024).meta({ description: "The account's current password (re-authentication)." });
const totpCode = safeText().trim().min(6).max(32).meta({ description: "The six-digit code the authenticator shows now." });
const secondFactor = safeText().trim().min(6).max(32).meta({ description: "A six-digit authenticator code, or an unused recovery code (`xxxxx-xxxxx`)." });

export const mfaEnrolSchema = z.strictObject({ password: currentPassword });
export const mfaConfirmSchema = z.strictObject({ password: currentPassword, code: totpCode });
export const mfaDisableSchema = z.strictObject({ password: currentPassword, code: secondFactor });
export const mfaLoginSchema = z.strictObject({
  mfa_token: safeText().min(10).max(2048).meta({ description: "The `mfa_token` of the password step's answer." }),
  code: secondFactor,
});

const emailToken = z.string().regex(/^[A-Za-z0-9_-]{20,100}$/, "must be the token from the email").meta({ description: "The `token` parameter of the emailed link." });
export const tokenSchema = z.strictObject({ token: emailToken });
export const resetRequestSchema = z.strictObject({ email: safeText().trim().min(3).max(254) });
export const resetSchema = z.strictObject({
  token: emailToken,
  password: z.string().min(1).max(1024).meta({ description: "The new password (the sign-up policy applies)." }),
});
