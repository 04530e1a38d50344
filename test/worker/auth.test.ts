import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { sign } from "hono/jwt";
import { call, deployedEnv, json, nextIp, postJson, redis, sql } from "./helpers";
import type { ErrorBody } from "./helpers";
import { signAccessToken } from "../../workers/accounts/jwt";
import { cookieHeader, cookiesOf, postFresh, registerAndLogin, sessionOf } from "./accounts-helpers";
import type { Session } from "./accounts-helpers";

const run = crypto.randomUUID().slice(0, 8);
const email = (tag: string): string => `${tag}-${run}@Example.com`;
const PASSWORD = "vK9#qL2$wX7!zR4p-tomes";

const post = (path: string, body: unknown, headers: Record<string, string> = {}, overrides: Partial<Record<keyof Env, string>> = {}): Promise<Response> =>
  postJson(path, body, { headers, overrides });

/** Signs up and signs in: sign-up itself starts no session (it answers the same for taken addresses). */
async function signup(tag: string, extra: Record<string, unknown> = {}): Promise<{ res: Response; body: Session; cookies: Record<string, string> }> {
  return registerAndLogin(email(tag), PASSWORD, { name: "Reader", ...extra });
}

const sessionCookies = (c: Record<string, string>): string => cookieHeader(c, ["nb_refresh", "nb_csrf"]);

function refreshWith(cookies: Record<string, string>, csrf = cookies.nb_csrf ?? ""): Promise<Response> {
  return call("/v1/auth/refresh", { method: "POST", headers: { cookie: sessionCookies(cookies), "x-csrf-token": csrf, "cf-connecting-ip": nextIp() } });
}

const me = (token: string): Promise<Response> => call("/v1/me", { headers: { authorization: `Bearer ${token}` } });

