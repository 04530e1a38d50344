/** Helpers for account tests: sign up (202, no session) and sign in, with the cookies a browser would keep. */
import { expect } from "vitest";
import { call, json, nextIp, postJson } from "./helpers";

export interface Session {
  access_token: string;
  token_type: string;
  expires_in: number;
  user: { id: string; email: string; role: string };
}

type Overrides = Partial<Record<keyof Env, string>>;

/** The cookies a response set, by name (a deleted cookie maps to ""). */
export function cookiesOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const i = (pair ?? "").indexOf("=");
    if (i > 0) out[(pair as string).slice(0, i)] = (pair as string).slice(i + 1);
  }
  return out;
}

/** A Cookie header from a jar, optionally limited to some names. */
export function cookieHeader(jar: Record<string, string>, names?: string[]): string {
  return Object.entries(jar)
    .filter(([k, v]) => v !== "" && (!names || names.includes(k)))
    .map(([k, v]) => `${k}=${v}`)
    .join("; ");
}

/** Signs up (expects the uniform 202) and signs in; returns the login response, its session and cookies. */
export async function registerAndLogin(email: string, password: string, extra: Record<string, unknown> = {}, overrides: Overrides = {}): Promise<{ res: Response; body: Session; cookies: Record<string, string> }> {
  const signup = await postJson("/v1/auth/signup", { email, password, ...extra }, { overrides });
  expect(signup.status, await signup.clone().text()).toBe(202);
  const res = await postJson("/v1/auth/login", { email, password }, { overrides });
  expect(res.status, await res.clone().text()).toBe(200);
  return { res, body: await json<Session>(res.clone()), cookies: cookiesOf(res) };
}

/** Posts a login from a fresh address, presenting the given cookies (e.g. a device cookie). */
export function loginWith(email: string, password: string, cookie = "", overrides: Overrides = {}): Promise<Response> {
  return call(
    "/v1/auth/login",
    { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": nextIp(), ...(cookie ? { cookie } : {}) }, body: JSON.stringify({ email, password }) },
    overrides,
  );
}
