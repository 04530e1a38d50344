import { describe, expect, it } from "vitest";
import { call, json, postJson, sql } from "./helpers";
import type { ErrorBody } from "./helpers";
import { totpCode } from "../../workers/accounts/totp";
import { dataOf, registerAndLogin, sessionOf } from "./accounts-helpers";

const run = crypto.randomUUID().slice(0, 8);
const PASSWORD = "vK9#qL2$wX7!zR4p-ledger";

const post = (path: string, body: unknown, token?: string): Promise<Response> => postJson(path, body, { token });

async function userWithMfa(tag: string): Promise<{ email: string; token: string; secret: string; recovery: string[]; confirmedAt: number }> {
  const email = `${tag}-${run}@example.com`;
  const signup = (await registerAndLogin(email, PASSWORD)).body;
  const enrol = await post("/v1/me/mfa/totp", { password: PASSWORD }, signup.access_token);
  expect(enrol.status).toBe(201);
  const { data } = await json<{ data: { secret: string; otpauth_uri: string } }>(enrol);
  expect(data.otpauth_uri).toMatch(/^otpauth:\/\/totp\/NexusBooks:.+\?secret=[A-Z2-7]+&issuer=NexusBooks/);
  const wrong = await post("/v1/me/mfa/totp/confirm", { password: PASSWORD, code: "000000" }, signup.access_token);
  expect(wrong.status).toBe(400);
  expect((await json<ErrorBody>(wrong)).error.code).toBe("INVALID_MFA_CODE");
  const confirmedAt = Date.now();
  const confirm = await post("/v1/me/mfa/totp/confirm", { password: PASSWORD, code: await totpCode(data.secret, confirmedAt) }, signup.access_token);
  expect(confirm.status).toBe(200);
  const recovery = (await json<{ data: { recovery_codes: string[] } }>(confirm)).data.recovery_codes;
  return { email, token: signup.access_token, secret: data.secret, recovery, confirmedAt };
}

async function passwordStep(email: string): Promise<string> {
  const res = await post("/v1/auth/login", { email, password: PASSWORD });
  expect(res.status).toBe(200);
  expect(res.headers.getSetCookie().join("")).not.toContain("nb_refresh");
  const body = await dataOf<{ mfa_required: boolean; mfa_token: string; expires_in: number; access_token?: string }>(res);
  expect(body.mfa_required).toBe(true);
  expect(body.access_token).toBeUndefined();
  expect(body.expires_in).toBe(300);
  return body.mfa_token;
}

