/** Helpers for account tests: sign up (202, no session) and sign in, with the cookies a browser would keep. */
import { expect } from "vitest";
import { call, json, postJson } from "./helpers";

export interface Session {
  access_token: string;
  token_type: string;
  expires_in: number;
  user: { id: string; email: string; role: string };
}

/** The `{ data }` envelope of a success body (the top level holds nothing else). */
export async function dataOf<T>(res: Response): Promise<T> {
  const body = await json<{ data: T }>(res);
  expect(Object.keys(body)).toEqual(["data"]);
  return body.data;
}

/** The session of a login, login/mfa or refresh answer. */
export const sessionOf = (res: Response): Promise<Session> => dataOf<Session>(res);

type Overrides = Partial<Record<keyof Env, string>>;

// Per-IP limits (sign-up: 30 per hour) live in Redis across test runs: start each run at a random point of the
// 198.18.0.0/15 benchmarking range so re-running the suite within the hour does not meet the last run's counts.
let ipSeq = Math.floor(Math.random() * 60_000);

/** A client address not used earlier in this run (and very likely not in recent runs). */
export function freshIp(): string {
  const n = ipSeq++ % 64_000;
  return `198.${18 + Math.floor(n / 32_000)}.${Math.floor((n % 32_000) / 250)}.${(n % 250) + 1}`;
}

/** POSTs JSON from a fresh client address. */
export function postFresh(path: string, body: unknown, opts: { token?: string; cookie?: string; overrides?: Overrides } = {}): Promise<Response> {
  return postJson(path, body, { token: opts.token, headers: { "cf-connecting-ip": freshIp(), ...(opts.cookie ? { cookie: opts.cookie } : {}) }, overrides: opts.overrides ?? {} });
}

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
  const signup = await postFresh("/v1/auth/signup", { email, password, ...extra }, { overrides });
  expect(signup.status, await signup.clone().text()).toBe(202);
  const res = await postFresh("/v1/auth/login", { email, password }, { overrides });
  expect(res.status, await res.clone().text()).toBe(200);
  return { res, body: await sessionOf(res.clone()), cookies: cookiesOf(res) };
}

/** Posts a login from a fresh address, presenting the given cookies (e.g. a device cookie). */
export function loginWith(email: string, password: string, cookie = "", overrides: Overrides = {}): Promise<Response> {
  return call(
    "/v1/auth/login",
    { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": freshIp(), ...(cookie ? { cookie } : {}) }, body: JSON.stringify({ email, password }) },
    overrides,
  );
}
