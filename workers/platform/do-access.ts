/**
 * The one way to call a Durable Object. Cloudflare's rules for DO exceptions: an error with `.retryable` may be
 * retried (with backoff, on a fresh stub, since a stub that saw an error can be broken); an error with
 * `.overloaded` must never be retried (retrying feeds the overload). Only calls that are idempotent by their
 * arguments (a hold id, an idempotency key, a read) are retried at all: a non-idempotent call may already have
 * taken effect before the error. Whatever is left becomes a clean 503 in the error envelope, never a 500.
 *
 *   const snap = await callStock(env, sku, (s) => s.snapshot(sku), { idempotent: true, label: "stock.snapshot" });
 *   const cart = await callCart(env, `cart:${id}`, (s) => s.view(), { idempotent: true, label: "cart.view" });
 */
import { AppError } from "./errors";

/** A StockDO's RPC stub, typed from its binding (domain code never imports the Durable Object classes). */
export type StockStub = ReturnType<Env["STOCK_DO"]["getByName"]>;
/** A CartDO's RPC stub, typed from its binding. */
export type CartStub = ReturnType<Env["CART_DO"]["getByName"]>;
/** What StockDO method `M` answers. */
export type StockAnswer<M extends keyof StockStub> = StockStub[M] extends (...args: never[]) => infer R ? Awaited<R> : never;
/** The arguments of StockDO method `M`. */
export type StockArgs<M extends keyof StockStub> = StockStub[M] extends (...args: infer A) => unknown ? A : never;

export interface DoCallOptions {
  /** True only when repeating the call cannot apply it twice. Non-idempotent calls are never retried. */
  idempotent: boolean;
  /** Names the call in the 503's details (e.g. "stock.reserve"). */
  label: string;
  /** Attempts in all, the first included (default 3). */
  attempts?: number;
  /** First retry delay in ms, doubled per retry, with full jitter (default 40). */
  baseDelayMs?: number;
}

/** The flags the Workers runtime puts on errors thrown by a Durable Object call. */
interface DoErrorFlags {
  retryable?: boolean;
  overloaded?: boolean;
}

function flags(err: unknown): DoErrorFlags {
  if (typeof err !== "object" || err === null) return {};
  const e = err as DoErrorFlags;
  return { retryable: e.retryable === true, overloaded: e.overloaded === true };
}

/** Whether the policy retries this error for a call with these options. Exported for the unit tests. */
export function shouldRetry(err: unknown, idempotent: boolean): boolean {
  const f = flags(err);
  return idempotent && f.retryable === true && f.overloaded !== true;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `call` on a stub from `getStub`, applying the retry policy above. `getStub` is called again for every
 * attempt. An AppError thrown by `call` itself passes through untouched; any other failure ends as AppError 503
 * `DURABLE_OBJECT_OVERLOADED` (with Retry-After) or `DURABLE_OBJECT_UNAVAILABLE`.
 */
export async function callDurableObject<S, T>(getStub: () => S, call: (stub: S) => Promise<T>, opts: DoCallOptions): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 3);
  const base = opts.baseDelayMs ?? 40;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(getStub());
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (attempt < attempts && shouldRetry(err, opts.idempotent)) {
        await sleep(Math.random() * base * 2 ** (attempt - 1));
        continue;
      }
      const f = flags(err);
      if (f.overloaded) {
        throw new AppError("DURABLE_OBJECT_OVERLOADED", "This item is in very high demand right now; try again in a moment", { object: opts.label }, { "Retry-After": "1" });
      }
      throw new AppError("DURABLE_OBJECT_UNAVAILABLE", "A stock or cart service is briefly unavailable; try again", { object: opts.label, retryable: f.retryable === true, attempts: attempt }, { "Retry-After": "1" });
    }
  }
}

/** Calls the StockDO of `sku` (`sku:<SKU>`) through the policy. */
export function callStock<T>(env: Env, sku: string, call: (stub: StockStub) => Promise<T>, opts: DoCallOptions): Promise<T> {
  return callDurableObject(() => env.STOCK_DO.getByName(`sku:${sku}`), call, opts);
}

/** Calls the CartDO named `name` (`cart:<id>`) through the policy. */
export function callCart<T>(env: Env, name: string, call: (stub: CartStub) => Promise<T>, opts: DoCallOptions): Promise<T> {
  return callDurableObject(() => env.CART_DO.getByName(name), call, opts);
}