describe("TOTP two-factor authentication", () => {
  it("enrols with a confirmed code, stores the secret encrypted and recovery codes hashed", async () => {
    const u = await userWithMfa("enrol");
    expect(u.recovery).toHaveLength(10);
    const [row] = await sql<{ mfa_enabled: boolean; mfa_secret_enc: string }>("primary", "select mfa_enabled, mfa_secret_enc from users where email_normalized = $1", [u.email]);
    expect(row?.mfa_enabled).toBe(true);
    expect(row?.mfa_secret_enc).toMatch(/^v1\./);
    expect(row?.mfa_secret_enc).not.toContain(u.secret);
    const codes = await sql<{ code_hash: string }>("primary", "select code_hash from mfa_recovery_codes r join users u on u.id = r.user_id where u.email_normalized = $1", [u.email]);
    expect(codes).toHaveLength(10);
    for (const c of codes) expect(u.recovery.map((x) => x.replace("-", ""))).not.toContain(c.code_hash);
    const again = await post("/v1/me/mfa/totp", { password: PASSWORD }, u.token);
    expect(again.status).toBe(409);
  });

  it("asks for the second factor after the password, refuses a replayed code, and accepts the next one", async () => {
    const u = await userWithMfa("login");
    const mfaToken = await passwordStep(u.email);
    // The MFA token is not an access token.
    expect((await call("/v1/me", { headers: { authorization: `Bearer ${mfaToken}` } })).status).toBe(401);
    // The enrolment code's step is used up: the same code cannot log in (times are pinned to the enrolment's step,
    // so crossing a 30 s boundary mid-test cannot change the outcome).
    const sameStep = await post("/v1/auth/login/mfa", { mfa_token: mfaToken, code: await totpCode(u.secret, u.confirmedAt) });
    expect(sameStep.status).toBe(401);
    const nextCode = await totpCode(u.secret, u.confirmedAt + 30_000);
    const next = await post("/v1/auth/login/mfa", { mfa_token: mfaToken, code: nextCode });
    expect(next.status).toBe(200);
    const session = await sessionOf(next);
    expect((await call("/v1/me", { headers: { authorization: `Bearer ${session.access_token}` } })).status).toBe(200);
    // The MFA token is spent; a fresh one with the same code meets the replay check.
    const spent = await post("/v1/auth/login/mfa", { mfa_token: mfaToken, code: nextCode });
    expect(spent.status).toBe(401);
    expect((await json<ErrorBody>(spent)).error.code).toBe("INVALID_MFA_TOKEN");
    const replay = await post("/v1/auth/login/mfa", { mfa_token: await passwordStep(u.email), code: nextCode });
    expect(replay.status).toBe(401);
    expect((await json<ErrorBody>(replay)).error.code).toBe("MFA_CODE_REJECTED");
  });

  it("accepts each recovery code once", async () => {
    const u = await userWithMfa("recovery");
    const code = u.recovery[0] as string;
    const first = await post("/v1/auth/login/mfa", { mfa_token: await passwordStep(u.email), code: code.toUpperCase() });
    expect(first.status).toBe(200);
    const second = await post("/v1/auth/login/mfa", { mfa_token: await passwordStep(u.email), code });
    expect(second.status).toBe(401);
    const bogus = await post("/v1/auth/login/mfa", { mfa_token: "not.a.token", code });
    expect((await json<ErrorBody>(bogus)).error.code).toBe("INVALID_MFA_TOKEN");
  });

  it("disables only with the password and a code; then login is one step again", async () => {
    const u = await userWithMfa("disable");
    const badPassword = await post("/v1/me/mfa/totp/disable", { password: "wrong-password-x", code: u.recovery[1] }, u.token);
    expect(badPassword.status).toBe(400);
    const ok = await post("/v1/me/mfa/totp/disable", { password: PASSWORD, code: u.recovery[1] }, u.token);
    expect(ok.status).toBe(204);
    const login = await dataOf<{ access_token?: string; mfa_required?: boolean }>(await post("/v1/auth/login", { email: u.email, password: PASSWORD }));
    expect(login.mfa_required).toBeUndefined();
    expect(login.access_token).toBeTruthy();
    const audits = await sql<{ action: string }>(
      "primary",
      "select action from audit_log a join users u on u.id::text = a.target_id where u.email_normalized = $1 order by a.id",
      [u.email],
    );
    const actions = audits.map((a) => a.action);
    expect(actions).toContain("auth.mfa_enabled");
    expect(actions).toContain("auth.mfa_disabled");
  });

  it("enrolment and confirmation (which hands out recovery codes) need the password, not just a bearer token", async () => {
    const { body } = await registerAndLogin(`reauth-${run}@example.com`, PASSWORD);
    const bare = await post("/v1/me/mfa/totp", {}, body.access_token);
    expect(bare.status).toBe(400);
    const wrongPassword = await post("/v1/me/mfa/totp", { password: "not-the-password-123" }, body.access_token);
    expect(wrongPassword.status).toBe(403);
    expect((await json<ErrorBody>(wrongPassword)).error.code).toBe("REAUTHENTICATION_FAILED");
    const [row] = await sql<{ pending: boolean }>("primary", "select mfa_pending_enc is not null as pending from users where id = $1", [body.user.id]);
    expect(row?.pending).toBe(false);
    const enrol = await post("/v1/me/mfa/totp", { password: PASSWORD }, body.access_token);
    const { secret } = (await json<{ data: { secret: string } }>(enrol)).data;
    const code = await totpCode(secret, Date.now());
    expect((await post("/v1/me/mfa/totp/confirm", { code }, body.access_token)).status).toBe(400);
    const noPass = await post("/v1/me/mfa/totp/confirm", { password: "not-the-password-123", code }, body.access_token);
    expect(noPass.status).toBe(403);
    const [after] = await sql<{ mfa_enabled: boolean; codes: string }>("primary", "select mfa_enabled, (select count(*) from mfa_recovery_codes where user_id = $1) as codes from users where id = $1", [body.user.id]);
    expect(after).toEqual({ mfa_enabled: false, codes: "0" });
  });

  it("limits wrong confirmation codes (429 after 5 in 5 minutes)", async () => {
    const { body } = await registerAndLogin(`confirm-limit-${run}@example.com`, PASSWORD);
    await post("/v1/me/mfa/totp", { password: PASSWORD }, body.access_token);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post("/v1/me/mfa/totp/confirm", { password: PASSWORD, code: `99999${i}` }, body.access_token)).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
  });

  it("one mfa_token gives at most one session, even to two concurrent requests with two valid codes", async () => {
    const u = await userWithMfa("single-use");
    const mfaToken = await passwordStep(u.email);
    const [a, b] = await Promise.all([
      post("/v1/auth/login/mfa", { mfa_token: mfaToken, code: u.recovery[3] }),
      post("/v1/auth/login/mfa", { mfa_token: mfaToken, code: u.recovery[4] }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 401]);
    const loser = a.status === 401 ? a : b;
    expect((await json<ErrorBody>(loser)).error.code).toBe("INVALID_MFA_TOKEN");
    // Sequentially too: the spent token gets nothing with a third valid code.
    const again = await post("/v1/auth/login/mfa", { mfa_token: mfaToken, code: u.recovery[5] });
    expect(again.status).toBe(401);
    const [families] = await sql<{ n: string }>(
      "primary",
      "select count(distinct family_id) as n from refresh_tokens r join users u on u.id = r.user_id where u.email_normalized = $1",
      [u.email],
    );
    // One from sign-in before enrolment, one from this MFA login.
    expect(Number(families?.n)).toBe(2);
  });
});
