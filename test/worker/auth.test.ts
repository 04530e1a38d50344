import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { call, json, nextIp, postJson, sql } from "./helpers";
import type { ErrorBody } from "./helpers";
import { signAccessToken } from "../../workers/accounts/jwt";

interface Session {
  access_token: string;
  token_type: string;
  expires_in: number;
  user: { id: string; email: string; role: string };
}

const run = crypto.randomUUID().slice(0, 8);
const email = (tag: string): string => `${tag}-${run}@Example.com`;
const PASSWORD = "vK9#qL2$wX7!zR4p-tomes";

function cookiesOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const i = (pair ?? "").indexOf("=");
    if (i > 0) out[(pair as string).slice(0, i)] = (pair as string).slice(i + 1);
  }
  return out;
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}, overrides: Partial<Record<keyof Env, string>> = {}): Promise<Response> =>
  postJson(path, body, { headers, overrides });

async function signup(tag: string, extra: Record<string, unknown> = {}): Promise<{ res: Response; body: Session; cookies: Record<string, string> }> {
  const res = await post("/v1/auth/signup", { email: email(tag), password: PASSWORD, name: "Reader", ...extra });
  const body = await json<Session>(res.clone());
  return { res, body, cookies: cookiesOf(res) };
}

function cookieHeader(c: Record<string, string>): string {
  return Object.entries(c)
    .filter(([k]) => k === "nb_refresh" || k === "nb_csrf")
    .map(([k, v]) => `${k}=${v}`)
    .join("; ");
}

function refreshWith(cookies: Record<string, string>, csrf = cookies.nb_csrf ?? ""): Promise<Response> {
  return call("/v1/auth/refresh", { method: "POST", headers: { cookie: cookieHeader(cookies), "x-csrf-token": csrf, "cf-connecting-ip": nextIp() } });
}

const me = (token: string): Promise<Response> => call("/v1/me", { headers: { authorization: `Bearer ${token}` } });

describe("sign-up and login", () => {
  it("signs up a customer with a session: access token, httpOnly Strict refresh cookie, CSRF cookie", async () => {
    const { res, body } = await signup("new");
    expect(res.status).toBe(201);
    expect(body.token_type).toBe("Bearer");
    expect(body.expires_in).toBe(900);
    expect(body.user.role).toBe("customer");
    const setCookie = res.headers.getSetCookie().join("\n");
    expect(setCookie).toMatch(/nb_refresh=[^;]+;.*HttpOnly/);
    expect(setCookie).toMatch(/nb_refresh=.*SameSite=Strict/);
    expect(setCookie).toMatch(/nb_refresh=.*Path=\/v1\/auth/);
    expect(setCookie).toMatch(/nb_csrf=/);
    const [row] = await sql<{ password_hash: string; email_normalized: string }>("primary", "select password_hash, email_normalized from users where id = $1", [body.user.id]);
    expect(row?.password_hash).toMatch(/^\$pbkdf2-sha256\$i=100000\$/);
    expect(row?.email_normalized).toBe(email("new").toLowerCase());
    const [token] = await sql<{ n: string }>("primary", "select count(*) as n from refresh_tokens where user_id = $1", [body.user.id]);
    expect(Number(token?.n)).toBe(1);
  });

  it("rejects mass assignment, weak passwords and duplicate emails (any case) without creating anything", async () => {
    const before = await sql<{ n: string }>("primary", "select count(*) as n from users");
    const withRole = await post("/v1/auth/signup", { email: email("mass"), password: PASSWORD, role: "admin" });
    expect(withRole.status).toBe(400);
    expect((await json<ErrorBody>(withRole)).error.code).toBe("UNKNOWN_FIELD");
    const weak = await post("/v1/auth/signup", { email: email("weak"), password: "Password1!" });
    expect(weak.status).toBe(400);
    expect(["PASSWORD_TOO_WEAK", "PASSWORD_BREACHED_SHAPE"]).toContain((await json<ErrorBody>(weak)).error.code);
    const short = await post("/v1/auth/signup", { email: email("short"), password: "x1!" });
    expect((await json<ErrorBody>(short)).error.code).toBe("PASSWORD_TOO_SHORT");
    const badEmail = await post("/v1/auth/signup", { email: "not-an-email", password: PASSWORD });
    expect(badEmail.status).toBe(400);
    const after = await sql<{ n: string }>("primary", "select count(*) as n from users");
    expect(after[0]?.n).toBe(before[0]?.n);

    await signup("dup");
    const again = await post("/v1/auth/signup", { email: email("dup").toUpperCase(), password: PASSWORD });
    expect(again.status).toBe(409);
    expect((await json<ErrorBody>(again)).error.code).toBe("EMAIL_TAKEN");
  });

  it("logs in case-insensitively; wrong password and unknown email get the same 401", async () => {
    await signup("login");
    const ok = await post("/v1/auth/login", { email: email("login").toUpperCase(), password: PASSWORD });
    expect(ok.status).toBe(200);
    const session = await json<Session>(ok);
    expect((await me(session.access_token)).status).toBe(200);
    const wrong = await post("/v1/auth/login", { email: email("login"), password: "nope-nope-nope" });
    const unknown = await post("/v1/auth/login", { email: email("nobody"), password: "nope-nope-nope" });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const a = await json<ErrorBody>(wrong);
    const b = await json<ErrorBody>(unknown);
    expect(a.error.code).toBe("INVALID_CREDENTIALS");
    expect(b.error.message).toBe(a.error.message);
    const audits = await sql<{ action: string }>("primary", "select action from audit_log where action like 'auth.%' and at > now() - interval '1 minute'");
    const actions = new Set(audits.map((r) => r.action));
    for (const action of ["auth.signup", "auth.login", "auth.login_failed"]) expect(actions.has(action)).toBe(true);
  });
});

