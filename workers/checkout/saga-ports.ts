/**
 * The checkout saga's ports: everything outside the saga it talks to (StockDOs, Postgres, Stripe, the clock), built
 * from the request's env. The Worker runs the saga inside the request, so the request's env (and a test's
 * overrides) applies to every step; tests can also swap one port to fail at one exact step.
 */
import type Stripe from "stripe";
import type { AppConfig } from "../platform/config";
import type { DbRouter } from "../platform/db";
import { callDurableObject } from "../platform/do-access";
import type { StockArgs, StockStub } from "../platform/do-access";
import type { Logger } from "../platform/logger";
import { attachPaymentIntent, cancelPendingOrder, createPendingOrder } from "../orders";
import type { NewOrder, PendingOrderResult } from "../orders";
import { stripeClient } from "../payments";
import { checkoutPolicy } from "./policy";
import type { CheckoutPolicy } from "./policy";
import { loadPricing } from "./pricing";
import type { PricedVariant, RegionRules } from "./pricing";

export type HoldOwners = NonNullable<StockArgs<"reserve">[4]>;

/** StockDO.reserve's answer (durable-objects/stock-do.ts ReserveResult), as plain data. */
export type ReserveAnswer =
  | { ok: true; holdId: string; qty: number; available: number; expiresAt: number }
  | { ok: false; reason: "invalid_quantity" | "invalid_ttl" }
  | { ok: false; reason: "insufficient_stock"; available: number }
  | { ok: false; reason: "hold_closed"; state: string }
  | { ok: false; reason: "owner_limit"; scope: string; max: number; held: number };

/** The StockDOs, through the access layer (retryable errors retried on a fresh stub, overloaded never). */
export interface StockPort {
  reserve: (sku: string, holdId: string, qty: number, ttlSeconds: number, owners: HoldOwners) => Promise<ReserveAnswer>;
  release: (sku: string, holdId: string) => Promise<void>;
}

/** Postgres (the primary): prices, and the order's writes. */
export interface OrdersPort {
  pricing: (skus: string[], country: string, subdivision: string | undefined) => Promise<{ variants: Map<string, PricedVariant>; rules: RegionRules }>;
  write: (order: NewOrder) => Promise<PendingOrderResult>;
  attachPaymentIntent: (orderId: string, paymentIntentId: string) => Promise<void>;
  cancel: (orderId: string, reason: string) => Promise<boolean>;
}

/** Stripe. */
export interface PaymentsPort {
  createIntent: (params: Stripe.PaymentIntentCreateParams, idempotencyKey: string) => Promise<{ id: string; client_secret: string | null }>;
  cancelIntent: (id: string) => Promise<void>;
}

export interface SagaPorts {
  stock: StockPort;
  orders: OrdersPort;
  payments: PaymentsPort;
  now: () => number;
  log: Logger;
  policy: CheckoutPolicy;
  /** The PII key ring (for the shipping address) and the secret that signs order tokens. */
  piiKeys: AppConfig["piiKeys"];
  cookieSecret: string;
}

/** A stock port on stubs from `getStub` (called again for every attempt, so a retry gets a fresh stub). */
export function stockPort(getStub: (sku: string) => StockStub): StockPort {
  return {
    reserve: (sku, holdId, qty, ttl, owners) =>
      // Idempotent by hold id: a reserve repeated after a lost reply finds its own hold.
      callDurableObject(() => getStub(sku), async (s): Promise<ReserveAnswer> => (await s.reserve(sku, holdId, qty, ttl, owners)) as ReserveAnswer, { idempotent: true, label: "stock.reserve" }),
    release: async (sku, holdId) => {
      await callDurableObject(() => getStub(sku), (s) => s.release(sku, holdId), { idempotent: true, label: "stock.release" });
    },
  };
}

/** The orders port on a request's DbRouter. */
export function ordersPort(db: DbRouter): OrdersPort {
  return {
    pricing: (skus, country, subdivision) => loadPricing(db, skus, country, subdivision),
    write: (order) => createPendingOrder(db, order),
    attachPaymentIntent: (orderId, id) => attachPaymentIntent(db, orderId, id),
    cancel: (orderId, reason) => cancelPendingOrder(db, orderId, reason),
  };
}

/** The payments port on a Stripe client. */
export function paymentsPort(stripe: Stripe): PaymentsPort {
  return {
    createIntent: async (params, idempotencyKey) => {
      const pi = await stripe.paymentIntents.create(params, { idempotencyKey });
      return { id: pi.id, client_secret: pi.client_secret };
    },
    cancelIntent: async (id) => {
      await stripe.paymentIntents.cancel(id);
    },
  };
}

/** The ports for one request, from its env, config, database router and logger; `overrides` replace single ports. */
export function sagaPorts(env: Env, config: AppConfig, db: DbRouter, log: Logger, overrides: Partial<SagaPorts> = {}): SagaPorts {
  return {
    stock: stockPort((sku) => env.STOCK_DO.getByName(`sku:${sku}`)),
    orders: ordersPort(db),
    payments: paymentsPort(stripeClient(config)),
    now: () => Date.now(),
    log,
    policy: checkoutPolicy(env),
    piiKeys: config.piiKeys,
    cookieSecret: config.cookieSecret,
    ...overrides,
  };
}
