/**
 * OWASP API Security Top 10 (2023) checks that apply so far: BOLA/IDOR (API1) on addresses, broken authentication
 * (API2: lockout of the owner, device cookies, the MFA step, user enumeration; see also test/worker/auth.test.ts
 * for tokens, CSRF and refresh, test/worker/mfa.test.ts for MFA), broken object property level authorization /
 * mass assignment (API3), unrestricted resource consumption (API4: addresses, mail floods), broken function level
 * authorization (API5) over every staff route.
 */
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { signValue } from "../../workers/platform/signing";
import { app } from "../../workers/app";
import { call, json, nextIp, postJson, sql, waitForMail } from "../worker/helpers";
import type { ErrorBody } from "../worker/helpers";
import { cookiesOf, dataOf, loginWith, postFresh, registerAndLogin } from "../worker/accounts-helpers";
import { totpCode } from "../../workers/accounts/totp";

const run = crypto.randomUUID().slice(0, 8);
const PASSWORD = "vK9#qL2$wX7!zR4p-secure";

async function newUser(tag: string): Promise<{ id: string; token: string }> {
  const { body } = await registerAndLogin(`${tag}-${run}@example.com`, PASSWORD);
  return { id: body.user.id, token: body.access_token };
}

const authed = (token: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(init.headers ?? {}) },
});

const ADDRESS = { name: "Ada Lovelace", line1: "12 St James's Square", city: "London", postal_code: "SW1Y 4JH", country: "GB", phone: "+442079460000" };

describe("API3 property level: an address edit meets the rules of a new address", () => {
  it("moving a saved address to the US without a valid region is 400 and changes nothing; with one it is saved", async () => {
    const ada = await newUser("region");
    const created = await call("/v1/me/addresses", authed(ada.token, { method: "POST", body: JSON.stringify(ADDRESS) }));
    const addr = (await json<{ data: { id: string } }>(created)).data;
    for (const change of [{ country: "US" }, { country: "US", region: "ZZ" }, { country: "CA", region: "CA" }]) {
      const res = await call(`/v1/me/addresses/${addr.id}`, authed(ada.token, { method: "PATCH", body: JSON.stringify(change) }));
      expect(res.status, JSON.stringify(change)).toBe(400);
      expect((await json<ErrorBody>(res)).error.code).toBe("VALIDATION_FAILED");
    }
    const list = await json<{ data: { id: string; country: string }[] }>(await call("/v1/me/addresses", authed(ada.token)));
    expect(list.data.find((a) => a.id === addr.id)?.country).toBe("GB");
    const moved = await call(`/v1/me/addresses/${addr.id}`, authed(ada.token, { method: "PATCH", body: JSON.stringify({ country: "US", region: "NY", postal_code: "10001", city: "New York" }) }));
    expect(moved.status).toBe(200);
  });
});

describe("API1 object level authorization (IDOR)", () => {
  it("answers 404 for another user's address on read, change and delete, and never lists it", async () => {
    const alice = await newUser("alice");
    const mallory = await newUser("mallory");
    const created = await call("/v1/me/addresses", authed(alice.token, { method: "POST", body: JSON.stringify(ADDRESS) }));
    expect(created.status).toBe(201);
    const addr = (await json<{ data: { id: string; default_shipping: boolean } }>(created)).data;
    expect(addr.default_shipping).toBe(true);

    const patch = await call(`/v1/me/addresses/${addr.id}`, authed(mallory.token, { method: "PATCH", body: JSON.stringify({ city: "Elsewhere" }) }));
    expect(patch.status).toBe(404);
    const del = await call(`/v1/me/addresses/${addr.id}`, authed(mallory.token, { method: "DELETE" }));
    expect(del.status).toBe(404);
    const list = await json<{ data: { id: string }[] }>(await call("/v1/me/addresses", authed(mallory.token)));
    expect(list.data.map((a) => a.id)).not.toContain(addr.id);
    const mine = await json<{ data: { id: string; city: string }[] }>(await call("/v1/me/addresses", authed(alice.token)));
    expect(mine.data.find((a) => a.id === addr.id)?.city).toBe("London");
  });

  it("stores phone numbers and addresses only encrypted, bound to their owner", async () => {
    const bob = await newUser("bob");
    await call("/v1/me", authed(bob.token, { method: "PATCH", body: JSON.stringify({ phone: "+14155550123", name: "Bob" }) }));
    const [row] = await sql<{ phone_enc: string }>("primary", "select phone_enc from users where id = $1", [bob.id]);
    expect(row?.phone_enc).toMatch(/^v1\.[a-z0-9]+\./);
    expect(row?.phone_enc).not.toContain("4155550123");
    const me = await json<{ data: { phone: string; name: string } }>(await call("/v1/me", authed(bob.token)));
    expect(me.data.phone).toBe("+14155550123");
    await call("/v1/me/addresses", authed(bob.token, { method: "POST", body: JSON.stringify(ADDRESS) }));
    const [addr] = await sql<{ data_enc: string }>("primary", "select data_enc from addresses where user_id = $1", [bob.id]);
    expect(addr?.data_enc).not.toContain("Lovelace");
    const audits = await sql<{ after: unknown }>("primary", "select after from audit_log where target_id = $1", [bob.id]);
    expect(JSON.stringify(audits)).not.toContain("4155550123");
  });
});

