/**
 * Two-factor authentication primitives: TOTP (RFC 6238 over HOTP, RFC 4226) secrets, provisioning URIs, codes and
 * verification with replay protection, plus one-time recovery codes.
 *
 * Runs inside Workers, so only WebCrypto (`crypto.subtle`, `crypto.getRandomValues`) is used — no Node APIs. The
 * same module also runs under Node 20+ in unit tests, which has the same globals; that is why constant-time
 * comparison is done by hand rather than with the Workers-only `crypto.subtle.timingSafeEqual`.
 */

/** RFC 4648 §6 alphabet. */
const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Reverse lookup for the alphabet; -1 marks characters that are not base32. */
const BASE32_LOOKUP: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < BASE32_ALPHABET.length; i++) table[BASE32_ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/** 160 bits: the HMAC-SHA1 block output size, the length RFC 4226 §4 recommends for shared secrets. */
const SECRET_BYTES = 20;

/** The only parameters we ever provision. Several authenticator apps silently ignore `digits`/`period`, so anything
 * else would produce codes the user's app cannot match. */
const DEFAULT_DIGITS = 6;
const DEFAULT_PERIOD_SECONDS = 30;

/** Upper bound on the verification window: a wide window multiplies the chance of guessing a valid code. */
const MAX_WINDOW = 10;

/**
 * Encodes bytes as RFC 4648 base32 (upper case) without `=` padding, the form authenticator apps expect in the
 * `secret` parameter.
 */
export function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    // Keep at most 12 bits in the accumulator (≤ 4 leftover + 8 new) so it never overflows 32-bit bitwise maths.
    buffer = ((buffer << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(buffer >>> bits) & 31];
    }
  }
  // The final partial group is padded with zero bits on the right (RFC 4648 §6).
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * Decodes RFC 4648 base32. Case-insensitive and tolerant of what people paste or type: whitespace anywhere and
 * trailing `=` padding are ignored. Throws an Error naming the offending character on anything else, and on lengths
 * no encoder can produce (1, 3 or 6 characters in the last group), which indicates a truncated secret.
 */
