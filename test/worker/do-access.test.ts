/**
 * The Durable Object access layer's retry policy (workers/platform/do-access.ts): retryable errors are retried on a
 * fresh stub, overloaded ones never, non-idempotent calls never; what is left is a 503 AppError with a code.
 * The stubs here are plain objects: the policy is the unit under test, the real objects are in stock-do.test.ts.
 */
import { describe, expect, it } from "vitest";
import { callDurableObject, shouldRetry } from "../../workers/platform/do-access";
import { AppError } from "../../workers/platform/errors";

function doError(flags: { retryable?: boolean; overloaded?: boolean }): Error {
  return Object.assign(new Error("Durable Object reset because its code was updated."), flags);
}

/** Stubs numbered by creation; each fails with the next error in `errors` and then succeeds. */
function stubs(errors: Error[]) {
  const made: number[] = [];
  const calls: number[] = [];
  let n = 0;
  const getStub = () => {
    const id = ++n;
    made.push(id);
    return {
      id,
      work: async (): Promise<string> => {
        calls.push(id);
        const err = errors.shift();
        if (err) throw err;
        return `ok from stub ${id}`;
      },
    };
  };
  return { getStub, made, calls };
}

async function failure(p: Promise<unknown>): Promise<AppError> {
  const err: unknown = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe("Durable Object access layer", () => {
  it("retries a retryable error of an idempotent call, each time on a fresh stub", async () => {
    const s = stubs([doError({ retryable: true }), doError({ retryable: true })]);
    const result = await callDurableObject(s.getStub, (st) => st.work(), { idempotent: true, label: "test.work", baseDelayMs: 1 });
    expect(result).toBe("ok from stub 3");
    expect(s.calls).toEqual([1, 2, 3]);
  });

  it("gives up after the attempt budget with 503 DURABLE_OBJECT_UNAVAILABLE", async () => {
    const s = stubs([doError({ retryable: true }), doError({ retryable: true }), doError({ retryable: true }), doError({ retryable: true })]);
    const err = await failure(callDurableObject(s.getStub, (st) => st.work(), { idempotent: true, label: "test.work", attempts: 3, baseDelayMs: 1 }));
    expect(err.status).toBe(503);
    expect(err.code).toBe("DURABLE_OBJECT_UNAVAILABLE");
    expect(s.calls).toEqual([1, 2, 3]);
  });

  it("never retries an overloaded object, even when the error also says retryable", async () => {
    const s = stubs([doError({ retryable: true, overloaded: true })]);
    const err = await failure(callDurableObject(s.getStub, (st) => st.work(), { idempotent: true, label: "test.work", baseDelayMs: 1 }));
    expect(err.status).toBe(503);
    expect(err.code).toBe("DURABLE_OBJECT_OVERLOADED");
    expect(err.headers["Retry-After"]).toBe("1");
    expect(s.calls).toEqual([1]);
  });

  it("never retries a non-idempotent call", async () => {
    const s = stubs([doError({ retryable: true })]);
    const err = await failure(callDurableObject(s.getStub, (st) => st.work(), { idempotent: false, label: "test.work", baseDelayMs: 1 }));
    expect(err.code).toBe("DURABLE_OBJECT_UNAVAILABLE");
    expect(s.calls).toEqual([1]);
  });

  it("does not retry an error without .retryable (an exception in the object's own code)", async () => {
    const s = stubs([new Error("boom")]);
    const err = await failure(callDurableObject(s.getStub, (st) => st.work(), { idempotent: true, label: "test.work", baseDelayMs: 1 }));
    expect(err.code).toBe("DURABLE_OBJECT_UNAVAILABLE");
    expect(s.calls).toEqual([1]);
  });

  it("lets an AppError from the caller's own code through untouched", async () => {
    const mine = new AppError("VARIANT_NOT_FOUND", "nope");
    const err = await failure(callDurableObject(() => ({}), () => Promise.reject(mine), { idempotent: true, label: "test.work" }));
    expect(err).toBe(mine);
  });

  it("states the policy as a predicate", () => {
    expect(shouldRetry(doError({ retryable: true }), true)).toBe(true);
    expect(shouldRetry(doError({ retryable: true }), false)).toBe(false);
    expect(shouldRetry(doError({ retryable: true, overloaded: true }), true)).toBe(false);
    expect(shouldRetry(doError({}), true)).toBe(false);
    expect(shouldRetry("not an error", true)).toBe(false);
  });
});