describe("API2 broken authentication: nobody can lock the owner out", () => {
  const wrong = (email: string, n: number): Promise<Response[]> =>
    Promise.all(Array.from({ length: n }, (_, i) => loginWith(email, `attacker-guess-${i}-password`)));

  it("an attacker's failed logins throttle untrusted clients, but the owner's device cookie still gets in", { timeout: 60_000 }, async () => {
    const email = `lockout-${run}@example.com`;
    const owner = await registerAndLogin(email, PASSWORD);
    const device = owner.cookies.nb_device ?? "";
    expect(device).toMatch(/\./);
    expect(owner.res.headers.getSetCookie().find((l) => l.startsWith("nb_device="))).toMatch(/HttpOnly.*SameSite=Strict|SameSite=Strict.*HttpOnly/);
    // Ten wrong passwords from all over the internet, then some more.
    for (let i = 0; i < 12; i++) await loginWith(email, `attacker-guess-${i}-password`);
    const untrusted = await loginWith(email, PASSWORD);
    expect(untrusted.status).toBe(429);
    const trusted = await loginWith(email, PASSWORD, `nb_device=${device}`);
    expect(trusted.status, await trusted.clone().text()).toBe(200);
    expect(cookiesOf(trusted).nb_device).toBeTruthy();
    // A forged cookie, or another account's genuine one, earns no exemption.
    const forged = `${device.slice(0, device.lastIndexOf(".") + 1)}${"A".repeat(43)}`;
    expect((await loginWith(email, PASSWORD, `nb_device=${forged}`)).status).toBe(429);
    const mallory = await registerAndLogin(`lockout-mallory-${run}@example.com`, PASSWORD);
    expect((await loginWith(email, PASSWORD, `nb_device=${mallory.cookies.nb_device ?? ""}`)).status).toBe(429);
    // A genuinely signed cookie past its own expiry earns nothing either.
    const deviceId = (device.split(".")[0] ?? "").split("~")[1] ?? "";
    const expired = await signValue(env.COOKIE_SECRET, "device", `${owner.body.user.id}~${deviceId}~${Math.floor(Date.now() / 1000) - 60}`);
    expect((await loginWith(email, PASSWORD, `nb_device=${expired}`)).status).toBe(429);
  });

  it("a device's failures count against the device, not the account; a device that fails too often is locked", { timeout: 60_000 }, async () => {
    const email = `device-fail-${run}@example.com`;
    const owner = await registerAndLogin(email, PASSWORD);
    const cookie = `nb_device=${owner.cookies.nb_device ?? ""}`;
    const limits = { AUTH_DEVICE_MAX_FAILURES: "6" } as Partial<Record<keyof Env, string>>;
    for (let i = 0; i < 5; i++) expect((await loginWith(email, `typo-${i}-password`, cookie, limits)).status).toBe(401);
    // Five failures on the device leave the account untouched: an untrusted client is not backing off.
    expect((await loginWith(email, PASSWORD, "", limits)).status).toBe(200);
    await wrong(email, 12);
    // The device backs off on its own count (5 failures → 1 s), and after its sixth failure it is locked: its
    // cookie no longer exempts it from the account's limit, which the attacker has used up.
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await loginWith(email, "one-more-typo-password", cookie, limits)).status).toBe(401);
    expect((await loginWith(email, PASSWORD, cookie, limits)).status).toBe(429);
  });

  it("an attacker who knows the password cannot lock the owner's device out of the MFA step", { timeout: 60_000 }, async () => {
    const email = `mfa-lockout-${run}@example.com`;
    const owner = await registerAndLogin(email, PASSWORD);
    const enrol = await postJson("/v1/me/mfa/totp", { password: PASSWORD }, { token: owner.body.access_token });
    const { secret } = (await json<{ data: { secret: string } }>(enrol)).data;
    const confirm = await postJson("/v1/me/mfa/totp/confirm", { password: PASSWORD, code: await totpCode(secret, Date.now()) }, { token: owner.body.access_token });
    const recovery = (await json<{ data: { recovery_codes: string[] } }>(confirm)).data.recovery_codes;
    const mfaToken = async (cookie = ""): Promise<string> => (await dataOf<{ mfa_token: string }>(await loginWith(email, PASSWORD, cookie))).mfa_token;
    const mfa = (token: string, code: string, cookie = ""): Promise<Response> =>
      call("/v1/auth/login/mfa", { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": nextIp(), ...(cookie ? { cookie } : {}) }, body: JSON.stringify({ mfa_token: token, code }) });
    // The owner signs in fully once on this device: the device cookie comes with the session.
    const first = await mfa(await mfaToken(), recovery[0] as string);
    expect(first.status).toBe(200);
    const cookie = `nb_device=${cookiesOf(first).nb_device ?? ""}`;
    // The attacker burns the account's MFA attempts.
    const token = await mfaToken();
    for (let i = 0; i < 6; i++) await mfa(token, `00000${i}`);
    expect((await mfa(await mfaToken(), recovery[1] as string)).status).toBe(429);
    // The owner's device is judged on its own attempts.
    const mine = await mfa(await mfaToken(cookie), recovery[2] as string, cookie);
    expect(mine.status, await mine.clone().text()).toBe(200);
  });
});

