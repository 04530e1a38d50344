/**
 * Field-level encryption for PII at rest (phone numbers, postal addresses): AES-256-GCM under keys from the
 * `PII_KEYS` secret, each with a key id (kid) so keys can rotate without rewriting every row at once.
 *
 * Envelope: `v1.<kid>.<iv base64url>.<ciphertext+tag base64url>` (unpadded base64url, so it is safe in any text
 * column, URL or log line). The caller's `context` (e.g. `user:42:phone`) is the GCM additional authenticated data:
 * it is not stored, but a ciphertext copied to another row or field no longer authenticates.
 *
 * Runs in Workers: WebCrypto and atob/btoa only, no Node APIs.
 */

/** Kids appear in every stored envelope and in logs, so they are short, lowercase and unambiguous. */
const KID_PATTERN = /^[a-z0-9]{1,16}$/;
const KEY_BYTES = 32; // AES-256
/** 96-bit IVs are GCM's native size; random ones are safe for ~2^32 encryptions per key, far beyond our volume. */
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ENVELOPE_VERSION = "v1";

const utf8Encoder = new TextEncoder();
/**
 * fatal: a decrypted payload that is not valid UTF-8 is a failure, never silently patched with U+FFFD.
 * ignoreBOM: keep a leading U+FEFF the caller encrypted instead of stripping it, so round trips are exact.
 */
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The WebCrypto key type, spelled via `crypto` because Node's typings (used when tests typecheck this file) have
 * no global `CryptoKey` while Workers' do; both agree on what importKey returns.
 */
type AesKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/**
 * Why decryption failed, for metrics and alerting; never part of the message. `unknown_key` after a deploy usually
 * means a retired key was removed from `PII_KEYS` too early; `authentication` means wrong context or tampering.
 */
export type PiiDecryptFailure = "malformed" | "unknown_key" | "authentication";

/**
 * Thrown by decryptPii / decryptPiiJson / needsReencryption for any envelope that cannot be opened. The message is
 * deliberately constant: it carries no plaintext, ciphertext or key material, so it is safe to log and to surface.
 */
export class PiiDecryptError extends Error {
  override readonly name = "PiiDecryptError";
  /** Coarse, non-sensitive classification of the failure. */
  readonly reason: PiiDecryptFailure;

  constructor(reason: PiiDecryptFailure) {
    super("PII decryption failed");
    this.reason = reason;
  }
}

/**
 * The keys from `PII_KEYS`, in secret order; the first is current (used for all new encryptions), the rest only
 * decrypt. Build one with parsePiiKeyRing (once per isolate, e.g. cached alongside config). Raw key bytes live in
 * private fields, out of JSON.stringify and inspection; each key is imported as a non-extractable AES-GCM CryptoKey
 * on first use and cached per kid, so a request touching one kid pays for one import. The raw bytes are not wiped
 * after import: the `PII_KEYS` string itself stays in `env` for the isolate's lifetime, so wiping a copy buys nothing.
 */
export class PiiKeyRing {
  /** Kid used for new encryptions. */
  readonly currentKid: string;
  /** Every kid in the ring, current first. */
  readonly kids: readonly string[];

  readonly #raw: Map<string, Uint8Array<ArrayBuffer>>;
  /** Promises rather than keys so concurrent first uses in one isolate share a single importKey. */
  readonly #imported = new Map<string, Promise<AesKey>>();

  private constructor(entries: ReadonlyMap<string, Uint8Array<ArrayBuffer>>) {
    const kids = [...entries.keys()];
    const current = kids[0];
    if (current === undefined) throw new Error("PII_KEYS has no keys");
    this.currentKid = current;
    this.kids = Object.freeze(kids);
    this.#raw = new Map(entries);
  }

  /** @internal Use parsePiiKeyRing; this exists so the constructor can stay private. */
  static fromValidatedEntries(entries: ReadonlyMap<string, Uint8Array<ArrayBuffer>>): PiiKeyRing {
    return new PiiKeyRing(entries);
  }

  /** Whether `kid` is in the ring (i.e. envelopes under it can be decrypted). */
  has(kid: string): boolean {
    return this.#raw.has(kid);
  }

