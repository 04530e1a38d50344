/**
 * The staff dead-letter API: keyset pages newest first (ties broken by message id), filters, bounded `limit`, and
 * the refusals of re-drive (unknown message, a queue this Worker cannot send to). Rows are planted in the far future
 * so they lead every page, and removed afterwards.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, json, sql } from "./helpers";
import type { ErrorBody } from "./helpers";

const staff = { authorization: `Bearer ${ADMIN_TOKEN}` };
const run = crypto.randomUUID().slice(0, 8);
const ids = ["a", "b", "c"].map((s) => `dl-test-${run}-${s}`);
const stray = `dl-test-${run}-stray`;

interface Page {
  data: { id: string; queue: string; task_name: string | null; job_id: string | null; body: unknown; attempts: number; received_at: string; redriven_at: string | null }[];
  page: { limit: number; next_cursor: string | null; has_more: boolean };
}

afterAll(async () => {
  await sql("primary", "delete from dead_letters where message_id like $1", [`dl-test-${run}-%`]);
});

describe("GET /v1/admin/dead-letters", () => {
  it("pages newest first with a keyset cursor (same received_at: by message id), within the filters", async () => {
    for (const id of ids) {
      await sql("primary", "insert into dead_letters (message_id, queue, task_name, job_id, body, attempts, received_at) values ($1, 'email', 'email.send', null, $2::jsonb, 3, '2999-01-01T00:00:00.123456Z')", [
        id,
        JSON.stringify({ task_name: "email.send", job_id: id }),
      ]);
    }
    const first = await call("/v1/admin/dead-letters?queue=email&limit=2", { headers: staff });
    expect(first.status).toBe(200);
    const p1 = await json<Page>(first);
    expect(p1.data.map((d) => d.id)).toEqual([ids[2], ids[1]]);
    expect(p1.data[0]).toMatchObject({ queue: "email", task_name: "email.send", job_id: null, attempts: 3, redriven_at: null, body: { job_id: ids[2] } });
    expect(p1.data[0]?.received_at).toMatch(/^2999-01-01T00:00:00\.123456\+00:00$/);
    expect(p1.page).toMatchObject({ limit: 2, has_more: true });
    const p2 = await json<Page>(await call(`/v1/admin/dead-letters?queue=email&limit=2&cursor=${p1.page.next_cursor ?? ""}`, { headers: staff }));
    expect(p2.data[0]?.id).toBe(ids[0]);
    expect(p2.data.map((d) => d.id)).not.toContain(ids[1]);
    // Another queue's filter does not see them; the default page is 50.
    const other = await json<Page>(await call("/v1/admin/dead-letters?queue=inventory", { headers: staff }));
    expect(other.data.map((d) => d.id)).not.toContain(ids[0]);
    expect(other.page.limit).toBe(50);
  });

  it("refuses a forged cursor and an out-of-bounds limit", async () => {
    const forged = btoa(JSON.stringify(["not-a-number", "x"])).replace(/=+$/, "");
    for (const [query, code] of [
      [`cursor=${forged}`, "INVALID_CURSOR"],
      ["cursor=%21%21", "INVALID_CURSOR"],
      ["limit=0", "INVALID_LIMIT"],
      ["limit=101", "INVALID_LIMIT"],
      ["limit=ten", "INVALID_LIMIT"],
    ] as const) {
      const res = await call(`/v1/admin/dead-letters?${query}`, { headers: staff });
      expect(res.status, query).toBe(400);
      expect((await json<ErrorBody>(res)).error.code, query).toBe(code);
    }
    expect((await call("/v1/admin/dead-letters")).status).toBe(401);
  });
});

describe("POST /v1/admin/dead-letters/{id}/redrive", () => {
  it("an unknown id is 404 DEAD_LETTER_NOT_FOUND; a queue this Worker cannot send to is 409 QUEUE_UNKNOWN", async () => {
    const missing = await call(`/v1/admin/dead-letters/dl-test-${run}-missing/redrive`, { method: "POST", headers: staff });
    expect(missing.status).toBe(404);
    expect((await json<ErrorBody>(missing)).error.code).toBe("DEAD_LETTER_NOT_FOUND");
    await sql("primary", "insert into dead_letters (message_id, queue, body, attempts) values ($1, 'retired-queue', '{}'::jsonb, 1)", [stray]);
    const unknown = await call(`/v1/admin/dead-letters/${stray}/redrive`, { method: "POST", headers: staff });
    expect(unknown.status).toBe(409);
    expect((await json<ErrorBody>(unknown)).error.code).toBe("QUEUE_UNKNOWN");
    const [row] = await sql<{ redriven_at: string | null }>("primary", "select redriven_at from dead_letters where message_id = $1", [stray]);
    expect(row?.redriven_at).toBeNull();
  });
});
