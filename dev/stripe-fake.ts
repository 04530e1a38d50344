/**
 * Local stand-in for the part of the Stripe API NexusBooks calls, so the real `stripe` SDK (23.1.0) runs unmodified
 * against it in Node and in workerd: `new Stripe(key, { host: "127.0.0.1", port, protocol: "http" })`.
 *
 * What it imitates, from Stripe's API reference and the SDK's own types (node_modules/stripe/esm/resources/*.d.ts):
 * - `/v1/payment_intents` (create, retrieve, confirm, capture, cancel), `/v1/refunds` (create, retrieve),
 *   `/v1/events` (list, retrieve); form-encoded bodies in bracket notation, JSON responses, Stripe's error shape and
 *   HTTP statuses (400 invalid request, 401 bad key, 402 card error, 404 unknown object or URL).
 * - Test-mode payment methods (`pm_card_visa`, `pm_card_chargeDeclined`, …): each use creates a fresh `pm_…` object,
 *   as Stripe does, and the decline cards fail with Stripe's codes and messages.
 * - Idempotency: a POST's `Idempotency-Key` replays the saved status and body (`Idempotent-Replayed: true`,
 *   `Original-Request`) when path and parameters match, and is an `idempotency_error` otherwise. Results are saved
 *   only once the endpoint begins, so a parameter validation error is not replayed; keys expire after 24 hours.
 * - Events for every state change, and signed webhook deliveries (`Stripe-Signature: t=…,v1=…`) with retries.
 *
 * Everything lives in memory. `/_fake/*` is a small control surface for tests that Stripe does not have.
 *
 * Run directly: `tsx dev/stripe-fake.ts [--port 12111] [--host H] [--webhook-url URL]...`.
 */
import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type Stripe from "stripe";

/** The API version stripe@23.1.0 pins (its `Stripe.API_VERSION`); the account default of this fake. */
export const STRIPE_FAKE_API_VERSION = "2026-10-28.endive";

/** Options for {@link startStripeFake}. */
export interface StripeFakeOptions {
  /** Port to listen on; 0 picks a free one (read it back from the result). */
  port: number;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** The only secret key accepted (Bearer, or Basic with the key as user name). */
  secretKey: string;
  /** Signs webhook deliveries, as an endpoint's `whsec_…` secret does. */
  webhookSecret: string;
  /** Endpoints every event is POSTed to. None: events are only recorded (GET /v1/events). */
  webhookUrls?: string[];
  /** Delays between webhook attempts after a failure; its length is the number of retries. Default 0.5 s, 2 s, 8 s. */
  webhookRetryDelaysMs?: number[];
  /** Bound on one webhook attempt. Default 10 s. */
  webhookTimeoutMs?: number;
  /** Where delivery failures are reported. Default: stderr. */
  log?: (message: string) => void;
}

/** One attempt to deliver an event to an endpoint. */
export interface WebhookAttempt {
  eventId: string;
  url: string;
  attempt: number;
  /** HTTP status, or null when the request itself failed. */
  status: number | null;
  error?: string;
}

/** A running fake. */
export interface StripeFake {
  /** The port actually bound. */
  port: number;
  /** Base URL, e.g. http://127.0.0.1:12111. */
  url: string;
  /** Recorded events, newest first (what GET /v1/events would list). */
  events(): Stripe.Event[];
  /** Every webhook attempt so far, oldest first. */
  webhookAttempts(): WebhookAttempt[];
  /** Resolves once no webhook delivery is in flight or waiting for a retry. */
  webhooksIdle(): Promise<void>;
  /** Adds an endpoint that receives every later event (for a Worker whose address is known only after the fake starts). */
  addWebhookUrl(url: string): void;
  /** Forgets every object, event, idempotency key and pending delivery. */
  reset(): void;
  /** Stops listening, drops open connections and abandons pending deliveries. */
  close(): Promise<void>;
}

type Param = string | Param[] | { [key: string]: Param };
type Params = { [key: string]: Param };

const MAX_BODY_BYTES = 1024 * 1024;
const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Stripe keeps keys for a day however many there are; memory here is finite, so the oldest go first past this. */
const MAX_IDEMPOTENCY_KEYS = 10_000;
const MAX_EVENTS = 10_000;
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** A Stripe error response, thrown from handlers. `saved: false` for errors raised before the endpoint begins. */
class StripeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly saved = true,
  ) {
    super(typeof body.message === "string" ? body.message : "stripe error");
    this.name = "StripeHttpError";
  }
}

function docUrl(code: string): string {
  return `https://stripe.com/docs/error-codes/${code.replace(/_/g, "-")}`;
}

function invalidRequest(message: string, extra: { code?: string; param?: string; status?: number; saved?: boolean; payment_intent?: unknown } = {}): StripeHttpError {
  const body: Record<string, unknown> = {};
  if (extra.code !== undefined) {
    body.code = extra.code;
    body.doc_url = docUrl(extra.code);
  }
  body.message = message;
  if (extra.param !== undefined) body.param = extra.param;
  if (extra.payment_intent !== undefined) body.payment_intent = extra.payment_intent;
  body.type = "invalid_request_error";
  return new StripeHttpError(extra.status ?? 400, body, extra.saved ?? true);
}

/** Parameter validation fails before the endpoint begins, so Stripe saves no idempotent result for it. */
function paramError(message: string, param: string, code?: string): StripeHttpError {
  return invalidRequest(message, { param, saved: false, ...(code === undefined ? {} : { code }) });
}

/* ------------------------------------------------------------------------------------------------ */
/* Form decoding                                                                                    */
/* ------------------------------------------------------------------------------------------------ */

/** Splits `a[b][c]` into ["a", "b", "c"]; `a[]` gives ["a", ""]. Null when the brackets do not balance. */
function keyPath(key: string): string[] | null {
  const open = key.indexOf("[");
  if (open === -1) return [key];
  const parts = [key.slice(0, open)];
  const rest = key.slice(open);
  const re = /\[([^[\]]*)\]/gy;
  let consumed = 0;
  for (let m = re.exec(rest); m !== null; m = re.exec(rest)) {
    parts.push(m[1] as string);
    consumed = re.lastIndex;
  }
  return consumed === rest.length && parts[0] !== "" ? parts : null;
}

/**
 * Decodes `application/x-www-form-urlencoded` with bracket nesting the way Stripe reads it: `a[b]=1` is a hash,
 * `a[]=x` and `a[0]=x` are arrays (the SDK sends indices), and the last of repeated scalar keys wins.
 */
export function decodeStripeForm(text: string): Params {
  const root: Params = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const path = keyPath(rawKey);
    if (path === null) throw paramError(`Invalid parameter name: ${rawKey}`, rawKey);
    let container: Params | Param[] = root;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i] as string;
      const last = i === path.length - 1;
      const nextSeg = path[i + 1];
      const makeChild = (): Params | Param[] => (nextSeg === "" || (nextSeg !== undefined && /^\d+$/.test(nextSeg)) ? [] : {});
      if (Array.isArray(container)) {
        const index: number = seg === "" ? container.length : Number(seg);
        if (!/^\d*$/.test(seg) || index > 10_000) throw paramError(`Invalid array index in ${rawKey}`, rawKey);
        if (last) {
          container[index] = value;
          break;
        }
        let child: Param | undefined = container[index];
        if (child === undefined || typeof child === "string") {
          child = makeChild();
          container[index] = child;
        }
        container = child;
      } else {
        if (last) {
          container[seg] = value;
          break;
        }
        let child: Param | undefined = container[seg];
        if (child === undefined || typeof child === "string") {
          child = makeChild();
          container[seg] = child;
        }
        container = child;
      }
    }
  }
  return root;
}

