/**
 * Trusted-device cookies (OWASP "device cookies" against account lockout): each successful login hands the browser
 * a signed cookie naming the user and a device id, with its own expiry. A login or MFA step presenting a valid
 * cookie for that very account is judged by the device's own failure counter instead of the account's, so an
 * attacker hammering the account from elsewhere cannot lock the owner's known device out.
 */
import { getCookie, setCookie } from "hono/cookie";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { signValue, verifySignedValue } from "../platform/signing";
import { cookieNames, deployedCookies } from "./session";
import { accountSettings } from "./settings";

const PURPOSE = "device";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface DeviceCookie {
  userId: string;
  deviceId: string;
  expiresAt: number;
}

async function readCookie(c: Context<AppEnv>): Promise<DeviceCookie | null> {
  const raw = getCookie(c, cookieNames(c).device);
  if (!raw || raw.length > 300) return null;
  const value = await verifySignedValue(c.get("config").cookieSecret, PURPOSE, raw);
  if (!value) return null;
  const [userId, deviceId, exp] = value.split("~");
  const expiresAt = Number(exp);
  if (!userId || !deviceId || !UUID.test(userId) || !UUID.test(deviceId) || !Number.isSafeInteger(expiresAt)) return null;
  return { userId, deviceId, expiresAt };
}

/** The device id of a valid, unexpired device cookie issued to `userId`, or null (absent, forged, expired, other user). */
export async function trustedDeviceFor(c: Context<AppEnv>, userId: string | null): Promise<string | null> {
  if (!userId) return null;
  const cookie = await readCookie(c);
  if (!cookie || cookie.userId !== userId || cookie.expiresAt <= Math.floor(Date.now() / 1000)) return null;
  return cookie.deviceId;
}

/** Sets (or renews, keeping the id) the device cookie after a successful login of `userId`. */
export async function issueDeviceCookie(c: Context<AppEnv>, userId: string, deviceId: string | null): Promise<void> {
  const ttl = accountSettings(c.env).deviceCookieSeconds;
  const id = deviceId ?? crypto.randomUUID();
  const exp = Math.floor(Date.now() / 1000) + ttl;
  const value = await signValue(c.get("config").cookieSecret, PURPOSE, `${userId}~${id}~${exp}`);
  setCookie(c, cookieNames(c).device, value, { httpOnly: true, secure: deployedCookies(c), sameSite: "Strict", path: "/", maxAge: ttl });
}