describe("sign-up and login", () => {
  it("signs up a customer (no session yet); login gives an access token, httpOnly Strict refresh cookie, CSRF cookie", async () => {
    const created = await postFresh("/v1/auth/signup", { email: email("new"), password: PASSWORD });
    expect(created.status).toBe(202);
    expect(created.headers.getSetCookie().some((l) => /^nb_(refresh|csrf|device)=/.test(l))).toBe(false);
    expect(await json(created)).toEqual({ data: { status: "check_your_email", message: expect.any(String) as unknown } });
    const res = await post("/v1/auth/login", { email: email("new"), password: PASSWORD });
    const body = await sessionOf(res.clone());
    expect(res.status).toBe(200);
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
    const withRole = await postFresh("/v1/auth/signup", { email: email("mass"), password: PASSWORD, role: "admin" });
    expect(withRole.status).toBe(400);
    expect((await json<ErrorBody>(withRole)).error.code).toBe("UNKNOWN_FIELD");
    const weak = await postFresh("/v1/auth/signup", { email: email("weak"), password: "Password1!" });
    expect(weak.status).toBe(400);
    expect(["PASSWORD_TOO_WEAK", "PASSWORD_BREACHED_SHAPE"]).toContain((await json<ErrorBody>(weak)).error.code);
    const short = await postFresh("/v1/auth/signup", { email: email("short"), password: "x1!" });
    expect((await json<ErrorBody>(short)).error.code).toBe("PASSWORD_TOO_SHORT");
    const badEmail = await postFresh("/v1/auth/signup", { email: "not-an-email", password: PASSWORD });
    expect(badEmail.status).toBe(400);
    const after = await sql<{ n: string }>("primary", "select count(*) as n from users");
    expect(after[0]?.n).toBe(before[0]?.n);

    await signup("dup");
    const again = await postFresh("/v1/auth/signup", { email: email("dup").toUpperCase(), password: PASSWORD });
    expect(again.status).toBe(202);
    const [n] = await sql<{ n: string }>("primary", "select count(*) as n from users where email_normalized = $1", [email("dup").toLowerCase()]);
    expect(Number(n?.n)).toBe(1);
  });

  it("logs in case-insensitively; wrong password and unknown email get the same 401", async () => {
    await signup("login");
    const ok = await post("/v1/auth/login", { email: email("login").toUpperCase(), password: PASSWORD });
    expect(ok.status).toBe(200);
    const session = await sessionOf(ok);
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
    // Signed with the real key, but claiming a lifetime we never mint, or a role that does not exist.
    const key = { kty: "oct", k: btoa(env.JWT_KEYS.split(":")[1] as string).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, ""), alg: "HS256", kid: "k1" } as const;
    const now = Math.floor(Date.now() / 1000);
    const base = { sub: body.user.id, sid: payload.sid, ep: 0, iss: "nexusbooks", aud: "nexusbooks-api" };
    const longLived = await sign({ ...base, role: "customer", iat: now, exp: now + 30 * 86_400 }, key);
    const badRole = await sign({ ...base, role: "superuser", iat: now, exp: now + 600 }, key);
    const noIat = await sign({ ...base, role: "customer", exp: now + 600 }, key);
    const control = await sign({ ...base, role: "customer", iat: now, exp: now + 600 }, key);
    expect((await me(control)).status, "control token").toBe(200);
    for (const [name, token] of [["tampered", tampered], ["none", none], ["wrong key", wrongKey], ["expired", expired], ["lifetime over the cap", longLived], ["unknown role", badRole], ["no iat", noIat]] as const) {
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
    const secondSession = await sessionOf(second);
    expect((await me(secondSession.access_token)).status).toBe(200);
    const third = await refreshWith(secondCookies);
    expect(third.status).toBe(200);

    // The first token again, two rotations back (not the grace's "immediately previous" token): a replay. The whole
    // family dies, including the newest token and its access token.
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

  it("two tabs refreshing at once with one cookie both get the same successor; the session survives", async () => {
    const a = await signup("two-tabs");
    const [x, y] = await Promise.all([refreshWith(a.cookies), refreshWith(a.cookies)]);
    expect([x.status, y.status]).toEqual([200, 200]);
    const cx = cookiesOf(x);
    const cy = cookiesOf(y);
    expect(cx.nb_refresh).toBeTruthy();
    expect(cx.nb_refresh).toBe(cy.nb_refresh);
    expect(cx.nb_csrf).toBe(cy.nb_csrf);
    const rows = await sql<{ revoked: boolean }>("primary", "select revoked_at is not null as revoked from refresh_tokens where user_id = $1", [a.body.user.id]);
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => !r.revoked)).toBe(true);
    for (const r of [x, y]) expect((await me((await sessionOf(r)).access_token)).status).toBe(200);
    // The successor keeps working.
    expect((await refreshWith({ ...a.cookies, ...cx })).status).toBe(200);
  });

  it("revokes the family when the previous token comes back after the grace period", { timeout: 30_000 }, async () => {
    const a = await signup("grace-over");
    const grace = { AUTH_REFRESH_GRACE_SECONDS: "1" } as Partial<Record<keyof Env, string>>;
    const refreshOver = (cookies: Record<string, string>) =>
      call("/v1/auth/refresh", { method: "POST", headers: { cookie: sessionCookies(cookies), "x-csrf-token": cookies.nb_csrf ?? "", "cf-connecting-ip": nextIp() } }, grace);
    const next = await refreshOver(a.cookies);
    expect(next.status).toBe(200);
    await new Promise((r) => setTimeout(r, 2_100));
    const late = await refreshOver(a.cookies);
    expect(late.status).toBe(401);
    expect((await json<ErrorBody>(late)).error.code).toBe("REFRESH_TOKEN_REUSED");
    expect((await refreshOver({ ...a.cookies, ...cookiesOf(next) })).status).toBe(401);
  });

  it("refuses a CSRF cookie/header pair the attacker chose, and changes nothing", async () => {
    const a = await signup("csrf-bound");
    const forged = "A".repeat(43);
    const res = await call("/v1/auth/refresh", {
      method: "POST",
      headers: { cookie: `nb_refresh=${a.cookies.nb_refresh ?? ""}; nb_csrf=${forged}`, "x-csrf-token": forged, "cf-connecting-ip": nextIp() },
    });
    expect(res.status).toBe(403);
    expect((await json<ErrorBody>(res)).error.code).toBe("CSRF_FAILED");
    const out = await call("/v1/auth/logout", { method: "POST", headers: { cookie: `nb_refresh=${a.cookies.nb_refresh ?? ""}; nb_csrf=${forged}`, "x-csrf-token": forged } });
    expect(out.status).toBe(403);
    // Another session's genuine CSRF token does not fit this session either.
    const b = await signup("csrf-other");
    const cross = await refreshWith({ nb_refresh: a.cookies.nb_refresh ?? "", nb_csrf: b.cookies.nb_csrf ?? "" });
    expect(cross.status).toBe(403);
    const [row] = await sql<{ rotated: boolean; revoked: boolean }>(
      "primary",
      "select rotated_at is not null as rotated, revoked_at is not null as revoked from refresh_tokens where user_id = $1",
      [a.body.user.id],
    );
    expect(row).toEqual({ rotated: false, revoked: false });
    // The session's own token still works, and stays the same across rotations.
    const ok = await refreshWith(a.cookies);
    expect(ok.status).toBe(200);
    expect(cookiesOf(ok).nb_csrf).toBe(a.cookies.nb_csrf);
  });

  it("uses __Host- cookies (Secure, Path=/) in deployed environments", async () => {
    // Deployed-shaped secrets: staging refuses the local example values at start-up.
    const STAGING = deployedEnv("staging");
    await signup("host-prefix");
    const res = await post("/v1/auth/login", { email: email("host-prefix"), password: PASSWORD }, {}, STAGING);
    expect(res.status).toBe(200);
    const lines = res.headers.getSetCookie();
    for (const name of ["__Host-nb_refresh", "__Host-nb_csrf", "__Host-nb_device"]) {
      const line = lines.find((l) => l.startsWith(`${name}=`));
      expect(line, name).toBeTruthy();
      expect(line).toMatch(/; Path=\/(;|$)/);
      expect(line).toMatch(/; Secure/);
      expect(line).not.toMatch(/Domain=/i);
    }
    expect(lines.some((l) => l.startsWith("nb_refresh="))).toBe(false);
    const jar = cookiesOf(res);
    const refreshed = await call(
      "/v1/auth/refresh",
      { method: "POST", headers: { cookie: cookieHeader(jar), "x-csrf-token": jar["__Host-nb_csrf"] ?? "", "cf-connecting-ip": nextIp() } },
      STAGING,
    );
    expect(refreshed.status).toBe(200);
    const jar2 = { ...jar, ...cookiesOf(refreshed) };
    const out = await call(
      "/v1/auth/logout",
      { method: "POST", headers: { cookie: cookieHeader(jar2), "x-csrf-token": jar2["__Host-nb_csrf"] ?? "", "cf-connecting-ip": nextIp() } },
      STAGING,
    );
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().some((l) => l.startsWith("__Host-nb_refresh=;") && /Max-Age=0/.test(l))).toBe(true);
  });

  it("logout ends the session; log out everywhere ends all of them", async () => {
    const a = await signup("logout");
    const out = await call("/v1/auth/logout", { method: "POST", headers: { cookie: sessionCookies(a.cookies), "x-csrf-token": a.cookies.nb_csrf ?? "" } });
    expect(out.status).toBe(204);
    expect((await me(a.body.access_token)).status).toBe(401);
    expect((await refreshWith(a.cookies)).status).toBe(401);

    await signup("everywhere");
    const s1 = await sessionOf(await post("/v1/auth/login", { email: email("everywhere"), password: PASSWORD }));
    const s2res = await post("/v1/auth/login", { email: email("everywhere"), password: PASSWORD });
    const s2 = await sessionOf(s2res.clone());
    const all = await call("/v1/auth/logout-all", { method: "POST", headers: { authorization: `Bearer ${s1.access_token}` } });
    expect(all.status).toBe(204);
    expect((await me(s1.access_token)).status).toBe(401);
    expect((await me(s2.access_token)).status).toBe(401);
    expect((await refreshWith(cookiesOf(s2res))).status).toBe(401);
  });

  it("checks revocation on the primary when Redis is unreachable (never fails open)", async () => {
    const a = await signup("revoked-noredis");
    await call("/v1/auth/logout", { method: "POST", headers: { cookie: sessionCookies(a.cookies), "x-csrf-token": a.cookies.nb_csrf ?? "" } });
    const res = await call("/v1/me", { headers: { authorization: `Bearer ${a.body.access_token}` } }, { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" });
    expect(res.status).toBe(401);
    const live = await signup("live-noredis");
    const ok = await call("/v1/me", { headers: { authorization: `Bearer ${live.body.access_token}` } }, { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" });
    expect(ok.status).toBe(200);
  });
});

describe("account settings", () => {
  it("names a malformed account-security variable instead of guessing (500 CONFIG_INVALID)", async () => {
    const a = await signup("bad-setting");
    const res = await call("/v1/me", { headers: { authorization: `Bearer ${a.body.access_token}` } }, { AUTH_REVOCATION_CONFIRM_SECONDS: "soon" } as Partial<Record<keyof Env, string>>);
    expect(res.status).toBe(500);
    const body = await json<ErrorBody>(res);
    expect(body.error.code).toBe("CONFIG_INVALID");
    expect(body.error.message).toContain("AUTH_REVOCATION_CONFIRM_SECONDS");
  });
});

describe("revocation survives a Redis blip", () => {
  it("a logout while Redis is unreachable still cuts the access token off once Redis is back", { timeout: 30_000 }, async () => {
    const confirm = { AUTH_REVOCATION_CONFIRM_SECONDS: "1" } as Partial<Record<keyof Env, string>>;
    const a = await signup("blip");
    const meWith = (o: Partial<Record<keyof Env, string>>) => call("/v1/me", { headers: { authorization: `Bearer ${a.body.access_token}` } }, { ...confirm, ...o });
    // A check while Redis is up leaves a short "confirmed live" answer in Redis.
    expect((await meWith({})).status).toBe(200);
    const out = await call(
      "/v1/auth/logout",
      { method: "POST", headers: { cookie: sessionCookies(a.cookies), "x-csrf-token": a.cookies.nb_csrf ?? "" } },
      { ...confirm, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" },
    );
    expect(out.status).toBe(204);
    // Redis is back but never got the mark: the token must still be refused.
    const after = await meWith({});
    expect(after.status).toBe(401);
    expect((await json<ErrorBody>(after)).error.code).toBe("TOKEN_REVOKED");
    // The check repaired the mark: Redis alone now says revoked.
    const claims = JSON.parse(atob((a.body.access_token.split(".")[1] ?? "").replaceAll("-", "+").replaceAll("_", "/"))) as { sid: string };
    const mark = await redis<string | null>("GET", `${env.CACHE_NAMESPACE}:auth:revoked:${claims.sid}`);
    expect(mark).toBe("1");
  });

  it("log out everywhere while Redis is unreachable still cuts every token off once Redis is back", { timeout: 30_000 }, async () => {
    const confirm = { AUTH_REVOCATION_CONFIRM_SECONDS: "1" } as Partial<Record<keyof Env, string>>;
    const a = await signup("blip-all");
    expect((await call("/v1/me", { headers: { authorization: `Bearer ${a.body.access_token}` } }, confirm)).status).toBe(200);
    const all = await call("/v1/auth/logout-all", { method: "POST", headers: { authorization: `Bearer ${a.body.access_token}` } }, { ...confirm, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" });
    expect(all.status).toBe(204);
    expect((await call("/v1/me", { headers: { authorization: `Bearer ${a.body.access_token}` } }, confirm)).status).toBe(401);
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
    const login = await sessionOf(await post("/v1/auth/login", { email: email("staff-role"), password: PASSWORD }));
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