  /**
   * The non-extractable AES-GCM CryptoKey for `kid`, imported on first use and cached; undefined (not a
   * promise) for a kid not in the ring. Safe to expose: a non-extractable key can be used but never read back.
   */
  cryptoKey(kid: string): Promise<AesKey> | undefined {
    const cached = this.#imported.get(kid);
    if (cached) return cached;
    const raw = this.#raw.get(kid);
    if (!raw) return undefined;
    const pending = crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
    this.#imported.set(kid, pending);
    // Never cache a failure (cannot happen for a validated 32-byte key, but a stuck rejection would be permanent).
    pending.catch(() => this.#imported.delete(kid));
    return pending;
  }

  /** Keeps key material out of accidental `String(ring)` / template-literal logging. */
  toString(): string {
    return `PiiKeyRing(current=${this.currentKid}, kids=${this.kids.join(",")})`;
  }

  /** Keeps key material out of accidental JSON.stringify (private fields are skipped anyway; this is explicit). */
  toJSON(): { currentKid: string; kids: readonly string[] } {
    return { currentKid: this.currentKid, kids: this.kids };
  }
}

/**
 * Parses and strictly validates the `PII_KEYS` secret: `kid1:key1,kid2:key2,...`, first entry current.
 * - kid: `^[a-z0-9]{1,16}$`, unique within the ring;
 * - key: exactly 32 bytes as base64 or base64url (padding optional, one alphabet, canonical encoding).
 * Whitespace around the whole secret and around each entry is ignored (secrets pasted into `wrangler secret put`
 * often gain a newline); nothing else is forgiven, since a silently misread key would make data unreadable later.
 * Throws an Error naming the problem and the 1-based entry position; messages never echo key material or, for a
 * malformed entry, any of its text (a swapped `key:kid` would otherwise put the key in the log).
 */
export function parsePiiKeyRing(secret: string): PiiKeyRing {
  const trimmed = secret.trim();
  if (trimmed === "") throw new Error("PII_KEYS is empty: expected kid:base64key[,kid:base64key...]");
  const entries = new Map<string, Uint8Array<ArrayBuffer>>();
  trimmed.split(",").forEach((rawEntry, index) => {
    const where = `PII_KEYS entry ${index + 1}`;
    const entry = rawEntry.trim();
    if (entry === "") throw new Error(`${where} is empty (stray comma?)`);
    const colon = entry.indexOf(":");
    if (colon < 0) throw new Error(`${where} is not of the form kid:base64key`);
    const kid = entry.slice(0, colon);
    const encodedKey = entry.slice(colon + 1);
    if (!KID_PATTERN.test(kid)) throw new Error(`${where} has an invalid kid: expected ${KID_PATTERN.source}`);
    if (entries.has(kid)) throw new Error(`${where} repeats kid "${kid}"`);
    const key = decodeKey(encodedKey);
    if (!key) throw new Error(`${where} (kid "${kid}") key is not valid base64 or base64url`);
    if (key.length !== KEY_BYTES) {
      throw new Error(`${where} (kid "${kid}") key must be exactly ${KEY_BYTES} bytes, got ${key.length}`);
    }
    entries.set(kid, key);
  });
  return PiiKeyRing.fromValidatedEntries(entries);
}

/**
 * Encrypts `plaintext` under the ring's current key with a fresh random IV, binding `context` (e.g.
 * `user:<id>:phone`) as additional authenticated data. Returns `v1.<kid>.<iv>.<ciphertext+tag>`; the same input
 * encrypts differently every time. Throws TypeError for an empty context (it would bind the ciphertext to nothing)
 * or a string with lone surrogates (UTF-8 encoding would silently change it).
 */
export async function encryptPii(ring: PiiKeyRing, plaintext: string, context: string): Promise<string> {
  assertContext(context);
  // In /u mode a valid surrogate pair is one code point, so \p{Cs} only matches lone (unencodable) surrogates.
  if (/\p{Cs}/u.test(plaintext)) throw new TypeError("PII plaintext is not well-formed Unicode");
  const kid = ring.currentKid;
  const key = await ring.cryptoKey(kid);
  if (!key) throw new Error("PII key ring has no current key"); // unreachable: currentKid is always in the ring
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: utf8Encoder.encode(context), tagLength: TAG_BYTES * 8 },
    key,
    utf8Encoder.encode(plaintext),
  );
  return [ENVELOPE_VERSION, kid, base64UrlEncode(iv), base64UrlEncode(new Uint8Array(sealed))].join(".");
}

/**
 * Decrypts an envelope made by encryptPii with the same `context`. Any failure (malformed or truncated envelope,
 * kid not in the ring, wrong context, tampering) throws PiiDecryptError with a generic message. Throws TypeError
 * for an empty context (a caller bug, not bad data).
 */