export function base32Decode(s: string): Uint8Array<ArrayBuffer> {
  const clean = s.replace(/\s+/g, "").replace(/=+$/, "").toUpperCase();
  const out = new Uint8Array(Math.floor((clean.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let index = 0;
  for (let i = 0; i < clean.length; i++) {
    const code = clean.charCodeAt(i);
    const value = code < 128 ? (BASE32_LOOKUP[code] as number) : -1;
    if (value < 0) {
      throw new Error(`Invalid base32: character ${JSON.stringify(clean[i])} at position ${i} is not in A-Z or 2-7`);
    }
    // ≤ 7 leftover + 5 new bits, masked for the same reason as in base32Encode.
    buffer = ((buffer << 5) | value) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (buffer >>> bits) & 0xff;
    }
  }
  // Checked after the characters so a typo is reported as such rather than as a length problem.
  const rem = clean.length % 8;
  if (rem === 1 || rem === 3 || rem === 6) {
    throw new Error(`Invalid base32: length ${clean.length} is not a possible encoded length (truncated input?)`);
  }
  // Leftover bits (< 8) are the encoder's zero padding and carry no data.
  return out;
}

/** Returns a new random TOTP shared secret: 20 bytes from the CSPRNG, base32 without padding (32 characters). */
export function generateTotpSecret(): string {
  return base32Encode(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/** encodeURIComponent leaves `!'()*` alone; some QR/URI parsers in authenticator apps treat them specially, so
 * encode strictly per RFC 3986 unreserved characters. */
function strictEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Builds the `otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30` provisioning
 * URI (the Google Authenticator Key URI format) to render as a QR code.
 *
 * Issuer and account are percent-encoded in the label (spaces as `%20`, not `+`, which apps would show literally);
 * the colon between them stays literal. The issuer is repeated as a parameter because newer apps prefer it over the
 * label prefix. Throws if either contains a colon (apps split the label on it) or is empty, or if the secret is not
 * valid base32; the secret is emitted normalised (upper case, no spaces or padding).
 */
export function totpUri(opts: {
  secret: string;
  accountName: string;
  issuer: string;
  digits?: 6;
  period?: 30;
}): string {
  const issuer = opts.issuer.trim();
  const accountName = opts.accountName.trim();
  if (!issuer || !accountName) throw new Error("totpUri: issuer and accountName must not be empty");
  if (issuer.includes(":") || accountName.includes(":")) {
    throw new Error("totpUri: issuer and accountName must not contain ':' (it separates them in the label)");
  }
  const secretBytes = base32Decode(opts.secret);
  if (secretBytes.length === 0) throw new Error("totpUri: secret must not be empty");
  const secret = base32Encode(secretBytes);
  const digits = opts.digits ?? DEFAULT_DIGITS;
  const period = opts.period ?? DEFAULT_PERIOD_SECONDS;
  const label = `${strictEncode(issuer)}:${strictEncode(accountName)}`;
  const query = [
    `secret=${secret}`,
    `issuer=${strictEncode(issuer)}`,
    "algorithm=SHA1",
    `digits=${digits}`,
    `period=${period}`,
  ].join("&");
  return `otpauth://totp/${label}?${query}`;
}

/** Derived rather than written as `CryptoKey`: the module is also type-checked against @types/node (for the unit
 * tests), which has no global `CryptoKey`. */
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

function importHmacKey(secret: string): Promise<HmacKey> {
  const keyBytes = base32Decode(secret);
  if (keyBytes.length === 0) throw new Error("TOTP secret must not be empty");
  // SHA-1 is what RFC 6238 and every authenticator app default to; HMAC-SHA1 is not affected by SHA-1 collisions.
  return crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
}

/** HOTP (RFC 4226 §5.3): HMAC of the 8-byte big-endian counter, dynamic truncation, modulo 10^digits. */
async function hotp(key: HmacKey, counter: number, digits: number): Promise<string> {
  const message = new ArrayBuffer(8);
  const view = new DataView(message);
  // Counters exceed 32 bits only in the far future, but split anyway: bitwise ops would silently truncate.
  view.setUint32(0, Math.floor(counter / 2 ** 32));
  view.setUint32(4, counter >>> 0);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const binary =
    (((mac[offset] as number) & 0x7f) << 24) |
    ((mac[offset + 1] as number) << 16) |
    ((mac[offset + 2] as number) << 8) |
    (mac[offset + 3] as number);
  return String(binary % 10 ** digits).padStart(digits, "0");
}

function checkPeriod(period: number): void {
  if (!Number.isSafeInteger(period) || period <= 0) throw new RangeError(`TOTP period must be a positive integer`);
}

/** The RFC 6238 time step containing `atMs` (Unix epoch, T0 = 0). */
function timeStep(atMs: number, period: number): number {
  if (!Number.isFinite(atMs) || atMs < 0) throw new RangeError("TOTP time must be a non-negative finite number");
  return Math.floor(atMs / 1000 / period);
}

/**
 * Computes the RFC 6238 TOTP code (HMAC-SHA1) for the base32 `secret` at `atMs` (milliseconds since the Unix
 * epoch), zero-padded to `digits` (default 6, 6–8 allowed as in RFC 4226) with a `period`-second step (default 30).
 */
export async function totpCode(
  secret: string,
  atMs: number,
  opts: { digits?: number; period?: number } = {},
): Promise<string> {
  const digits = opts.digits ?? DEFAULT_DIGITS;
  const period = opts.period ?? DEFAULT_PERIOD_SECONDS;
  if (!Number.isInteger(digits) || digits < 6 || digits > 8) throw new RangeError("TOTP digits must be 6, 7 or 8");
  checkPeriod(period);
  return hotp(await importHmacKey(secret), timeStep(atMs, period), digits);
}

/** Equality of two strings whose running time does not depend on where they differ. */
function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

/**
 * Verifies a 6-digit TOTP code (30-second steps) typed by the user.
 *
 * - Surrounding whitespace and inner spaces are stripped (apps display codes as `123 456`); anything but exactly
 *   6 ASCII digits is rejected.
 * - Steps t−window..t+window are accepted (default 1 each side) to absorb clock drift and typing time.
 * - Steps ≤ `lastUsedStep` are rejected: a code is single-use (RFC 6238 §5.2), so an observed code cannot be
 *   replayed within its validity window. On success the caller must persist the returned `step` as the new
 *   `lastUsedStep`, atomically with accepting the login.
 * - Every candidate in the window is computed and compared in constant time, without early exit, so timing does
 *   not reveal which step (or digit) matched.
 */
export async function verifyTotp(
  secret: string,
  code: string,
  opts: { atMs: number; window?: number; lastUsedStep?: number | null },
): Promise<{ ok: true; step: number } | { ok: false }> {
  const window = opts.window ?? 1;
  if (!Number.isInteger(window) || window < 0 || window > MAX_WINDOW) {
    throw new RangeError(`TOTP window must be an integer between 0 and ${MAX_WINDOW}`);
  }
  const candidate = code.trim().replace(/ /g, "");
  // A strict pattern rather than Number()/parseInt, which would accept "1e5", "+12345", "0x1F" or "12345.".
  if (!/^[0-9]{6}$/.test(candidate)) return { ok: false };

  const key = await importHmacKey(secret);
  const current = timeStep(opts.atMs, DEFAULT_PERIOD_SECONDS);
  const lastUsed = opts.lastUsedStep ?? -1;
  let matched = -1;
  for (let step = current - window; step <= current + window; step++) {
    // Skipping depends only on the clock and the stored step, not on the secret or the code, so it leaks nothing.
    if (step < 0 || step <= lastUsed) continue;
    const expected = await hotp(key, step, DEFAULT_DIGITS);
    // Keep the earliest match but keep looping, so the work done is the same wherever the match is.
    if (constantTimeEqual(expected, candidate) && matched < 0) matched = step;
  }
  return matched >= 0 ? { ok: true, step: matched } : { ok: false };
}

/**
 * Recovery-code alphabet: digits 2–9 and lower-case letters without i, l and o, so nothing can be confused with
 * 0/O, 1/l/I when read off paper. 31 symbols × 10 characters ≈ 49.5 bits per code.
 */
const RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz";
const RECOVERY_LENGTH = 10;
/** Largest multiple of the alphabet size that fits in a byte; bytes at or above it are redrawn to avoid modulo bias. */
const RECOVERY_BYTE_LIMIT = 256 - (256 % RECOVERY_ALPHABET.length);

function randomRecoveryCode(): string {
  let raw = "";
  while (raw.length < RECOVERY_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(16))) {
      if (byte >= RECOVERY_BYTE_LIMIT) continue;
      raw += RECOVERY_ALPHABET[byte % RECOVERY_ALPHABET.length];
      if (raw.length === RECOVERY_LENGTH) break;
    }
  }
  return `${raw.slice(0, 5)}-${raw.slice(5)}`;
}

/**
 * Generates `count` (default 10, at most 100) distinct single-use recovery codes, each 10 characters from an
 * unambiguous alphabet formatted `xxxxx-xxxxx`. Show them to the user once; store only hashRecoveryCode() of each.
 */
export function generateRecoveryCodes(count = 10): string[] {
  if (!Number.isInteger(count) || count < 1 || count > 100) {
    throw new RangeError("Recovery code count must be an integer between 1 and 100");
  }
  // Collisions at ~50 bits are practically impossible, but a duplicate would silently reduce the usable codes.
  const codes = new Set<string>();
  while (codes.size < count) codes.add(randomRecoveryCode());
  return [...codes];
}

/** Canonical form of a typed recovery code: lower case, with whitespace and hyphens removed. */
export function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]+/g, "");
}

/**
 * SHA-256 hex of the normalised recovery code, for storage and lookup.
 *
 * A fast, unsalted hash is deliberate: unlike passwords, these codes are ~50 bits drawn from a CSPRNG, so a stolen
 * hash cannot be brute-forced in practice and a slow KDF would add nothing but CPU cost inside the Worker. Being
 * deterministic also lets the caller find the matching row by hash.
 */
export async function hashRecoveryCode(code: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(normaliseRecoveryCode(code)));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