/** Sorted-key JSON, so the same parameters compare equal whatever order they were sent in. */
function canonical(value: Param | undefined): string {
  if (value === undefined) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v)).join(",")}]`;
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
    .join(",")}}`;
}

/* ------------------------------------------------------------------------------------------------ */
/* Parameter readers                                                                                */
/* ------------------------------------------------------------------------------------------------ */

/**
 * Rejects parameters the endpoint does not have (Stripe's `parameter_unknown`) and, loudly, the ones Stripe has but
 * this fake does not model, so a request is never quietly answered as if an ignored parameter had been honoured.
 */
function checkParams(params: Params, modelled: readonly string[], unmodelled: readonly string[] = []): void {
  for (const key of Object.keys(params)) {
    if (modelled.includes(key)) continue;
    if (unmodelled.includes(key)) {
      throw paramError(`stripe-fake: the parameter ${key} exists on Stripe but is not modelled by the local fake.`, key);
    }
    throw paramError(`Received unknown parameter: ${key}`, key, "parameter_unknown");
  }
}

function str(params: Params, name: string): string | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw paramError(`Invalid string: ${canonical(v)}`, name);
  return v;
}

function requiredStr(params: Params, name: string): string {
  const v = str(params, name);
  if (v === undefined) throw paramError(`Missing required param: ${name}.`, name, "parameter_missing");
  if (v === "") throw paramError(`You passed an empty string for '${name}'. We assume empty values are an attempt to unset a parameter; however '${name}' cannot be unset. You should remove '${name}' from your request or supply a non-empty value.`, name, "parameter_invalid_empty");
  return v;
}

function int(params: Params, name: string, min: number): number | undefined {
  const v = str(params, name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw paramError(`Invalid integer: ${v}`, name, "parameter_invalid_integer");
  const n = Number(v);
  if (n < min) throw paramError(`This value must be greater than or equal to ${min}.`, name, "parameter_invalid_integer");
  return n;
}

function bool(params: Params, name: string): boolean | undefined {
  const v = str(params, name);
  if (v === undefined) return undefined;
  if (v === "true") return true;
  if (v === "false") return false;
  throw paramError(`Invalid boolean: ${v}`, name);
}

function oneOf<T extends string>(params: Params, name: string, allowed: readonly T[]): T | undefined {
  const v = str(params, name);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) {
    const list = allowed.length > 1 ? `${allowed.slice(0, -1).join(", ")}, or ${allowed[allowed.length - 1] as string}` : (allowed[0] as string);
    throw paramError(`Invalid ${name}: must be one of ${list}`, name);
  }
  return v as T;
}

/** `metadata[k]=v` onto existing metadata; an empty value unsets a key, `metadata=` unsets all (Stripe's rules). */
function metadata(params: Params, base: Stripe.Metadata = {}): Stripe.Metadata {
  const v = params.metadata;
  if (v === undefined) return base;
  if (v === "") return {};
  if (typeof v === "string") throw paramError("Invalid hash", "metadata");
  const entries: [string, Param | undefined][] = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
  const out: Stripe.Metadata = { ...base };
  for (const [key, value] of entries) {
    if (typeof value !== "string") throw paramError(`Invalid string: ${canonical(value)}`, `metadata[${key}]`);
    if (key.length > 40) throw paramError("Metadata keys can be at most 40 characters long.", `metadata[${key}]`);
    if (value.length > 500) throw paramError("Metadata values can be at most 500 characters long.", `metadata[${key}]`);
    if (value === "") delete out[key];
    else out[key] = value;
  }
  if (Object.keys(out).length > 50) throw paramError("You can have at most 50 metadata keys.", "metadata");
  return out;
}

function expandList(params: Params, allowed: readonly string[]): string[] {
  const v = params.expand;
  if (v === undefined) return [];
  const list = typeof v === "string" ? [v] : Array.isArray(v) ? v : null;
  if (list === null) throw paramError("Invalid array", "expand");
  const out: string[] = [];
  for (const item of list) {
    if (typeof item !== "string") throw paramError("Invalid array", "expand");
    if (!allowed.includes(item)) throw invalidRequest(`This property cannot be expanded (${item}).`, { saved: false });
    out.push(item);
  }
  return out;
}

/**
 * Smallest amounts Stripe charges, in the currency's minor unit (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts);
 * only the currencies a bookstore is likely to use. Others are not checked.
 */
const MINIMUM_AMOUNT: Record<string, number> = { usd: 50, eur: 50, gbp: 30, cad: 50, aud: 50, chf: 50, jpy: 50, nzd: 50, sek: 300, dkk: 250, nok: 300 };
const ZERO_DECIMAL = new Set(["jpy", "krw", "vnd", "clp", "pyg", "xof", "xaf", "ugx", "rwf", "mga", "kmf", "gnf", "djf", "bif", "vuv", "xpf"]);

function formatMoney(amount: number, currency: string): string {
  const major = ZERO_DECIMAL.has(currency) ? String(amount) : (amount / 100).toFixed(2);
  return currency === "usd" ? `$${major}` : `${major} ${currency}`;
}

/* ------------------------------------------------------------------------------------------------ */
/* Test payment methods                                                                             */
/* ------------------------------------------------------------------------------------------------ */

interface TestCard {
  brand: string;
  last4: string;
  funding: "credit" | "debit";
  /** Absent: the charge succeeds. */
  decline?: { code: string; declineCode: string; message: string; param?: string };
  /** 3D Secure required: the first confirm stops at requires_action; confirming again (authenticated) charges. */
  threeDSecure?: boolean;
}

const GENERIC_DECLINE = { code: "card_declined", declineCode: "generic_decline", message: "Your card was declined." };

/** The test PaymentMethod ids of docs.stripe.com/testing that matter for a card checkout. */
const TEST_CARDS: Record<string, TestCard> = {
  pm_card_visa: { brand: "visa", last4: "4242", funding: "credit" },
  pm_card_threeDSecure2Required: { brand: "visa", last4: "3220", funding: "credit", threeDSecure: true },
  pm_card_visa_debit: { brand: "visa", last4: "5556", funding: "debit" },
  pm_card_mastercard: { brand: "mastercard", last4: "4444", funding: "credit" },
  pm_card_amex: { brand: "amex", last4: "8431", funding: "credit" },
  pm_card_chargeDeclined: { brand: "visa", last4: "0002", funding: "credit", decline: GENERIC_DECLINE },
  pm_card_visa_chargeDeclined: { brand: "visa", last4: "0002", funding: "credit", decline: GENERIC_DECLINE },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: "visa",
    last4: "9995",
    funding: "credit",
    decline: { code: "card_declined", declineCode: "insufficient_funds", message: "Your card has insufficient funds." },
  },
  pm_card_visa_chargeDeclinedInsufficientFunds: {
    brand: "visa",
    last4: "9995",
    funding: "credit",
    decline: { code: "card_declined", declineCode: "insufficient_funds", message: "Your card has insufficient funds." },
  },
  pm_card_chargeDeclinedLostCard: { brand: "visa", last4: "9987", funding: "credit", decline: { ...GENERIC_DECLINE, declineCode: "lost_card" } },
  pm_card_chargeDeclinedStolenCard: { brand: "visa", last4: "9979", funding: "credit", decline: { ...GENERIC_DECLINE, declineCode: "stolen_card" } },
  pm_card_chargeDeclinedExpiredCard: {
    brand: "visa",
    last4: "0069",
    funding: "credit",
    decline: { code: "expired_card", declineCode: "expired_card", message: "Your card has expired.", param: "exp_month" },
  },
  pm_card_chargeDeclinedIncorrectCvc: {
    brand: "visa",
    last4: "0127",
    funding: "credit",
    decline: { code: "incorrect_cvc", declineCode: "incorrect_cvc", message: "Your card's security code is incorrect.", param: "cvc" },
  },
  pm_card_chargeDeclinedProcessingError: {
    brand: "visa",
    last4: "0119",
    funding: "credit",
    decline: { code: "processing_error", declineCode: "processing_error", message: "An error occurred while processing your card. Try again in a little bit." },
  },
};