export async function decryptPii(ring: PiiKeyRing, envelope: string, context: string): Promise<string> {
  assertContext(context);
  const parsed = parseEnvelope(envelope);
  const key = await ring.cryptoKey(parsed.kid);
  if (!key) throw new PiiDecryptError("unknown_key");
  let opened: ArrayBuffer;
  try {
    opened = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: parsed.iv, additionalData: utf8Encoder.encode(context), tagLength: TAG_BYTES * 8 },
      key,
      parsed.sealed,
    );
  } catch {
    // WebCrypto's OperationError says nothing useful (GCM cannot tell wrong context from tampering) and is dropped.
    throw new PiiDecryptError("authentication");
  }
  try {
    return utf8Decoder.decode(opened);
  } catch {
    throw new PiiDecryptError("malformed"); // authenticated but not UTF-8: not something encryptPii produces
  }
}

/**
 * True when the envelope was sealed under a key other than the ring's current one, i.e. a background job should
 * decrypt and re-encrypt it after a rotation. Also true for a kid no longer in the ring (decryptPii will then fail
 * with reason `unknown_key`). Does no crypto; throws PiiDecryptError (`malformed`) if the envelope is not one.
 */
export function needsReencryption(ring: PiiKeyRing, envelope: string): boolean {
  return parseEnvelope(envelope).kid !== ring.currentKid;
}

/**
 * encryptPii for structured values such as postal addresses: JSON.stringify, then encrypt. Throws TypeError for
 * values JSON cannot represent at top level (undefined, functions, symbols).
 */
export async function encryptPiiJson<T>(ring: PiiKeyRing, value: T, context: string): Promise<string> {
  const json: string | undefined = JSON.stringify(value);
  if (json === undefined) throw new TypeError("PII value is not JSON-serialisable");
  return encryptPii(ring, json, context);
}

/**
 * decryptPii then JSON.parse. The result is typed as T without a runtime check: the envelope is authenticated, so
 * its shape is whatever this code wrote; callers whose schema evolves should validate (e.g. with zod). Failures,
 * including invalid JSON, throw PiiDecryptError.
 */
export async function decryptPiiJson<T>(ring: PiiKeyRing, envelope: string, context: string): Promise<T> {
  const json = await decryptPii(ring, envelope, context);
  try {
    return JSON.parse(json) as T;
  } catch {
    throw new PiiDecryptError("malformed");
  }
}

interface ParsedEnvelope {
  kid: string;
  iv: Uint8Array<ArrayBuffer>;
  sealed: Uint8Array<ArrayBuffer>;
}

/** Strict: exactly four parts, known version, valid kid, canonical unpadded base64url, exact IV and minimum size. */
function parseEnvelope(envelope: string): ParsedEnvelope {
  const parts = envelope.split(".");
  if (parts.length !== 4) throw new PiiDecryptError("malformed");
  const [version, kid, ivText, sealedText] = parts as [string, string, string, string];
  if (version !== ENVELOPE_VERSION || !KID_PATTERN.test(kid)) throw new PiiDecryptError("malformed");
  const iv = base64UrlDecode(ivText);
  const sealed = base64UrlDecode(sealedText);
  // An empty plaintext still yields a full tag, so anything shorter is truncated.
  if (!iv || iv.length !== IV_BYTES || !sealed || sealed.length < TAG_BYTES) throw new PiiDecryptError("malformed");
  return { kid, iv, sealed };
}

function assertContext(context: string): void {
  if (context === "") throw new TypeError("PII context must be non-empty (e.g. user:<id>:phone)");
}

function bytesToBinary(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return binary;
}

function binaryToBytes(binary: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function base64UrlEncode(bytes: Uint8Array): string {
  return btoa(bytesToBinary(bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Unpadded base64url to bytes, or undefined. Canonical only (re-encoding must give the same text), so an envelope
 * has exactly one spelling and nonzero trailing bits cannot hide in it.
 */
function base64UrlDecode(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const padded = text.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const bytes = binaryToBytes(atob(padded));
  return base64UrlEncode(bytes) === text ? bytes : undefined;
}

/**
 * A key in base64 or base64url, padded or not, but not a mix of the two alphabets and not with non-canonical
 * trailing bits (both suggest a corrupted or mangled secret). Returns undefined rather than throwing so no decoder
 * error (which might quote its input) can reach the caller.
 */
function decodeKey(text: string): Uint8Array<ArrayBuffer> | undefined {
  const match = /^([A-Za-z0-9+/_-]+)(={0,2})$/.exec(text);
  if (!match) return undefined;
  const body = match[1] ?? "";
  const padding = match[2] ?? "";
  if (/[+/]/.test(body) && /[-_]/.test(body)) return undefined;
  // Padding is optional, but if present it must be exactly what the body length calls for.
  if (padding !== "" && padding.length !== (4 - (body.length % 4)) % 4) return undefined;
  return base64UrlDecode(body.replaceAll("+", "-").replaceAll("/", "_"));
}
