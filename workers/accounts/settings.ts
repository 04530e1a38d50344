/**
 * Account-security settings read from the Worker's environment (all optional, with the defaults the README states).
 * They live beside the accounts code rather than in platform/config.ts because nothing else reads them.
 */
import { z } from "zod";
import { ConfigError } from "../platform/config";

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

const schema = z.object({
  AUTH_DEVICE_COOKIE_DAYS: int(1, 400, 90),
  AUTH_DEVICE_MAX_FAILURES: int(1, 1000, 10),
  AUTH_MFA_MAX_ATTEMPTS: int(1, 100, 5),
  AUTH_REFRESH_GRACE_SECONDS: int(0, 120, 20),
  AUTH_REVOCATION_CONFIRM_SECONDS: int(1, 300, 10),
  AUTH_MAILS_PER_ADDRESS_PER_HOUR: int(1, 100, 5),
});

/** Parsed account-security settings. */
export interface AccountSettings {
  /** Lifetime of a trusted-device cookie. */
  deviceCookieSeconds: number;
  /** Failed logins (per window) after which a device cookie loses its exemption. */
  deviceMaxFailures: number;
  /** Wrong codes per MFA token, per device, per account window before the MFA step is refused. */
  mfaMaxAttempts: number;
  /** How long the immediately previous refresh token still answers with its successor instead of revoking. */
  refreshGraceSeconds: number;
  /** How long a primary-confirmed "not revoked" answer may be reused from Redis. */
  revocationConfirmSeconds: number;
  /** Verification, reset and sign-up-notice mails per recipient account per hour. */
  mailsPerAddressPerHour: number;
}

const cache = new WeakMap<object, AccountSettings>();

/** The settings of one env object; throws ConfigError (500 CONFIG_INVALID) naming a malformed variable. */
export function accountSettings(env: object): AccountSettings {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    // The same CONFIG_INVALID answer as the platform's own settings, naming the variable.
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`));
  }
  const e = parsed.data;
  const settings: AccountSettings = {
    deviceCookieSeconds: e.AUTH_DEVICE_COOKIE_DAYS * 86_400,
    deviceMaxFailures: e.AUTH_DEVICE_MAX_FAILURES,
    mfaMaxAttempts: e.AUTH_MFA_MAX_ATTEMPTS,
    refreshGraceSeconds: e.AUTH_REFRESH_GRACE_SECONDS,
    revocationConfirmSeconds: e.AUTH_REVOCATION_CONFIRM_SECONDS,
    mailsPerAddressPerHour: e.AUTH_MAILS_PER_ADDRESS_PER_HOUR,
  };
  cache.set(env, settings);
  return settings;
}