describe("access tokens", () => {
  it("refuses missing, tampered, alg:none, wrong-key and expired tokens", async () => {
    const { body } = await signup("tokens");
    expect((await me(body.access_token)).status).toBe(200);
    expect((await call("/v1/me")).status).toBe(401);
    const [h, p, s] = body.access_token.split(".") as [string, string, string];
    const payload = JSON.parse(atob(p.replaceAll("-", "+").replaceAll("_", "/"))) as Record<string, unknown>;
    const enc = (o: unknown): string => btoa(JSON.stringify(o)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    const tampered = `${h}.${enc({ ...payload, role: "admin" })}.${s}`;
    const none = `${enc({ alg: "none", typ: "JWT", kid: "k1" })}.${p}.`;
    const wrongKey = await signAccessToken([{ kid: "k1", secret: "another-secret-another-secret-another-secret" }], { sub: body.user.id, role: "customer", sid: "x", ep: 0 });
    const expired = await signAccessToken([{ kid: "k1", secret: env.JWT_KEYS.split(":")[1] as string }], { sub: body.user.id, role: "customer", sid: "x", ep: 0 }, Math.floor(Date.now() / 1000) - 3600);
    for (const [name, token] of [["tampered", tampered], ["none", none], ["wrong key", wrongKey], ["expired", expired]] as const) {
      const res = await me(token);
      expect(res.status, name).toBe(401);
      expect((await json<ErrorBody>(res)).error.code, name).toBe("INVALID_TOKEN");
    }
  });
});

describe("refresh rotation", () => {
  it("rotates on every use, demands the CSRF header, and revokes the family when a token is replayed", async () => {
    const first = await signup("rotate");
    const noCsrf = await refreshWith(first.cookies, "");
    expect(noCsrf.status).toBe(403);
    expect((await json<ErrorBody>(noCsrf)).error.code).toBe("CSRF_FAILED");

    const second = await refreshWith(first.cookies);
    expect(second.status).toBe(200);
    const secondCookies = { ...first.cookies, ...cookiesOf(second) };
    expect(secondCookies.nb_refresh).not.toBe(first.cookies.nb_refresh);
    const secondSession = await json<Session>(second);
    expect((await me(secondSession.access_token)).status).toBe(200);

    // The old token again: a replay. The whole family dies, including the newest token and its access token.
    const replay = await refreshWith(first.cookies);
    expect(replay.status).toBe(401);
    expect((await json<ErrorBody>(replay)).error.code).toBe("REFRESH_TOKEN_REUSED");
    expect((await refreshWith(secondCookies)).status).toBe(401);
    const cut = await me(secondSession.access_token);
    expect(cut.status).toBe(401);
    expect((await json<ErrorBody>(cut)).error.code).toBe("TOKEN_REVOKED");
    // Every presentation of a rotated or revoked token is audited as reuse.
    const [audit] = await sql<{ n: string }>("primary", "select count(*) as n from audit_log where action = 'auth.refresh_reuse' and actor_id = $1", [first.body.user.id]);
    expect(Number(audit?.n)).toBeGreaterThanOrEqual(1);
  });

  it("logout ends the session; log out everywhere ends all of them", async () => {
    const a = await signup("logout");
    const out = await call("/v1/auth/logout", { method: "POST", headers: { cookie: cookieHeader(a.cookies), "x-csrf-token": a.cookies.nb_csrf ?? "" } });
    expect(out.status).toBe(204);
    expect((await me(a.body.access_token)).status).toBe(401);
    expect((await refreshWith(a.cookies)).status).toBe(401);

    await signup("everywhere");
    const s1 = await json<Session>(await post("/v1/auth/login", { email: email("everywhere"), password: PASSWORD }));
    const s2res = await post("/v1/auth/login", { email: email("everywhere"), password: PASSWORD });
    const s2 = await json<Session>(s2res.clone());
    const all = await call("/v1/auth/logout-all", { method: "POST", headers: { authorization: `Bearer ${s1.access_token}` } });
    expect(all.status).toBe(204);
    expect((await me(s1.access_token)).status).toBe(401);
    expect((await me(s2.access_token)).status).toBe(401);
    expect((await refreshWith(cookiesOf(s2res))).status).toBe(401);
  });

  it("checks revocation on the primary when Redis is unreachable (never fails open)", async () => {
    const a = await signup("revoked-noredis");
    await call("/v1/auth/logout", { method: "POST", headers: { cookie: cookieHeader(a.cookies), "x-csrf-token": a.cookies.nb_csrf ?? "" } });
    const res = await call("/v1/me", { headers: { authorization: `Bearer ${a.body.access_token}` } }, { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" });
    expect(res.status).toBe(401);
    const live = await signup("live-noredis");
    const ok = await call("/v1/me", { headers: { authorization: `Bearer ${live.body.access_token}` } }, { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" });
    expect(ok.status).toBe(200);
  });
});

describe("per-user API rate limit", () => {
  it("answers 429 with Retry-After past the per-minute limit, and fails open when Redis is down", async () => {
    const { body } = await signup("api-limit");
    const limit = { API_RATE_LIMIT_PER_MINUTE: "5" };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call("/v1/me", { headers: { authorization: `Bearer ${body.access_token}` } }, limit)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await call("/v1/me", { headers: { authorization: `Bearer ${body.access_token}` } }, limit);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await json<ErrorBody>(limited)).error.code).toBe("RATE_LIMITED");
    const noRedis = await call("/v1/me", { headers: { authorization: `Bearer ${body.access_token}` } }, { ...limit, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" });
    expect(noRedis.status).toBe(200);
  });
});

describe("brute force and roles", () => {
  it("backs off exponentially after 5 failed logins (429 LOGIN_BACKOFF) and lets the owner in after the wait", { timeout: 60_000 }, async () => {
    await signup("backoff");
    const generous = { AUTH_LOGIN_MAX_ATTEMPTS: "100" };
    const bad = (i: number) => post("/v1/auth/login", { email: email("backoff"), password: `wrong-${i}-password` }, {}, generous);
    for (let i = 0; i < 5; i++) expect((await bad(i)).status).toBe(401);
    const sixth = await bad(5);
    expect(sixth.status).toBe(429);
    expect((await json<ErrorBody>(sixth)).error.code).toBe("LOGIN_BACKOFF");
    expect(sixth.headers.get("retry-after")).toBe("1");
    // Even the right password waits out the backoff: the attacker cannot tell it apart.
    expect((await post("/v1/auth/login", { email: email("backoff"), password: PASSWORD }, {}, generous)).status).toBe(429);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await bad(6)).status).toBe(401);
    const longer = await bad(7);
    expect(longer.status).toBe(429);
    expect(longer.headers.get("retry-after")).toBe("2");
    await new Promise((r) => setTimeout(r, 2_100));
    expect((await post("/v1/auth/login", { email: email("backoff"), password: PASSWORD }, {}, generous)).status).toBe(200);
    // Success clears the count: the next mistake is an ordinary 401.
    expect((await bad(8)).status).toBe(401);
  });

  it("answers 429 past the per-account window limit and lets the owner in when the window passes", { timeout: 60_000 }, async () => {
    await signup("window");
    // A window long enough that the logins (PBKDF2 each) on a loaded CI machine still fall inside it.
    const limits = { AUTH_LOGIN_MAX_ATTEMPTS: "3", AUTH_LOGIN_WINDOW_SECONDS: "6" };
    const login = () => post("/v1/auth/login", { email: email("window"), password: PASSWORD }, {}, limits);
    for (let i = 0; i < 3; i++) expect((await login()).status).toBe(200);
    const limited = await login();
    expect(limited.status).toBe(429);
    expect((await json<ErrorBody>(limited)).error.code).toBe("RATE_LIMITED");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    // A sliding window also weighs the previous window: two windows later the count is surely back under the limit.
    await new Promise((r) => setTimeout(r, 12_500));
    expect((await login()).status).toBe(200);
  });

  it("fails closed on login when Redis is down, while the catalog keeps answering", async () => {
    await signup("closed");
    const down = { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" };
    const res = await post("/v1/auth/login", { email: email("closed"), password: PASSWORD }, {}, down);
    expect(res.status).toBe(503);
    expect((await json<ErrorBody>(res)).error.code).toBe("RATE_LIMIT_UNAVAILABLE");
    expect((await call("/v1/products/the-hunger-games", {}, down)).status).toBe(200);
  });

  it("lets staff change a price and refuses customers (403)", async () => {
    const customer = await signup("customer-role");
    const denied = await call("/v1/admin/variants/BK00003-PB", {
      method: "PATCH",
      headers: { authorization: `Bearer ${customer.body.access_token}`, "content-type": "application/json" },
      body: JSON.stringify({ price_override: 999 }),
    });
    expect(denied.status).toBe(403);
    expect((await json<ErrorBody>(denied)).error.code).toBe("FORBIDDEN");

    const staff = await signup("staff-role");
    await sql("primary", "update users set role = 'staff' where id = $1", [staff.body.user.id]);
    const login = await json<Session>(await post("/v1/auth/login", { email: email("staff-role"), password: PASSWORD }));
    expect(login.user.role).toBe("staff");
    const [before] = await sql<{ price_override: number | null }>("primary", "select price_override from variants where sku = 'BK00003-PB'");
    const allowed = await call("/v1/admin/variants/BK00003-PB", {
      method: "PATCH",
      headers: { authorization: `Bearer ${login.access_token}`, "content-type": "application/json" },
      body: JSON.stringify({ price_override: before?.price_override ?? null }),
    });
    expect(allowed.status).toBe(200);
    const [audit] = await sql<{ actor_id: string }>("primary", "select actor_id from audit_log where action = 'variant.update' order by id desc limit 1");
    expect(audit?.actor_id).toBe(staff.body.user.id);
  });
});
