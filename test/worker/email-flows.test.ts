import { describe, expect, it } from "vitest";
import { env, createExecutionContext, createMessageBatch, createScheduledController, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../workers/index";
import { call, deployedEnv, json, postJson, sql, waitForMail } from "./helpers";
import type { ErrorBody, Mail } from "./helpers";
import { postFresh, registerAndLogin, sessionOf } from "./accounts-helpers";

const run = crypto.randomUUID().slice(0, 8);
const PASSWORD = "vK9#qL2$wX7!zR4p-atlas";

const post = (path: string, body: unknown, token?: string): Promise<Response> => postJson(path, body, { token });

/** The part of the pool's FetcherQueueResult these tests read. */
interface QueueResult {
  explicitAcks: string[];
  retryMessages: { msgId: string }[];
}

const tokenIn = (mail: Mail): string => {
  const m = /token=([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!m) throw new Error("no token in the email");
  return m[1] as string;
};

describe("email verification", () => {
  it("sends a verification email through the outbox and the email queue, and the link works once", async () => {
    const email = `verify-${run}@example.com`;
    const signup = (await registerAndLogin(email, PASSWORD, { name: "Vera <b>Click here: evil.example</b>" })).body;
    const mail = await waitForMail(email, "Confirm your email address");
    // The address is unproven: nothing chosen at sign-up (the name) reaches the mail.
    expect(mail.html + mail.text).not.toMatch(/Vera|evil\.example/);
    expect(mail.text).toContain("http://localhost:3000/verify-email?token=");
    const token = tokenIn(mail);
    const [stored] = await sql<{ n: string }>("primary", "select count(*) as n from user_tokens where token_hash = encode(sha256($1::bytea), 'hex')", [token]);
    expect(Number(stored?.n)).toBe(1);
    const [plain] = await sql<{ n: string }>("primary", "select count(*) as n from user_tokens where token_hash = $1", [token]);
    expect(Number(plain?.n)).toBe(0);

    expect((await post("/v1/auth/verify-email", { token })).status).toBe(204);
    const me = await json<{ data: { email_verified: boolean } }>(await call("/v1/me", { headers: { authorization: `Bearer ${signup.access_token}` } }));
    expect(me.data.email_verified).toBe(true);
    const again = await post("/v1/auth/verify-email", { token });
    expect(again.status).toBe(400);
    expect((await json<ErrorBody>(again)).error.code).toBe("INVALID_OR_EXPIRED_TOKEN");
    const [outbox] = await sql<{ dispatched: boolean }>(
      "primary",
      "select dispatched_at is not null as dispatched from outbox where task_name = 'email.verify_email' and payload->>'user_id' = (select id::text from users where email_normalized = $1)",
      [email],
    );
    expect(outbox?.dispatched).toBe(true);
  });

  it("sends one email per job even when the message is delivered three times", async () => {
    const email = `redeliver-${run}@example.com`;
    await postFresh("/v1/auth/signup", { email, password: PASSWORD });
    await waitForMail(email, "Confirm your email address");
    const [job] = await sql<{ id: string; payload: Record<string, unknown>; created_at: string }>(
      "primary",
      "select id, payload, to_json(created_at) #>> '{}' as created_at from outbox where task_name = 'email.verify_email' and payload->>'user_id' = (select id::text from users where email_normalized = $1)",
      [email],
    );
    const body = { task_name: "email.verify_email", job_id: job?.id, payload: job?.payload, created_at: job?.created_at, trace_id: null };
    const batch = createMessageBatch("nexusbooks-email", [
      { id: "a", timestamp: new Date(), attempts: 1, body },
      { id: "b", timestamp: new Date(), attempts: 2, body },
      { id: "c", timestamp: new Date(), attempts: 1, body },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    await waitOnExecutionContext(ctx);
    const result = (await getQueueResult(batch, ctx)) as unknown as QueueResult;
    expect(result.explicitAcks.sort()).toEqual(["a", "b", "c"]);
    const [count] = await sql<{ n: string }>("primary", "select count(*) as n from dev_mailbox where job_id = $1", [job?.id]);
    expect(Number(count?.n)).toBe(1);
  });

  it("retries a message it cannot process (then the dead-letter queue takes it), acking the rest", async () => {
    const batch = createMessageBatch("nexusbooks-email", [
      { id: "bad", timestamp: new Date(), attempts: 1, body: { task_name: "email.unknown", job_id: crypto.randomUUID(), payload: {}, created_at: "x", trace_id: null } },
      { id: "garbage", timestamp: new Date(), attempts: 3, body: "not an envelope" },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    await waitOnExecutionContext(ctx);
    const result = (await getQueueResult(batch, ctx)) as unknown as QueueResult;
    expect(result.retryMessages.map((m) => m.msgId).sort()).toEqual(["bad", "garbage"]);
    expect(result.explicitAcks).toEqual([]);
  });
});

describe("outbox sweep", () => {
  it("re-sends, from the cron handler, an outbox row whose dispatch after commit was lost", async () => {
    const email = `sweep-${run}@example.com`;
    await postFresh("/v1/auth/signup", { email, password: PASSWORD });
    await waitForMail(email, "Confirm your email address");
    // A second job whose post-commit dispatch never happened (the isolate died): undispatched and a minute old.
    const [user] = await sql<{ id: string }>("primary", "select id from users where email_normalized = $1", [email]);
    await sql("primary", "delete from user_tokens where user_id = $1", [user?.id]);
    await sql("primary", "update users set email_verified_at = null where id = $1", [user?.id]);
    const [row] = await sql<{ id: string }>(
      "primary",
      `insert into outbox (queue, task_name, payload, created_at) values ('email', 'email.verify_email', jsonb_build_object('user_id', $1::text), now() - interval '1 minute') returning id`,
      [user?.id],
    );
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const [after] = await sql<{ dispatched: boolean }>("primary", "select dispatched_at is not null as dispatched from outbox where id = $1", [row?.id]);
    expect(after?.dispatched).toBe(true);
    const deadline = Date.now() + 15_000;
    let delivered = 0;
    while (Date.now() < deadline && delivered === 0) {
      const [n] = await sql<{ n: string }>("primary", "select count(*) as n from dev_mailbox where job_id = $1", [row?.id]);
      delivered = Number(n?.n);
      if (delivered === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(delivered).toBe(1);
  });
});

describe("password reset", () => {
  it("answers the same for unknown emails, sends a single-use link, ends every session and takes the new password", async () => {
    const email = `reset-${run}@example.com`;
    const signup = (await registerAndLogin(email, PASSWORD)).body;
    const known = await post("/v1/auth/password-reset/request", { email: email.toUpperCase() });
    const unknown = await post("/v1/auth/password-reset/request", { email: `nobody-${run}@example.com` });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(await known.json()).toEqual(await unknown.json());
    const token = tokenIn(await waitForMail(email, "Reset your password"));

    const weak = await post("/v1/auth/password-reset", { token, password: "Password1!" });
    expect(weak.status).toBe(400);
    const NEW = "another-long-passphrase-77x";
    expect((await post("/v1/auth/password-reset", { token, password: NEW })).status).toBe(204);
    expect((await post("/v1/auth/password-reset", { token, password: "yet-another-passphrase-88y" })).status).toBe(400);
    expect((await call("/v1/me", { headers: { authorization: `Bearer ${signup.access_token}` } })).status).toBe(401);
    expect((await post("/v1/auth/login", { email, password: PASSWORD })).status).toBe(401);
    const relogin = await post("/v1/auth/login", { email, password: NEW });
    expect(relogin.status).toBe(200);
    expect((await sessionOf(relogin)).user.email).toBe(email);
  });

  it("hides the dev mailbox outside development and test", async () => {
    const res = await call("/dev/mailbox", {}, deployedEnv("staging"));
    expect(res.status).toBe(404);
  });
});