const CANCELLATION_REASONS = ["duplicate", "fraudulent", "requested_by_customer", "abandoned"] as const;
const CANCELABLE: readonly string[] = ["requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing"];
const CONFIRMABLE: readonly string[] = ["requires_payment_method", "requires_confirmation", "requires_action"];

/* ------------------------------------------------------------------------------------------------ */
/* Server                                                                                           */
/* ------------------------------------------------------------------------------------------------ */

interface SavedResponse {
  method: string;
  path: string;
  params: string;
  status: number;
  body: string;
  requestId: string;
  createdAt: number;
}

interface RequestContext {
  requestId: string;
  idempotencyKey: string | null;
}

interface Reply {
  status: number;
  body: unknown;
}

const ALPHANUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Stripe-looking ids: a prefix, a digit, then random alphanumerics (pi_3Q…, 24 characters after the prefix). */
function newId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let out = `${prefix}_${1 + (bytes[0] as number) % 9}`;
  for (let i = 1; i < length; i++) out += ALPHANUM[(bytes[i] as number) % ALPHANUM.length];
  return out;
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** `Stripe-Signature` for a payload, as Stripe computes it: HMAC-SHA256 over `<t>.<payload>` keyed by the endpoint secret. */
export function stripeSignatureHeader(payload: string, secret: string, timestamp = now()): string {
  const signature = createHmac("sha256", secret).update(`${timestamp}.${payload}`, "utf8").digest("hex");
  return `t=${timestamp},v1=${signature}`;
}

function secretMatches(presented: string, expected: Buffer): boolean {
  const buf = Buffer.from(presented, "utf8");
  return buf.length === expected.length && timingSafeEqual(buf, expected);
}

/** The key from `Authorization: Bearer <key>` or `Basic base64(<key>:)`; null when absent or malformed. */
function presentedKey(header: string | undefined): string | null {
  if (header === undefined) return null;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header.trim());
  if (bearer !== null) return bearer[1] as string;
  const basic = /^Basic\s+(\S+)\s*$/i.exec(header.trim());
  if (basic !== null) {
    const decoded = Buffer.from(basic[1] as string, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon === -1 ? decoded : decoded.slice(0, colon);
  }
  return null;
}

function redactKey(key: string): string {
  return key.length <= 4 ? "****" : `${key.slice(0, Math.min(8, key.length - 4))}${"*".repeat(Math.max(4, key.length - 12))}${key.slice(-4)}`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw invalidRequest("Request body too large.", { status: 413, saved: false });
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size).toString("utf8");
}

/**
 * Starts the fake and resolves once it is listening.
 *
 * Handlers run synchronously once a request's body is read, and POSTs with the same idempotency key are
 * additionally serialised, so two concurrent requests with one key never create two objects: the second gets the
 * first one's saved response.
 */