describe("API2 broken authentication: no user enumeration", () => {
  it("sign-up answers a taken address exactly like a free one, and the owner is told by email", async () => {
    const taken = `enum-taken-${run}@example.com`;
    await registerAndLogin(taken, PASSWORD);
    const again = await postFresh("/v1/auth/signup", { email: taken.toUpperCase(), password: "another-Passphrase-42x!", name: "Attacker text: visit evil.example" });
    const fresh = await postFresh("/v1/auth/signup", { email: `enum-free-${run}@example.com`, password: "another-Passphrase-42x!", name: "Attacker text: visit evil.example" });
    expect(again.status).toBe(fresh.status);
    expect(await again.json()).toEqual(await fresh.json());
    const sessionCookie = (r: Response) => r.headers.getSetCookie().filter((l) => /^nb_(refresh|csrf|device)=/.test(l));
    expect(sessionCookie(again)).toEqual(sessionCookie(fresh));
    // The attempt changed nothing on the account, and its owner heard about it.
    const [row] = await sql<{ name: string | null }>("primary", "select name from users where email_normalized = $1", [taken]);
    expect(row?.name).toBeNull();
    expect((await loginWith(taken, "another-Passphrase-42x!")).status).toBe(401);
    const mail = await waitForMail(taken, "Someone tried to sign up with your address");
    expect(mail.text + mail.html).not.toMatch(/evil\.example|Attacker/);
  });

  it("two concurrent sign-ups for one new address both get the uniform answer, and make one account", async () => {
    const address = `enum-race-${run}@example.com`;
    const [a, b] = await Promise.all([0, 1].map(() => postFresh("/v1/auth/signup", { email: address, password: PASSWORD })));
    expect([a?.status, b?.status]).toEqual([202, 202]);
    expect(await a?.json()).toEqual(await b?.json());
    const [n] = await sql<{ n: string }>("primary", "select count(*) as n from users where email_normalized = $1", [address]);
    expect(Number(n?.n)).toBe(1);
  });

  it("a password reset request does the same work for unknown and known addresses", async () => {
    const known = `enum-reset-${run}@example.com`;
    const unknown = `enum-nobody-${run}@example.com`;
    await registerAndLogin(known, PASSWORD);
    const a = await postJson("/v1/auth/password-reset/request", { email: known });
    const b = await postJson("/v1/auth/password-reset/request", { email: unknown });
    expect(a.status).toBe(202);
    expect(await a.json()).toEqual(await b.json());
    // One outbox job and one audit row each: the branches cannot be told apart by what (and how long) they do.
    for (const address of [known, unknown]) {
      const [jobs] = await sql<{ n: string }>("primary", "select count(*) as n from outbox where task_name = 'email.password_reset_request' and payload->>'email' = $1", [address]);
      expect(Number(jobs?.n), address).toBe(1);
    }
    const audits = await sql<{ n: string }>("primary", "select count(*) as n from audit_log where action = 'auth.password_reset_requested' and request_id = any($1::text[])", [
      [a.headers.get("x-request-id"), b.headers.get("x-request-id")],
    ]);
    expect(Number(audits[0]?.n)).toBe(2);
    await waitForMail(known, "Reset your password");
  });
});

describe("API3 mass assignment", () => {
  it("rejects role, email_verified, status and id in profile and address bodies", async () => {
    const carol = await newUser("carol");
    for (const body of [{ role: "admin" }, { email_verified: true }, { status: "active", name: "x" }, { name: "x", id: "00000000-0000-0000-0000-000000000000" }]) {
      const res = await call("/v1/me", authed(carol.token, { method: "PATCH", body: JSON.stringify(body) }));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await json<ErrorBody>(res)).error.code).toBe("UNKNOWN_FIELD");
    }
    const addr = await call("/v1/me/addresses", authed(carol.token, { method: "POST", body: JSON.stringify({ ...ADDRESS, user_id: carol.id }) }));
    expect(addr.status).toBe(400);
    const [row] = await sql<{ role: string }>("primary", "select role from users where id = $1", [carol.id]);
    expect(row?.role).toBe("customer");
  });
});

