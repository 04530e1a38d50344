import { describe, expect, it } from "vitest";
import { call, json, postJson, sql } from "./helpers";
import type { ErrorBody } from "./helpers";
import { totpCode } from "../../workers/accounts/totp";

const run = crypto.randomUUID().slice(0, 8);
const PASSWORD = "vK9#qL2$wX7!zR4p-ledger";

const post = (path: string, body: unknown, token?: string): Promise<Response> => postJson(path, body, { token });

async function userWithMfa(tag: string): Promise<{ email: string; token: string; secret: string; recovery: string[]; confirmedAt: number }> {
  const email = `${tag}-${run}@example.com`;
  const signup = await json<{ access_token: string }>(await post("/v1/auth/signup", { email, password: PASSWORD }));
  const enrol = await post("/v1/me/mfa/totp", {}, signup.access_token);
  expect(enrol.status).toBe(201);
  const { data } = await json<{ data: { secret: string; otpauth_uri: string } }>(enrol);
  expect(data.otpauth_uri).toMatch(/^otpauth:\/\/totp\/NexusBooks:.+\?secret=[A-Z2-7]+&issuer=NexusBooks/);
  const wrong = await post("/v1/me/mfa/totp/confirm", { code: "000000" }, signup.access_token);
  expect(wrong.status).toBe(400);
  expect((await json<ErrorBody>(wrong)).error.code).toBe("INVALID_MFA_CODE");
  const confirmedAt = Date.now();
  const confirm = await post("/v1/me/mfa/totp/confirm", { code: await totpCode(data.secret, confirmedAt) }, signup.access_token);
  expect(confirm.status).toBe(200);
  const recovery = (await json<{ data: { recovery_codes: string[] } }>(confirm)).data.recovery_codes;
  return { email, token: signup.access_token, secret: data.secret, recovery, confirmedAt };
}

async function passwordStep(email: string): Promise<string> {
  const res = await post("/v1/auth/login", { email, password: PASSWORD });
  expect(res.status).toBe(200);
  expect(res.headers.getSetCookie().join("")).not.toContain("nb_refresh");
  const body = await json<{ mfa_required: boolean; mfa_token: string; access_token?: string }>(res);
  expect(body.mfa_required).toBe(true);
  expect(body.access_token).toBeUndefined();
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
    const again = await post("/v1/me/mfa/totp", {}, u.token);
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
    const session = await json<{ access_token: string }>(next);
    expect((await call("/v1/me", { headers: { authorization: `Bearer ${session.access_token}` } })).status).toBe(200);
    const replay = await post("/v1/auth/login/mfa", { mfa_token: mfaToken, code: nextCode });
    expect(replay.status).toBe(401);
    expect((await json<ErrorBody>(replay)).error.code).toBe("INVALID_MFA_CODE");
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
    const login = await json<{ access_token?: string; mfa_required?: boolean }>(await post("/v1/auth/login", { email: u.email, password: PASSWORD }));
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
});
