/**
 * The production email provider (Resend-compatible `POST /emails`) against a fake of Resend's API, passed in as the
 * provider's fetch. Resend's servers cannot be reached from these machines; the fake follows its API reference:
 * Bearer API key, JSON body with `from`, `to` (a string or up to 50), `subject`, `html`/`text` and no unknown
 * field (422 `validation_error`), the `Idempotency-Key` header (≤ 256 characters; the same key and body within 24 h
 * answer the first email's id without sending again, the same key with another body is 409
 * `invalid_idempotent_request`), errors as `{ statusCode, message, name }`.
 */
import { describe, expect, it } from "vitest";
import { httpEmailProvider } from "../../workers/email/provider";
import type { RenderedEmail } from "../../workers/email/templates";

const KEY = "re_test_123456789";
const KNOWN_FIELDS = new Set(["from", "to", "subject", "html", "text", "cc", "bcc", "reply_to", "headers", "attachments", "tags", "scheduled_at"]);

interface Sent {
  id: string;
  body: Record<string, unknown>;
}

function resendFake(opts: { failWith?: number } = {}): { fetch: typeof fetch; sent: Sent[] } {
  const sent: Sent[] = [];
  const byKey = new Map<string, { body: string; id: string }>();
  const error = (statusCode: number, name: string, message: string): Response =>
    Response.json({ statusCode, message, name }, { status: statusCode });
  const fake = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    if (req.method !== "POST" || url.pathname !== "/emails") return error(405, "method_not_allowed", `${req.method} ${url.pathname}`);
    if (req.headers.get("authorization") !== `Bearer ${KEY}`) return error(401, "missing_api_key", "Missing API key in the authorization header");
    if (!req.headers.get("content-type")?.startsWith("application/json")) return error(422, "validation_error", "Content-Type must be application/json");
    const key = req.headers.get("idempotency-key");
    if (key !== null && (key.length === 0 || key.length > 256)) return error(422, "invalid_idempotency_key", "The key must be between 1-256 chars");
    if (opts.failWith) return error(opts.failWith, opts.failWith === 429 ? "rate_limit_exceeded" : "application_error", "Try again later");
    const raw = await req.text();
    const body = JSON.parse(raw) as Record<string, unknown>;
    const unknown = Object.keys(body).filter((k) => !KNOWN_FIELDS.has(k));
    if (unknown.length > 0) return error(422, "validation_error", `Unknown fields: ${unknown.join(", ")}`);
    for (const f of ["from", "to", "subject"]) if (body[f] === undefined) return error(422, "missing_required_field", `Missing \`${f}\` field.`);
    const to = Array.isArray(body.to) ? body.to : [body.to];
    if (to.length === 0 || to.length > 50 || to.some((t) => typeof t !== "string" || !t.includes("@"))) return error(422, "validation_error", "Invalid `to` field.");
    if (typeof body.html !== "string" && typeof body.text !== "string") return error(422, "validation_error", "Missing `html` or `text` field.");
    if (key !== null) {
      const earlier = byKey.get(key);
      if (earlier && earlier.body !== raw) return error(409, "invalid_idempotent_request", "Same idempotency key used with a different request payload.");
      if (earlier) return Response.json({ id: earlier.id });
    }
    const id = crypto.randomUUID();
    sent.push({ id, body });
    if (key !== null) byKey.set(key, { body: raw, id });
    return Response.json({ id });
  };
  return { fetch: fake, sent };
}

const email: RenderedEmail = { to: "reader@example.com", subject: "Your order NB-000042", html: "<p>Thanks</p>", text: "Thanks" };
const noTx = { execute: () => Promise.reject(new Error("the HTTP provider never touches the database")) } as never;

describe("HTTP email provider against a Resend API fake", () => {
  it("sends one email per job, with the job id as the idempotency key, even when the job is redelivered", async () => {
    const fake = resendFake();
    const provider = httpEmailProvider({ url: "https://api.resend.test/", key: KEY }, "NexusBooks <orders@nexusbooks.example>", fake.fetch);
    const jobId = crypto.randomUUID();
    await provider.send(noTx, jobId, email);
    await provider.send(noTx, jobId, email);
    expect(fake.sent).toHaveLength(1);
    expect(fake.sent[0]?.body).toEqual({ from: "NexusBooks <orders@nexusbooks.example>", to: ["reader@example.com"], subject: email.subject, html: email.html, text: email.text });
    await provider.send(noTx, crypto.randomUUID(), email);
    expect(fake.sent).toHaveLength(2);
  });

  it("throws on an error answer so the queue retries the job, then dead-letters it", async () => {
    for (const status of [429, 500]) {
      const provider = httpEmailProvider({ url: "https://api.resend.test", key: KEY }, "orders@nexusbooks.example", resendFake({ failWith: status }).fetch);
      await expect(provider.send(noTx, crypto.randomUUID(), email)).rejects.toThrow(`email API answered ${status}`);
    }
    const wrongKey = httpEmailProvider({ url: "https://api.resend.test", key: "re_wrong" }, "orders@nexusbooks.example", resendFake().fetch);
    await expect(wrongKey.send(noTx, crypto.randomUUID(), email)).rejects.toThrow("email API answered 401");
  });
});