describe("API4 resource consumption", () => {
  it("caps addresses per account", async () => {
    const dave = await newUser("dave");
    for (let i = 0; i < 20; i++) {
      const res = await call("/v1/me/addresses", authed(dave.token, { method: "POST", body: JSON.stringify({ ...ADDRESS, label: `a${i}` }) }));
      expect(res.status).toBe(201);
    }
    const over = await call("/v1/me/addresses", authed(dave.token, { method: "POST", body: JSON.stringify(ADDRESS) }));
    expect(over.status).toBe(409);
    expect((await json<ErrorBody>(over)).error.code).toBe("TOO_MANY_ADDRESSES");
  });
});

describe("API4 resource consumption: per-IP limits key on the trusted client IP", () => {
  // Behind a proxy that is not Cloudflare, CF-Connecting-IP is just a header the client writes: rotating it must not
  // buy a fresh budget. postJson sends a new cf-connecting-ip with every request; only x-real-ip is trusted here.
  const behindProxy = { CLIENT_IP_HEADER: "x-real-ip" } as Partial<Record<keyof Env, string>>;
  // The limit's window is an hour and outlives the test run: an address no earlier run used (nextIp() repeats per run).
  const freshV6 = (): string => `2001:db8:${crypto.randomUUID().slice(0, 4)}:${crypto.randomUUID().slice(0, 4)}::1`;

  it("password-reset requests: 10 per hour per client IP, however the untrusted header rotates", async () => {
    const ip = freshV6();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await postJson("/v1/auth/password-reset/request", { email: `ipflood-${i}-${run}@example.com` }, { headers: { "x-real-ip": ip }, overrides: behindProxy });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 10)).toEqual(Array<number>(10).fill(202));
    expect(statuses[10]).toBe(429);
    // Another trusted address still has its own budget.
    expect((await postJson("/v1/auth/password-reset/request", { email: `ipflood-x-${run}@example.com` }, { headers: { "x-real-ip": freshV6() }, overrides: behindProxy })).status).toBe(202);
  });
});

describe("API4 resource consumption: mail floods", () => {
  it("sends at most 5 account mails per address per hour, however many sign-ups name it", { timeout: 60_000 }, async () => {
    const victim = `flood-${run}@example.com`;
    await postFresh("/v1/auth/signup", { email: victim, password: PASSWORD });
    for (let i = 0; i < 6; i++) expect((await postFresh("/v1/auth/signup", { email: victim, password: PASSWORD })).status).toBe(202);
    // Wait until the consumer has handled all 7 jobs (sent or suppressed), then count what reached the mailbox.
    const deadline = Date.now() + 30_000;
    let handled = 0;
    while (Date.now() < deadline && handled < 7) {
      const [n] = await sql<{ n: string }>(
        "primary",
        `select count(*) as n from email_deliveries d join outbox o on o.id = d.job_id
         where o.payload->>'user_id' = (select id::text from users where email_normalized = $1)`,
        [victim],
      );
      handled = Number(n?.n);
      if (handled < 7) await new Promise((r) => setTimeout(r, 250));
    }
    expect(handled).toBe(7);
    const [mails] = await sql<{ n: string }>("primary", "select count(*) as n from dev_mailbox where to_address = $1", [victim]);
    expect(Number(mails?.n)).toBe(5);
  });
});

describe("API5 function level authorization", () => {
  // Enumerates the app's own route table, so a staff route added later cannot be forgotten here.
  const staffRoutes = app.routes.filter((r) => r.path.startsWith("/v1/admin") && r.method !== "ALL");

  it("has staff routes to check", () => {
    expect(staffRoutes.length).toBeGreaterThan(0);
  });

  it("denies every staff route to anonymous callers (401) and customers (403)", async () => {
    const erin = await newUser("erin");
    for (const r of staffRoutes) {
      const path = r.path.replace(/:sku/g, "BK00001-PB").replace(/:[a-z_]+/g, "00000000-0000-0000-0000-000000000000");
      const init: RequestInit = { method: r.method, headers: { "content-type": "application/json" }, body: r.method === "GET" ? null : "{}" };
      const anon = await call(path, init);
      expect(anon.status, `${r.method} ${r.path} anonymous`).toBe(401);
      const customer = await call(path, authed(erin.token, init));
      expect(customer.status, `${r.method} ${r.path} customer`).toBe(403);
    }
  });
});