export async function startStripeFake(opts: StripeFakeOptions): Promise<StripeFake> {
  const host = opts.host ?? "127.0.0.1";
  const expectedKey = Buffer.from(opts.secretKey, "utf8");
  const webhookUrls = [...(opts.webhookUrls ?? [])];
  const retryDelays = opts.webhookRetryDelaysMs ?? [500, 2_000, 8_000];
  const webhookTimeoutMs = opts.webhookTimeoutMs ?? 10_000;
  const log = opts.log ?? ((message: string) => process.stderr.write(`${message}\n`));

  const paymentIntents = new Map<string, Stripe.PaymentIntent>();
  const charges = new Map<string, Stripe.Charge>();
  const refunds = new Map<string, Stripe.Refund>();
  const paymentMethods = new Map<string, { pm: Stripe.PaymentMethod; card: TestCard }>();
  /** Oldest first; listing reverses. */
  let events: Stripe.Event[] = [];
  const eventsById = new Map<string, Stripe.Event>();
  const idempotency = new Map<string, SavedResponse>();
  const keyLocks = new Map<string, Promise<void>>();

  const attempts: WebhookAttempt[] = [];
  const deliveries = new Set<Promise<void>>();
  const retryTimers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  /** Bumped by reset() and close(), so deliveries still running for an earlier generation stop retrying. */
  let generation = 0;

  /* ---------------------------------------------- events and webhooks */

  function recordEvent(type: string, object: unknown, ctx: RequestContext): void {
    const event = {
      id: newId("evt"),
      object: "event",
      api_version: STRIPE_FAKE_API_VERSION,
      created: now(),
      data: { object: clone(object) },
      livemode: false,
      pending_webhooks: webhookUrls.length,
      request: { id: ctx.requestId, idempotency_key: ctx.idempotencyKey },
      type,
    } as Stripe.Event;
    events.push(event);
    eventsById.set(event.id, event);
    if (events.length > MAX_EVENTS) {
      const dropped = events.splice(0, events.length - MAX_EVENTS);
      for (const e of dropped) eventsById.delete(e.id);
    }
    for (const url of webhookUrls) startDelivery(event, url);
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          retryTimers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      retryTimers.add(entry);
    });
  }

  async function deliver(event: Stripe.Event, url: string, gen: number): Promise<void> {
    // Stripe sends the event pretty-printed; the signature covers exactly these bytes.
    const payload = JSON.stringify(event, null, 2);
    for (let attempt = 1; attempt <= retryDelays.length + 1; attempt++) {
      if (gen !== generation) return;
      const record: WebhookAttempt = { eventId: event.id, url, attempt, status: null };
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            Accept: "*/*; q=0.5, application/xml",
            "Cache-Control": "no-cache",
            // A fresh timestamp per attempt, as Stripe re-signs every retry.
            "Stripe-Signature": stripeSignatureHeader(payload, opts.webhookSecret),
          },
          body: payload,
          signal: AbortSignal.timeout(webhookTimeoutMs),
        });
        record.status = res.status;
        await res.arrayBuffer().catch(() => undefined);
      } catch (error) {
        record.error = error instanceof Error ? error.message : String(error);
      }
      if (gen !== generation) return;
      attempts.push(record);
      if (record.status !== null && record.status >= 200 && record.status < 300) {
        event.pending_webhooks = Math.max(0, event.pending_webhooks - 1);
        return;
      }
      const delay = retryDelays[attempt - 1];
      log(`stripe-fake: webhook ${event.type} ${event.id} to ${url} attempt ${attempt} failed (${record.status ?? record.error ?? "?"})${delay === undefined ? "; giving up" : ""}`);
      if (delay === undefined) return;
      await sleep(delay);
    }
  }

  function startDelivery(event: Stripe.Event, url: string): void {
    const gen = generation;
    // Deferred to the next turn so the API response always goes out first.
    const p: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => deliver(event, url, gen))
      .catch((error: unknown) => log(`stripe-fake: webhook delivery crashed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => deliveries.delete(p));
    deliveries.add(p);
  }

  /* ---------------------------------------------- objects */

  function paymentMethodFor(id: string, param: string): { pm: Stripe.PaymentMethod; card: TestCard } {
    const known = paymentMethods.get(id);
    if (known !== undefined) return known;
    const card = TEST_CARDS[id];
    if (card === undefined) throw invalidRequest(`No such PaymentMethod: '${id}'`, { code: "resource_missing", param });
    // Like Stripe, a test token stands for a card and every use of it creates a new PaymentMethod.
    const pm = {
      id: newId("pm"),
      object: "payment_method",
      allow_redisplay: "unspecified",
      billing_details: { address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null }, email: null, name: null, phone: null, tax_id: null },
      card: {
        brand: card.brand,
        checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "unchecked" },
        country: "US",
        display_brand: card.brand,
        exp_month: 12,
        exp_year: new Date().getUTCFullYear() + 3,
        fingerprint: createHmac("sha256", "fingerprint").update(id).digest("base64url").slice(0, 16),
        funding: card.funding,
        generated_from: null,
        last4: card.last4,
        networks: { available: [card.brand], preferred: null },
        regulated_status: "unregulated",
        three_d_secure_usage: { supported: true },
        wallet: null,
      },
      created: now(),
      customer: null,
      customer_account: null,
      livemode: false,
      metadata: {},
      type: "card",
    } as unknown as Stripe.PaymentMethod;
    const entry = { pm, card };
    paymentMethods.set(pm.id, entry);
    return entry;
  }

  function getPaymentIntent(id: string): Stripe.PaymentIntent {
    const pi = paymentIntents.get(id);
    if (pi === undefined) throw invalidRequest(`No such payment_intent: '${id}'`, { code: "resource_missing", param: "intent", status: 404 });
    return pi;
  }

  function newCharge(pi: Stripe.PaymentIntent, pm: Stripe.PaymentMethod, card: TestCard, capture: boolean): Stripe.Charge {
    const failed = card.decline !== undefined;
    const id = newId("ch");
    const pmCard = pm.card as Stripe.PaymentMethod.Card;
    const charge = {
      id,
      object: "charge",
      amount: pi.amount,
      amount_captured: failed || !capture ? 0 : pi.amount,
      amount_refunded: 0,
      application: null,
      application_fee: null,
      application_fee_amount: null,
      balance_transaction: failed || !capture ? null : newId("txn"),
      billing_details: pm.billing_details,
      calculated_statement_descriptor: "NEXUSBOOKS",
      captured: !failed && capture,
      created: now(),
      currency: pi.currency,
      customer: null,
      description: pi.description,
      disputed: false,
      failure_balance_transaction: null,
      failure_code: card.decline?.code ?? null,
      failure_message: card.decline?.message ?? null,
      fraud_details: {},
      livemode: false,
      metadata: clone(pi.metadata),
      on_behalf_of: null,
      outcome: failed
        ? {
            advice_code: null,
            network_advice_code: null,
            network_decline_code: null,
            network_status: "declined_by_network",
            reason: card.decline?.declineCode ?? null,
            risk_level: "normal",
            risk_score: 40,
            seller_message: "The bank did not return any further details with this decline.",
            type: "issuer_declined",
          }
        : {
            advice_code: null,
            network_advice_code: null,
            network_decline_code: null,
            network_status: "approved_by_network",
            reason: null,
            risk_level: "normal",
            risk_score: 20,
            seller_message: "Payment complete.",
            type: "authorized",
          },
      paid: !failed,
      payment_intent: pi.id,
      payment_method: pm.id,
      payment_method_details: {
        card: {
          amount_authorized: failed ? null : pi.amount,
          authorization_code: failed ? null : String(100000 + (randomBytes(3).readUIntBE(0, 3) % 900000)),
          brand: pmCard.brand,
          checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" },
          country: pmCard.country,
          electronic_commerce_indicator: null,
          exp_month: pmCard.exp_month,
          exp_year: pmCard.exp_year,
          extended_authorization: { status: "disabled" },
          fingerprint: pmCard.fingerprint ?? null,
          funding: pmCard.funding,
          incremental_authorization: { status: "unavailable" },
          installments: null,
          last4: pmCard.last4,
          mandate: null,
          multicapture: { status: "unavailable" },
          network: pmCard.brand,
          network_token: { used: false },
          network_transaction_id: failed ? null : String(randomBytes(8).readBigUInt64BE() % 10n ** 15n),
          overcapture: { maximum_amount_capturable: pi.amount, status: "unavailable" },
          regulated_status: "unregulated",
          three_d_secure: null,
          transaction_link_id: null,
          wallet: null,
        },
        type: "card",
      },
      radar_options: {},
      receipt_email: pi.receipt_email,
      receipt_number: null,
      receipt_url: failed ? null : `https://pay.stripe.com/receipts/payment/${newId("CAcQARoX", 40)}`,
      refunded: false,
      review: null,
      shipping: null,
      source: null,
      source_transfer: null,
      statement_descriptor: null,
      statement_descriptor_suffix: null,
      status: failed ? "failed" : "succeeded",
      transfer_data: null,
      transfer_group: null,
    } satisfies Stripe.Charge;
    charges.set(id, charge);
    return charge;
  }

  function expandPaymentIntent(pi: Stripe.PaymentIntent, expand: readonly string[]): unknown {
    const out: Record<string, unknown> = { ...clone(pi) };
    if (expand.includes("latest_charge") && typeof pi.latest_charge === "string") out.latest_charge = clone(charges.get(pi.latest_charge) ?? null);
    if (expand.includes("payment_method") && typeof pi.payment_method === "string") out.payment_method = clone(paymentMethods.get(pi.payment_method)?.pm ?? null);
    return out;
  }

  function expandRefund(refund: Stripe.Refund, expand: readonly string[]): unknown {
    const out: Record<string, unknown> = { ...clone(refund) };
    if (expand.includes("charge") && typeof refund.charge === "string") out.charge = clone(charges.get(refund.charge) ?? null);
    if (expand.includes("payment_intent") && typeof refund.payment_intent === "string") out.payment_intent = clone(paymentIntents.get(refund.payment_intent) ?? null);
    return out;
  }

  /**
   * One payment attempt. On a decline the PaymentIntent goes back to requires_payment_method with last_payment_error
   * and the request fails with 402 card_error carrying the PaymentIntent, as Stripe's confirm does.
   */
  function attemptPayment(pi: Stripe.PaymentIntent, pmId: string, pmParam: string, ctx: RequestContext): void {
    const { pm, card } = paymentMethodFor(pmId, pmParam);
    if (card.threeDSecure === true && pi.status !== "requires_action") {
      pi.status = "requires_action";
      pi.payment_method = pm.id;
      pi.next_action = { type: "use_stripe_sdk", use_stripe_sdk: {} };
      recordEvent("payment_intent.requires_action", pi, ctx);
      return;
    }
    pi.next_action = null;
    const manual = pi.capture_method === "manual";
    const charge = newCharge(pi, pm, card, !manual);
    pi.latest_charge = charge.id;
    if (card.decline !== undefined) {
      const d = card.decline;
      const lastPaymentError = {
        charge: charge.id,
        code: d.code,
        decline_code: d.declineCode,
        doc_url: docUrl(d.code),
        message: d.message,
        ...(d.param === undefined ? {} : { param: d.param }),
        payment_method: clone(pm),
        type: "card_error",
      } as Stripe.PaymentIntent.LastPaymentError;
      pi.status = "requires_payment_method";
      pi.payment_method = null;
      pi.last_payment_error = lastPaymentError;
      recordEvent("charge.failed", charge, ctx);
      recordEvent("payment_intent.payment_failed", pi, ctx);
      const { payment_method: failedPm, ...rest } = lastPaymentError;
      throw new StripeHttpError(402, { ...rest, payment_intent: clone(pi), payment_method: failedPm, request_log_url: `https://dashboard.stripe.com/test/logs/${ctx.requestId}` });
    }
    pi.payment_method = pm.id;
    pi.last_payment_error = null;
    if (manual) {
      pi.status = "requires_capture";
      pi.amount_capturable = pi.amount;
      recordEvent("charge.succeeded", charge, ctx);
      recordEvent("payment_intent.amount_capturable_updated", pi, ctx);
    } else {
      pi.status = "succeeded";
      pi.amount_received = pi.amount;
      recordEvent("charge.succeeded", charge, ctx);
      recordEvent("payment_intent.succeeded", pi, ctx);
    }
  }

  /** Checks shared by create-with-confirm and confirm, before anything is charged. */
  function confirmPreconditions(pi: Stripe.PaymentIntent, pmId: string | null, returnUrl: string | undefined): string {
    if (pi.status === "succeeded") {
      throw invalidRequest("You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.", {
        code: "payment_intent_unexpected_state",
        payment_intent: clone(pi),
      });
    }
    if (!CONFIRMABLE.includes(pi.status)) {
      throw invalidRequest(
        `You cannot confirm this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be confirmed: requires_confirmation, requires_payment_method, requires_action.`,
        { code: "payment_intent_unexpected_state", payment_intent: clone(pi) },
      );
    }
    if (pmId === null) {
      throw invalidRequest(
        "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
        { code: "payment_intent_unexpected_state", payment_intent: clone(pi) },
      );
    }
    const apm = pi.automatic_payment_methods;
    if (apm !== null && apm.enabled && apm.allow_redirects !== "never" && returnUrl === undefined) {
      throw invalidRequest(
        "This PaymentIntent is configured to accept payment methods enabled in your Dashboard. Because some of these payment methods might redirect your customer off of your page, you must provide a `return_url`. If you don't want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.",
        { payment_intent: clone(pi) },
      );
    }
    return pmId;
  }

  /* ---------------------------------------------- endpoints */

  const PI_EXPAND = ["latest_charge", "payment_method"] as const;
  const PI_UNMODELLED_CREATE = [
    "allowed_payment_method_types",
    "amount_details",
    "application_fee_amount",
    "confirmation_method",
    "confirmation_token",
    "customer",
    "customer_account",
    "error_on_requires_action",
    "excluded_payment_method_types",
    "hooks",
    "mandate",
    "mandate_data",
    "off_session",
    "on_behalf_of",
    "payment_details",
    "payment_method_configuration",
    "payment_method_data",
    "payment_method_options",
    "payment_method_types",
    "radar_options",
    "setup_future_usage",
    "shipping",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "transfer_data",
    "transfer_group",
    "use_stripe_sdk",
  ];

  function createPaymentIntent(params: Params, ctx: RequestContext): Reply {
    checkParams(
      params,
      ["amount", "currency", "metadata", "description", "receipt_email", "automatic_payment_methods", "payment_method", "confirm", "capture_method", "return_url", "expand"],
      PI_UNMODELLED_CREATE,
    );
    if (params.amount === undefined) throw paramError("Missing required param: amount.", "amount", "parameter_missing");
    const amount = int(params, "amount", 1) as number;
    const currency = requiredStr(params, "currency").toLowerCase();
    if (!/^[a-z]{3}$/.test(currency)) throw paramError(`Invalid currency: ${currency}. Stripe currently supports these currencies: usd, eur, gbp, …`, "currency");
    const minimum = MINIMUM_AMOUNT[currency];
    if (minimum !== undefined && amount < minimum) {
      throw paramError(`Amount must be at least ${formatMoney(minimum, currency)}`, "amount", "amount_too_small");
    }
    const description = str(params, "description");
    const receiptEmail = str(params, "receipt_email");
    const paymentMethod = str(params, "payment_method");
    const confirm = bool(params, "confirm") ?? false;
    const captureMethod = oneOf(params, "capture_method", ["automatic", "automatic_async", "manual"] as const) ?? "automatic_async";
    const returnUrl = str(params, "return_url");
    if (returnUrl !== undefined && !confirm) throw paramError("You can only pass in `return_url` when `confirm` is true.", "return_url");
    const expand = expandList(params, PI_EXPAND);
    let automatic: Stripe.PaymentIntent.AutomaticPaymentMethods;
    const apm = params.automatic_payment_methods;
    if (apm === undefined) {
      // Since API version 2023-08-16 an intent without payment_method_types gets automatic payment methods.
      automatic = { allow_redirects: "always", enabled: true };
    } else {
      if (typeof apm === "string" || Array.isArray(apm)) throw paramError("Invalid hash", "automatic_payment_methods");
      const sub = apm;
      for (const k of Object.keys(sub)) {
        if (k !== "enabled" && k !== "allow_redirects") throw paramError(`Received unknown parameter: automatic_payment_methods[${k}]`, `automatic_payment_methods[${k}]`, "parameter_unknown");
      }
      if (sub.enabled === undefined) throw paramError("Missing required param: automatic_payment_methods[enabled].", "automatic_payment_methods[enabled]", "parameter_missing");
      const enabled = bool(sub, "enabled") as boolean;
      const allowRedirects = oneOf(sub, "allow_redirects", ["always", "never"] as const) ?? "always";
      automatic = { allow_redirects: allowRedirects, enabled };
    }
    const meta = metadata(params);

    const id = newId("pi");
    const pi = {
      id,
      object: "payment_intent",
      amount,
      amount_capturable: 0,
      amount_details: { tip: {} },
      amount_received: 0,
      application: null,
      application_fee_amount: null,
      automatic_payment_methods: automatic,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: captureMethod,
      client_secret: `${id}_secret_${newId("x", 25).slice(3)}`,
      confirmation_method: "automatic",
      created: now(),
      currency,
      customer: null,
      customer_account: null,
      description: description ?? null,
      excluded_payment_method_types: null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      managed_payments: null,
      metadata: meta,
      next_action: null,
      on_behalf_of: null,
      payment_method: paymentMethod ?? null,
      payment_method_configuration_details: automatic.enabled ? { id: newId("pmc"), parent: null } : null,
      payment_method_options: { card: { installments: null, mandate_options: null, network: null, request_three_d_secure: "automatic" } },
      payment_method_types: ["card"],
      payment_record: null,
      processing: null,
      receipt_email: receiptEmail ?? null,
      review: null,
      setup_future_usage: null,
      shipping: null,
      source: null,
      statement_descriptor: null,
      statement_descriptor_suffix: null,
      status: paymentMethod === undefined ? "requires_payment_method" : "requires_confirmation",
      transfer_data: null,
      transfer_group: null,
    } as Stripe.PaymentIntent;
    // The payment method is resolved first so an unknown one fails the whole request, as on Stripe.
    if (paymentMethod !== undefined) pi.payment_method = paymentMethodFor(paymentMethod, "payment_method").pm.id;
    if (confirm) confirmPreconditions(pi, pi.payment_method as string | null, returnUrl);
    paymentIntents.set(id, pi);
    recordEvent("payment_intent.created", pi, ctx);
    if (confirm) attemptPayment(pi, pi.payment_method as string, "payment_method", ctx);
    return { status: 200, body: expandPaymentIntent(pi, expand) };
  }

  function confirmPaymentIntent(id: string, params: Params, ctx: RequestContext): Reply {
    checkParams(
      params,
      ["payment_method", "return_url", "receipt_email", "capture_method", "expand"],
      ["allowed_payment_method_types", "amount_details", "amount_to_confirm", "confirmation_token", "error_on_requires_action", "excluded_payment_method_types", "hooks", "mandate", "mandate_data", "off_session", "payment_details", "payment_method_data", "payment_method_options", "radar_options", "setup_future_usage", "shipping", "use_stripe_sdk"],
    );
    const paymentMethod = str(params, "payment_method");
    const returnUrl = str(params, "return_url");
    const receiptEmail = str(params, "receipt_email");
    const captureMethod = oneOf(params, "capture_method", ["automatic", "automatic_async", "manual"] as const);
    const expand = expandList(params, PI_EXPAND);
    const pi = getPaymentIntent(id);
    const pmId = paymentMethod === undefined ? (pi.payment_method as string | null) : paymentMethodFor(paymentMethod, "payment_method").pm.id;
    confirmPreconditions(pi, pmId, returnUrl);
    if (receiptEmail !== undefined) pi.receipt_email = receiptEmail === "" ? null : receiptEmail;
    if (captureMethod !== undefined) pi.capture_method = captureMethod;
    attemptPayment(pi, pmId as string, "payment_method", ctx);
    return { status: 200, body: expandPaymentIntent(pi, expand) };
  }

  function capturePaymentIntent(id: string, params: Params, ctx: RequestContext): Reply {
    checkParams(params, ["amount_to_capture", "metadata", "expand"], ["amount_details", "application_fee_amount", "final_capture", "hooks", "payment_details", "statement_descriptor", "statement_descriptor_suffix", "transfer_data"]);
    const amountToCapture = int(params, "amount_to_capture", 1);
    const expand = expandList(params, PI_EXPAND);
    const pi = getPaymentIntent(id);
    if (pi.status !== "requires_capture") {
      throw invalidRequest(`This PaymentIntent could not be captured because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`, {
        code: "payment_intent_unexpected_state",
        payment_intent: clone(pi),
      });
    }
    const amount = amountToCapture ?? pi.amount_capturable;
    if (amount > pi.amount_capturable) {
      throw invalidRequest(`The amount to capture (${amount}) is greater than the amount capturable (${pi.amount_capturable}).`, { code: "amount_too_large", param: "amount_to_capture" });
    }
    pi.metadata = metadata(params, pi.metadata);
    const charge = charges.get(pi.latest_charge as string) as Stripe.Charge;
    charge.captured = true;
    charge.amount_captured = amount;
    charge.balance_transaction = newId("txn");
    // An uncaptured remainder is released, which Stripe shows as a refund of the difference.
    charge.amount_refunded = pi.amount - amount;
    charge.refunded = amount === 0;
    pi.amount_capturable = 0;
    pi.amount_received = amount;
    pi.status = "succeeded";
    recordEvent("charge.captured", charge, ctx);
    recordEvent("payment_intent.succeeded", pi, ctx);
    return { status: 200, body: expandPaymentIntent(pi, expand) };
  }

  function cancelPaymentIntent(id: string, params: Params, ctx: RequestContext): Reply {
    checkParams(params, ["cancellation_reason", "expand"]);
    const reason = oneOf(params, "cancellation_reason", CANCELLATION_REASONS);
    const expand = expandList(params, PI_EXPAND);
    const pi = getPaymentIntent(id);
    if (!CANCELABLE.includes(pi.status)) {
      throw invalidRequest(
        `You cannot cancel this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(", ")}.`,
        { code: "payment_intent_unexpected_state", payment_intent: clone(pi) },
      );
    }
    if (pi.status === "requires_capture" && typeof pi.latest_charge === "string") {
      // Cancelling an authorisation releases it: the charge shows as fully refunded.
      const charge = charges.get(pi.latest_charge);
      if (charge !== undefined) {
        charge.amount_refunded = charge.amount;
        charge.refunded = true;
        recordEvent("charge.refunded", charge, ctx);
      }
      pi.amount_capturable = 0;
    }
    pi.status = "canceled";
    pi.canceled_at = now();
    pi.cancellation_reason = reason ?? null;
    recordEvent("payment_intent.canceled", pi, ctx);
    return { status: 200, body: expandPaymentIntent(pi, expand) };
  }

  function createRefund(params: Params, ctx: RequestContext): Reply {
    checkParams(params, ["amount", "charge", "payment_intent", "metadata", "reason", "expand"], ["currency", "customer", "instructions_email", "origin", "refund_application_fee", "reverse_transfer"]);
    const amountParam = int(params, "amount", 1);
    const chargeId = str(params, "charge");
    const piId = str(params, "payment_intent");
    const reason = oneOf(params, "reason", ["duplicate", "fraudulent", "requested_by_customer"] as const);
    const meta = metadata(params);
    const expand = expandList(params, ["charge", "payment_intent"]);
    if (chargeId === undefined && piId === undefined) {
      throw paramError("One of the following params should be provided for this request: payment_intent or charge.", "payment_intent", "parameter_missing");
    }
    let charge: Stripe.Charge | undefined;
    let pi: Stripe.PaymentIntent | undefined;
    if (piId !== undefined) {
      pi = paymentIntents.get(piId);
      if (pi === undefined) throw invalidRequest(`No such payment_intent: '${piId}'`, { code: "resource_missing", param: "payment_intent" });
      if (pi.status !== "succeeded" || typeof pi.latest_charge !== "string") {
        throw invalidRequest(`This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, { code: "charge_not_refundable", param: "payment_intent" });
      }
      charge = charges.get(pi.latest_charge);
      if (chargeId !== undefined && charge?.id !== chargeId) {
        throw paramError(`The charge ${chargeId} does not belong to the PaymentIntent ${pi.id}.`, "charge");
      }
    } else {
      charge = charges.get(chargeId as string);
      if (charge === undefined) throw invalidRequest(`No such charge: '${chargeId as string}'`, { code: "resource_missing", param: "charge" });
      pi = typeof charge.payment_intent === "string" ? paymentIntents.get(charge.payment_intent) : undefined;
    }
    if (charge === undefined || charge.status !== "succeeded" || !charge.captured) {
      throw invalidRequest(`Charge ${charge?.id ?? ""} has not been captured or did not succeed and cannot be refunded.`, { code: "charge_not_refundable" });
    }
    if (charge.refunded) throw invalidRequest(`Charge ${charge.id} has already been refunded.`, { code: "charge_already_refunded" });
    const remaining = charge.amount_captured - charge.amount_refunded;
    const amount = amountParam ?? remaining;
    if (amount > remaining) {
      throw invalidRequest(
        `Refund amount (${formatMoney(amount, charge.currency)}) is greater than unrefunded amount on charge (${formatMoney(remaining, charge.currency)})`,
        { code: "amount_too_large", param: "amount" },
      );
    }
    const refund = {
      id: newId("re"),
      object: "refund",
      amount,
      balance_transaction: newId("txn"),
      charge: charge.id,
      created: now(),
      currency: charge.currency,
      customer: null,
      customer_account: null,
      destination_details: { card: { reference_status: "pending", reference_type: "acquirer_reference_number", type: "refund" }, type: "card" },
      metadata: meta,
      payment_intent: pi?.id ?? null,
      payment_method: charge.payment_method,
      reason: reason ?? null,
      receipt_number: null,
      source_transfer_reversal: null,
      status: "succeeded",
      transfer_reversal: null,
    } as Stripe.Refund;
    refunds.set(refund.id, refund);
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded >= charge.amount_captured;
    recordEvent("refund.created", refund, ctx);
    recordEvent("charge.refunded", charge, ctx);
    return { status: 200, body: expandRefund(refund, expand) };
  }

  function listEvents(query: Params): Reply {
    checkParams(query, ["limit", "starting_after", "ending_before", "type", "types", "created", "expand"], ["delivery_success"]);
    const limit = int(query, "limit", 1) ?? 10;
    if (limit > 100) throw paramError("This value must be less than or equal to 100.", "limit", "parameter_invalid_integer");
    const startingAfter = str(query, "starting_after");
    const endingBefore = str(query, "ending_before");
    if (startingAfter !== undefined && endingBefore !== undefined) {
      throw paramError("You may only specify one of these parameters: ending_before, starting_after.", "ending_before", "parameters_exclusive");
    }
    const type = str(query, "type");
    const typesParam = query.types;
    if (type !== undefined && typesParam !== undefined) throw paramError("You may only specify one of these parameters: type, types.", "types", "parameters_exclusive");
    const types = typesParam === undefined ? null : typeof typesParam === "string" ? [typesParam] : Array.isArray(typesParam) ? typesParam : null;
    if (typesParam !== undefined && (types === null || types.some((t) => typeof t !== "string"))) throw paramError("Invalid array", "types");
    const patterns = type !== undefined ? [type] : ((types as string[] | null) ?? []);
    // Stripe's type filter accepts a trailing `*` wildcard, e.g. `payment_intent.*`.
    const matchesType = (t: string): boolean =>
      patterns.length === 0 || patterns.some((p) => (p.endsWith("*") ? t.startsWith(p.slice(0, -1)) : t === p));
    const created = query.created;
    const range: Partial<Record<"gt" | "gte" | "lt" | "lte", number>> = {};
    if (typeof created === "string") {
      const n = int(query, "created", 0) as number;
      range.gte = n;
      range.lte = n;
    } else if (created !== undefined && !Array.isArray(created)) {
      for (const k of Object.keys(created)) {
        if (k !== "gt" && k !== "gte" && k !== "lt" && k !== "lte") throw paramError(`Received unknown parameter: created[${k}]`, `created[${k}]`, "parameter_unknown");
        range[k] = int(created, k, 0);
      }
    }
    const inRange = (t: number): boolean =>
      (range.gt === undefined || t > range.gt) && (range.gte === undefined || t >= range.gte) && (range.lt === undefined || t < range.lt) && (range.lte === undefined || t <= range.lte);
    const newestFirst = [...events].reverse().filter((e) => matchesType(e.type) && inRange(e.created));
    let page: Stripe.Event[];
    let hasMore: boolean;
    if (endingBefore !== undefined) {
      if (!eventsById.has(endingBefore)) throw invalidRequest(`No such event: '${endingBefore}'`, { code: "resource_missing", param: "ending_before", saved: false });
      const cursor = events.findIndex((e) => e.id === endingBefore);
      const newer = newestFirst.filter((e) => events.indexOf(e) > cursor);
      page = newer.slice(Math.max(0, newer.length - limit));
      hasMore = newer.length > limit;
    } else {
      let from = 0;
      if (startingAfter !== undefined) {
        if (!eventsById.has(startingAfter)) throw invalidRequest(`No such event: '${startingAfter}'`, { code: "resource_missing", param: "starting_after", saved: false });
        const cursor = events.findIndex((e) => e.id === startingAfter);
        from = newestFirst.findIndex((e) => events.indexOf(e) < cursor);
        if (from === -1) from = newestFirst.length;
      }
      page = newestFirst.slice(from, from + limit);
      hasMore = newestFirst.length > from + limit;
    }
    return { status: 200, body: { object: "list", data: page, has_more: hasMore, url: "/v1/events" } };
  }

  /** Routes one authenticated /v1 request. */
  function route(method: string, path: string, params: Params, ctx: RequestContext): Reply {
    const seg = path.split("/").slice(1).map((s) => decodeURIComponent(s));
    const [v1, resource, id, action, extra] = seg;
    if (v1 === "v1" && extra === undefined) {
      if (resource === "payment_intents") {
        if (method === "POST" && id === undefined) return createPaymentIntent(params, ctx);
        if (method === "GET" && id !== undefined && action === undefined) {
          checkParams(params, ["expand", "client_secret"]);
          const expand = expandList(params, PI_EXPAND);
          return { status: 200, body: expandPaymentIntent(getPaymentIntent(id), expand) };
        }
        if (method === "POST" && id !== undefined && action === "confirm") return confirmPaymentIntent(id, params, ctx);
        if (method === "POST" && id !== undefined && action === "capture") return capturePaymentIntent(id, params, ctx);
        if (method === "POST" && id !== undefined && action === "cancel") return cancelPaymentIntent(id, params, ctx);
      } else if (resource === "refunds") {
        if (method === "POST" && id === undefined) return createRefund(params, ctx);
        if (method === "GET" && id !== undefined && action === undefined) {
          checkParams(params, ["expand"]);
          const expand = expandList(params, ["charge", "payment_intent"]);
          const refund = refunds.get(id);
          if (refund === undefined) throw invalidRequest(`No such refund: '${id}'`, { code: "resource_missing", param: "id", status: 404 });
          return { status: 200, body: expandRefund(refund, expand) };
        }
      } else if (resource === "events") {
        if (method === "GET" && id === undefined) return listEvents(params);
        if (method === "GET" && id !== undefined && action === undefined) {
          checkParams(params, ["expand"]);
          const event = eventsById.get(id);
          if (event === undefined) throw invalidRequest(`No such event: '${id}'`, { code: "resource_missing", param: "id", status: 404 });
          return { status: 200, body: event };
        }
      }
    }
    throw invalidRequest(
      `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      { status: 404, saved: false },
    );
  }

  /* ---------------------------------------------- HTTP */

  function pruneIdempotency(): void {
    const cutoff = Date.now() - IDEMPOTENCY_TTL_MS;
    // Map iteration is insertion order, so expired keys are at the front.
    for (const [key, saved] of idempotency) {
      if (saved.createdAt >= cutoff && idempotency.size <= MAX_IDEMPOTENCY_KEYS) break;
      idempotency.delete(key);
    }
  }

  async function withKeyLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = keyLocks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    keyLocks.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (keyLocks.get(key) === tail) keyLocks.delete(key);
    }
  }

  function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      "Content-Type": "application/json",
      "Content-Length": String(Buffer.byteLength(body)),
      "Cache-Control": "no-cache, no-store",
      "Access-Control-Allow-Origin": "*",
      ...headers,
    });
    res.end(body);
  }

  function errorBody(error: StripeHttpError): string {
    return JSON.stringify({ error: error.body }, null, 2);
  }

  function handleFake(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method === "GET" && path === "/_fake/health") {
      send(res, 200, JSON.stringify({ ok: true, service: "stripe-fake", api_version: STRIPE_FAKE_API_VERSION, webhook_urls: webhookUrls }), {});
    } else if (req.method === "POST" && path === "/_fake/reset") {
      reset();
      send(res, 200, JSON.stringify({ ok: true }), {});
    } else if (req.method === "GET" && path === "/_fake/webhook_attempts") {
      send(res, 200, JSON.stringify({ attempts }), {});
    } else {
      send(res, 404, JSON.stringify({ error: { message: `stripe-fake: no control endpoint ${req.method ?? "?"} ${path}`, type: "invalid_request_error" } }), {});
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://stripe-fake.invalid");
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
    if (path.startsWith("/_fake/")) {
      req.resume();
      handleFake(req, res, path);
      return;
    }
    const method = (req.method ?? "GET").toUpperCase();
    const requestId = newId("req", 14);
    const versionHeader = req.headers["stripe-version"];
    const headers: Record<string, string> = {
      "Request-Id": requestId,
      "Stripe-Version": typeof versionHeader === "string" && versionHeader !== "" ? versionHeader : STRIPE_FAKE_API_VERSION,
    };
    const rawKey = req.headers["idempotency-key"];
    const idempotencyKey = method === "POST" && typeof rawKey === "string" && rawKey !== "" ? rawKey : null;
    if (idempotencyKey !== null) headers["Idempotency-Key"] = idempotencyKey;

    const key = presentedKey(req.headers.authorization);
    if (key === null || !secretMatches(key, expectedKey)) {
      req.resume();
      const message =
        key === null
          ? "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."
          : `Invalid API Key provided: ${redactKey(key)}`;
      send(res, 401, JSON.stringify({ error: { message, type: "invalid_request_error" } }, null, 2), { ...headers, "WWW-Authenticate": 'Basic realm="Stripe"' });
      return;
    }

    const execute = (params: Params): { status: number; body: string; saved: boolean } => {
      try {
        const reply = route(method, path, params, { requestId, idempotencyKey });
        return { status: reply.status, body: JSON.stringify(reply.body, null, 2), saved: true };
      } catch (error) {
        if (error instanceof StripeHttpError) return { status: error.status, body: errorBody(error), saved: error.saved };
        log(`stripe-fake: ${method} ${path} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        return { status: 500, body: errorBody(new StripeHttpError(500, { message: "An unknown error occurred", type: "api_error" })), saved: true };
      }
    };

    let params: Params;
    try {
      if (method === "POST") {
        const body = await readBody(req);
        params = decodeStripeForm(body);
        // Stripe also reads POST parameters from the query string.
        for (const [k, v] of Object.entries(decodeStripeForm(url.search.slice(1)))) params[k] ??= v;
      } else {
        req.resume();
        params = decodeStripeForm(url.search.slice(1));
      }
    } catch (error) {
      if (error instanceof StripeHttpError) {
        send(res, error.status, errorBody(error), headers);
        return;
      }
      throw error;
    }

    if (idempotencyKey === null) {
      const result = execute(params);
      send(res, result.status, result.body, headers);
      return;
    }
    if (idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      const error = invalidRequest(`Idempotency keys can be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters long. The key you provided has ${idempotencyKey.length} characters.`, { saved: false });
      send(res, 400, errorBody(error), headers);
      return;
    }
    const fingerprint = canonical(params);
    await withKeyLock(idempotencyKey, async () => {
      pruneIdempotency();
      const saved = idempotency.get(idempotencyKey);
      if (saved !== undefined) {
        if (saved.path !== path || saved.method !== method) {
          const error = new StripeHttpError(400, {
            message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${saved.method} ${saved.path}' vs '${method} ${path}'). Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
            type: "idempotency_error",
          });
          send(res, 400, errorBody(error), headers);
        } else if (saved.params !== fingerprint) {
          const error = new StripeHttpError(400, {
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
            type: "idempotency_error",
          });
          send(res, 400, errorBody(error), headers);
        } else {
          send(res, saved.status, saved.body, { ...headers, "Idempotent-Replayed": "true", "Original-Request": saved.requestId });
        }
        return;
      }
      const result = execute(params);
      if (result.saved) {
        idempotency.set(idempotencyKey, { method, path, params: fingerprint, status: result.status, body: result.body, requestId, createdAt: Date.now() });
      }
      send(res, result.status, result.body, headers);
    });
  }

  function reset(): void {
    generation++;
    for (const entry of retryTimers) {
      clearTimeout(entry.timer);
      entry.resolve();
    }
    retryTimers.clear();
    paymentIntents.clear();
    charges.clear();
    refunds.clear();
    paymentMethods.clear();
    events = [];
    eventsById.clear();
    idempotency.clear();
    attempts.length = 0;
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`stripe-fake: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(res, 500, errorBody(new StripeHttpError(500, { message: "An unknown error occurred", type: "api_error" })), {});
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | null = null;
  return {
    port,
    url: `http://${host}:${port}`,
    events: () => [...events].reverse(),
    webhookAttempts: () => [...attempts],
    webhooksIdle: async () => {
      while (deliveries.size > 0) await Promise.allSettled([...deliveries]);
    },
    addWebhookUrl: (url) => {
      if (!webhookUrls.includes(url)) webhookUrls.push(url);
    },
    reset,
    close: () => {
      closing ??= (async () => {
        reset();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // Keep-alive sockets from the SDK's agent would otherwise hold server.close() open.
        server.closeAllConnections();
        await stopped;
        await Promise.allSettled([...deliveries]);
      })();
      return closing;
    },
  };
}

/* ------------------------------------------------------------------------------------------------ */
/* CLI                                                                                              */
/* ------------------------------------------------------------------------------------------------ */

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  // Imported lazily so that importing this module (tests) does not read or validate NB_* variables.
  const { loadStackConfig, LOCAL_STRIPE_SECRET_KEY, LOCAL_STRIPE_WEBHOOK_SECRET } = await import("./config");
  const config = loadStackConfig();
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "webhook-url": { type: "string", multiple: true },
    },
  });
  const port = values.port === undefined ? config.stripeFakePort : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error("--port must be a TCP port");
  const host = values.host ?? "127.0.0.1";
  const fake = await startStripeFake({
    port,
    host,
    secretKey: LOCAL_STRIPE_SECRET_KEY,
    webhookSecret: LOCAL_STRIPE_WEBHOOK_SECRET,
    webhookUrls: values["webhook-url"] ?? [],
  });
  console.log(JSON.stringify({ event: "stripe-fake.listening", url: fake.url, port: fake.port, webhookUrls: values["webhook-url"] ?? [] }));
  const stop = (): void => {
    fake.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (isMainModule()) {
  main().catch((error: unknown) => {
    console.error(JSON.stringify({ event: "stripe-fake.failed", error: error instanceof Error ? error.message : String(error) }));
    process.exit(1);
  });
}
