/**
 * Password hashing and password policy for accounts.
 *
 * Hashing is PBKDF2-HMAC-SHA256 through WebCrypto because that is the only password KDF a Worker can run natively:
 * scrypt/argon2 would need WebAssembly compiled from bytes (Workers forbid it) or a pure-JS KDF far too slow for the
 * CPU budget. Workers' WebCrypto caps PBKDF2 at 100,000 iterations, so that is what we use. Hashes are stored in a
 * PHC-style string that carries its own parameters, so parameters can change later and old hashes still verify
 * (and report `needsRehash` so the login path can upgrade them).
 *
 * The policy rejects obviously guessable passwords ("breached shapes") with a cheap deny list first, then asks
 * zxcvbn (common dictionary + keyboard graphs only) for a score of at least 3.
 */
import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import type { TranslationKeys } from "@zxcvbn-ts/core";
import { adjacencyGraphs, dictionary } from "@zxcvbn-ts/language-common";

// ---------------------------------------------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------------------------------------------

/** Current hashing parameters. Changing them makes `verifyPassword` report `needsRehash` for older hashes. */
export const PASSWORD_PARAMS = { algorithm: "pbkdf2-sha256", iterations: 100_000, saltBytes: 16, keyBytes: 32 } as const;

/** Parameters of one PBKDF2 hash (the current ones are PASSWORD_PARAMS). */
export interface PasswordParams {
  readonly algorithm: "pbkdf2-sha256";
  readonly iterations: number;
  readonly saltBytes: number;
  readonly keyBytes: number;
}

/** Result of checking a password against a stored hash. */
export interface VerifyResult {
  /** The password matches the stored hash. */
  ok: boolean;
  /** The password matched but the hash was made with other parameters than PASSWORD_PARAMS: store a new hash. */
  needsRehash: boolean;
}

/**
 * Production Workers refuse PBKDF2 above this many iterations (NotSupportedError; workerd#1346). Local workerd
 * (`wrangler dev`, miniflare) does not enforce it, so we check it ourselves: more would pass every local test and
 * then fail every sign-up in production.
 */
const MAX_ITERATIONS = 100_000;
// Bounds on what a stored hash may declare. They keep a corrupted or hostile row from asking for absurd work or
// memory, and they refuse salts/keys too short to mean anything.
const MIN_SALT_BYTES = 8;
const MAX_SALT_BYTES = 64;
const MIN_KEY_BYTES = 16;
const MAX_KEY_BYTES = 64;
/** Longest encoded hash we parse; longer input is malformed before any regex runs on it. */
const MAX_ENCODED_LENGTH = 256;

const encoder = new TextEncoder();

/** Standard base64 without padding (the PHC string format's B64). */
function toB64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/=+$/, "");
}

/**
 * Strict inverse of toB64: returns null for anything that is not canonical unpadded base64 (wrong alphabet, bad
 * length, non-zero trailing bits), so one stored hash has exactly one spelling.
 */
function fromB64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]+$/.test(text) || text.length % 4 === 1) return null;
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return toB64(bytes) === text ? bytes : null;
}

/**
 * Passwords are compared as NFKC so the same password typed on different keyboards/IMEs (full-width vs ASCII
 * letters, composed vs decomposed accents, ligatures) produces the same bytes and therefore the same hash.
 */
function normalizePassword(password: string): string {
  return password.normalize("NFKC");
}

function assertParams(params: PasswordParams): void {
  const intIn = (n: number, min: number, max: number): boolean => Number.isInteger(n) && n >= min && n <= max;
  if (
    params.algorithm !== "pbkdf2-sha256" ||
    !intIn(params.iterations, 1, MAX_ITERATIONS) ||
    !intIn(params.saltBytes, MIN_SALT_BYTES, MAX_SALT_BYTES) ||
    !intIn(params.keyBytes, MIN_KEY_BYTES, MAX_KEY_BYTES)
  ) {
    // Programmer error (params are never user input), so throwing is right here.
    throw new RangeError("Invalid password hashing parameters");
  }
}

async function pbkdf2(password: string, salt: Uint8Array, iterations: number, keyBytes: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(normalizePassword(password)), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, keyBytes * 8);
  return new Uint8Array(bits);
}

function encodeHash(iterations: number, salt: Uint8Array, hash: Uint8Array): string {
  return `$pbkdf2-sha256$i=${iterations}$${toB64(salt)}$${toB64(hash)}`;
}

interface ParsedHash {
  iterations: number;
  salt: Uint8Array;
  hash: Uint8Array;
}

/** `$pbkdf2-sha256$i=<iterations>$<salt>$<hash>`; null for anything else (never throws). */
function parseHash(encoded: string): ParsedHash | null {
  if (typeof encoded !== "string" || encoded.length > MAX_ENCODED_LENGTH) return null;
  // Digits without a leading zero, so "i=0100000" is not a second spelling of the same hash.
  const m = /^\$pbkdf2-sha256\$i=([1-9][0-9]{0,5})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(encoded);
  if (!m) return null;
  const iterations = Number(m[1]);
  const salt = fromB64(m[2] as string);
  const hash = fromB64(m[3] as string);
  if (iterations > MAX_ITERATIONS || !salt || !hash) return null;
  if (salt.length < MIN_SALT_BYTES || salt.length > MAX_SALT_BYTES) return null;
  if (hash.length < MIN_KEY_BYTES || hash.length > MAX_KEY_BYTES) return null;
  return { iterations, salt, hash };
}

/** Equality that always walks the full length (XOR-accumulate, no early exit), so timing reveals no prefix. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  const length = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * Hashes a password (NFKC-normalised) with a fresh random salt and returns the PHC-style string
 * `$pbkdf2-sha256$i=100000$<salt b64>$<hash b64>` (unpadded base64). Does not apply the password policy: call
 * `checkPasswordPolicy` first when a user chooses a password.
 */
export async function hashPassword(password: string, params: PasswordParams = PASSWORD_PARAMS): Promise<string> {
  assertParams(params);
  const salt = crypto.getRandomValues(new Uint8Array(params.saltBytes));
  const hash = await pbkdf2(password, salt, params.iterations, params.keyBytes);
  return encodeHash(params.iterations, salt, hash);
}

/**
 * A well-formed hash at the current parameters that no password matches in practice (fixed salt, arbitrary key).
 * Used to spend a real verification's work when there is no real hash to check.
 */
const DUMMY_HASH = encodeHash(
  PASSWORD_PARAMS.iterations,
  new Uint8Array(PASSWORD_PARAMS.saltBytes).fill(0x5a),
  new Uint8Array(PASSWORD_PARAMS.keyBytes).fill(0xa5),
);
const DUMMY_PARSED = parseHash(DUMMY_HASH) as ParsedHash;

async function deriveAndCompare(password: string, stored: ParsedHash): Promise<boolean> {
  try {
    const candidate = await pbkdf2(password, stored.salt, stored.iterations, stored.hash.length);
    return constantTimeEqual(candidate, stored.hash);
  } catch {
    // A runtime that rejects the input (e.g. an unusual key) must not turn a login into a 500.
    return false;
  }
}

/**
 * Checks a password against a stored hash. Never throws: an unknown algorithm or malformed hash is `ok: false`.
 * A malformed hash still costs one dummy derivation so that accounts without a usable hash (e.g. not yet set) are
 * not distinguishable by response time. `needsRehash` is true when the password matched a hash whose parameters
 * differ from PASSWORD_PARAMS (the caller should then store `hashPassword(password)`).
 */
export async function verifyPassword(password: string, encoded: string): Promise<VerifyResult> {
  const stored = parseHash(encoded);
  if (!stored) {
    await deriveAndCompare(password, DUMMY_PARSED);
    return { ok: false, needsRehash: false };
  }
  const ok = await deriveAndCompare(password, stored);
  const needsRehash =
    ok &&
    (stored.iterations !== PASSWORD_PARAMS.iterations ||
      stored.salt.length !== PASSWORD_PARAMS.saltBytes ||
      stored.hash.length !== PASSWORD_PARAMS.keyBytes);
  return { ok, needsRehash };
}

/**
 * Spends the same work as a real `verifyPassword` (parse, PBKDF2 at the current parameters, compare) against a fixed
 * dummy hash, then discards the result. Call it when the login email is unknown so that answer takes as long as a
 * wrong password and response time does not reveal which emails have accounts.
 */
export async function dummyVerify(password: string): Promise<void> {
  await verifyPassword(password, DUMMY_HASH);
}

// ---------------------------------------------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------------------------------------------

/** Length bounds in characters (code points, after NFKC). The maximum bounds the policy's own work. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;
/** Lowest acceptable zxcvbn score (0..4); 3 = "safely unguessable: moderate protection from offline attack". */
export const PASSWORD_MIN_SCORE = 3;

/** Why a password was refused. */
export type PasswordPolicyCode =
  | "PASSWORD_TOO_SHORT"
  | "PASSWORD_TOO_LONG"
  | "PASSWORD_TOO_WEAK"
  | "PASSWORD_BREACHED_SHAPE";

/** Outcome of `checkPasswordPolicy`. Messages and suggestions never contain the password. */
export type PasswordPolicyResult =
  | { ok: true }
  | { ok: false; code: PasswordPolicyCode; message: string; suggestions: string[] };

/** What we know about the user, so passwords built from it are refused. */
export interface PasswordPolicyContext {
  email?: string;
  name?: string;
}

/**
 * Very common base words of guessable passwords (`Password1!`, `Welcome2024!`, `Summer2023`...) plus our own brand,
 * which users reach for first on our sign-up page. Compared after lowercasing, un-leeting and stripping leading and
 * trailing digits/symbols, so the list holds base words only.
 */
const COMMON_BASE_WORDS: ReadonlySet<string> = new Set([
  // the service itself
  "nexusbooks", "nexusbook", "nexus", "bookstore", "bookshop", "books", "book", "reader", "reading", "library",
  "ebook", "ebooks", "author", "novel",
  // password-ish
  "password", "passwort", "passwd", "pass", "passw", "secret", "letmein", "welcome", "changeme", "default", "login",
  "admin", "administrator", "root", "user", "guest", "test", "testing", "temp", "master", "access", "private",
  "qwerty", "qwertz", "azerty", "asdf", "zxcvbn", "abc", "abcd",
  // seasons, months, days
  "summer", "winter", "spring", "autumn", "fall", "january", "february", "march", "april", "may", "june", "july",
  "august", "september", "october", "november", "december", "monday", "friday", "sunday",
  // perennial favourites of breach lists
  "iloveyou", "love", "lovely", "hello", "monkey", "dragon", "shadow", "sunshine", "princess", "superman", "batman",
  "starwars", "pokemon", "football", "baseball", "soccer", "hockey", "basketball", "michael", "jennifer", "jordan",
  "hunter", "ranger", "buster", "tigger", "charlie", "pepper", "ginger", "cookie", "chocolate", "flower", "angel",
  "freedom", "whatever", "trustno", "matrix", "killer", "money", "family", "friends", "computer", "internet",
  "google", "apple", "samsung", "microsoft", "facebook", "amazon", "london", "paris", "berlin", "america", "canada",
  "cheese", "orange", "banana", "purple", "silver", "golden", "liverpool", "chelsea", "arsenal",
]);

/** Leetspeak read back as letters. `1` is ambiguous (i or l), so un-leeting yields two candidates. */
const LEET: Readonly<Record<string, string>> = { "0": "o", "3": "e", "4": "a", "5": "s", "@": "a", $: "s" };

function unleet(s: string): string[] {
  const base = [...s].map((ch) => LEET[ch] ?? ch).join("");
  return base.includes("1") ? [base.replaceAll("1", "i"), base.replaceAll("1", "l")] : [base];
}

/** Key rows (several layouts), alphabet and digits: three or more neighbours in a row, either way, form a run. */
const SEQUENCES: readonly string[] = [
  "`1234567890-=",
  "qwertyuiop[]\\",
  "asdfghjkl;'",
  "zxcvbnm,./",
  "qwertzuiopü",
  "yxcvbnm",
  "azertyuiop",
  "qsdfghjklm",
  "wxcvbn",
  "abcdefghijklmnopqrstuvwxyz",
  "01234567890",
];
const MIN_RUN = 3;

/** Fraction of characters that belong to keyboard/alphabet/digit runs of MIN_RUN or more. */
function sequentialCoverage(lower: string): number {
  const chars = [...lower];
  const covered = new Array<boolean>(chars.length).fill(false);
  for (const seq of SEQUENCES) {
    for (const step of [1, -1]) {
      let start = 0;
      for (let i = 1; i <= chars.length; i++) {
        const prev = seq.indexOf(chars[i - 1] as string);
        const continues = i < chars.length && prev >= 0 && seq[prev + step] === chars[i];
        if (continues) continue;
        if (i - start >= MIN_RUN) covered.fill(true, start, i);
        start = i;
      }
    }
  }
  return covered.filter(Boolean).length / Math.max(chars.length, 1);
}

/** A common base word wrapped in digits/symbols only (`Password1!`, `!Welcome2024`, `P@ssw0rd`, `Hell0123`). */
function isCommonWordShape(lower: string): boolean {
  // Try every split of the non-letter tail (and head) because a digit may belong to the word ("hell0") or to the
  // suffix ("hello0"); the number of splits is bounded by the length of those runs, so this stays cheap.
  const head = /^[^a-z]*/.exec(lower)?.[0].length ?? 0;
  const tail = /[^a-z]*$/.exec(lower)?.[0].length ?? 0;
  if (head + tail >= lower.length) return false;
  for (let s = 0; s <= head; s++) {
    for (let e = lower.length - tail; e <= lower.length; e++) {
      if (e - s < 3) continue;
      for (const core of unleet(lower.slice(s, e))) {
        if (COMMON_BASE_WORDS.has(core)) return true;
      }
    }
  }
  return false;
}

/** Personal tokens (email local part, name and their parts) long enough to be meaningful. */
function personalTokens(context: PasswordPolicyContext): string[] {
  const tokens = new Set<string>();
  const add = (value: string | undefined): void => {
    if (!value) return;
    const v = value.normalize("NFKC").toLowerCase().trim();
    if ([...v].length >= 4) tokens.add(v);
    for (const part of v.split(/[^\p{L}\p{N}]+/u)) if ([...part].length >= 4) tokens.add(part);
  };
  const email = context.email?.trim();
  add(email?.includes("@") ? email.slice(0, email.lastIndexOf("@")) : email);
  add(context.name);
  return [...tokens];
}

function containsPersonalInfo(lower: string, context: PasswordPolicyContext): boolean {
  const variants = [lower, ...unleet(lower)];
  return personalTokens(context).some((t) => variants.some((v) => v.includes(t)));
}

/** English text for zxcvbn's feedback keys (we ship only language-common, which has no translations). */
const ZXCVBN_TRANSLATIONS: TranslationKeys = {
  warnings: {
    straightRow: "Straight rows of keys on your keyboard are easy to guess.",
    keyPattern: "Short keyboard patterns are easy to guess.",
    simpleRepeat: 'Repeated characters like "aaa" are easy to guess.',
    extendedRepeat: 'Repeated character patterns like "abcabcabc" are easy to guess.',
    sequences: 'Common character sequences like "abc" are easy to guess.',
    recentYears: "Recent years are easy to guess.",
    dates: "Dates are easy to guess.",
    topTen: "This is a heavily used password.",
    topHundred: "This is a frequently used password.",
    common: "This is a commonly used password.",
    similarToCommon: "This is similar to a commonly used password.",
    wordByItself: "Single words are easy to guess.",
    namesByThemselves: "Single names or surnames are easy to guess.",
    commonNames: "Common names and surnames are easy to guess.",
    userInputs: "There should not be any personal or page related data.",
    pwned: "This password appears in data breaches.",
  },
  suggestions: {
    l33t: "Avoid predictable letter substitutions like '@' for 'a'.",
    reverseWords: "Avoid reversed spellings of common words.",
    allUppercase: "Capitalize some, but not all letters.",
    capitalization: "Capitalize more than the first letter.",
    dates: "Avoid dates and years that are associated with you.",
    recentYears: "Avoid recent years.",
    associatedYears: "Avoid years that are associated with you.",
    sequences: "Avoid common character sequences.",
    repeated: "Avoid repeated words and characters.",
    longerKeyboardPattern: "Use longer keyboard patterns and change typing direction multiple times.",
    anotherWord: "Add more words that are less common.",
    useWords: "Use multiple words, but avoid common phrases.",
    noNeed: "You can create strong passwords without using symbols, numbers, or uppercase letters.",
    pwned: "If you use this password elsewhere, you should change it.",
  },
  timeEstimation: {
    ltSecond: "less than a second",
    second: "second",
    seconds: "seconds",
    minute: "minute",
    minutes: "minutes",
    hour: "hour",
    hours: "hours",
    day: "day",
    days: "days",
    month: "month",
    months: "months",
    year: "year",
    years: "years",
    centuries: "centuries",
  },
};

/**
 * zxcvbn scores only this many leading characters: its CPU cost grows with length (~45 ms at 128, ~90 ms at 256 on
 * a laptop) and a prefix this long that scores well means the whole password does too.
 */
const ZXCVBN_MAX_LENGTH = 128;

// Built on first use, not at import: ranking the dictionaries takes tens of ms of CPU, which would otherwise count
// against every isolate's startup even when no request ever sets a password. Kept per isolate afterwards.
let zxcvbn: ZxcvbnFactory | undefined;
function getZxcvbn(): ZxcvbnFactory {
  zxcvbn ??= new ZxcvbnFactory({
    dictionary,
    graphs: adjacencyGraphs,
    translations: ZXCVBN_TRANSLATIONS,
    maxLength: ZXCVBN_MAX_LENGTH,
  });
  return zxcvbn;
}

const reject = (code: PasswordPolicyCode, message: string, suggestions: string[] = []): PasswordPolicyResult => ({
  ok: false,
  code,
  message,
  suggestions,
});

const LONGER_PHRASE = "Use a longer phrase of several unrelated words.";

/**
 * Decides whether a new password is acceptable: 8..256 characters (after NFKC), not a "breached shape" (contains
 * the email local part or name, one repeated character or short unit, mostly keyboard/alphabet/digit runs, or a
 * common word wrapped in digits/symbols such as `Password1!`), and a zxcvbn score of at least 3 with the email,
 * its local part and the name as user inputs. Messages never echo the password.
 */
export function checkPasswordPolicy(password: string, context: PasswordPolicyContext): PasswordPolicyResult {
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return reject("PASSWORD_TOO_SHORT", `Password must be at least ${PASSWORD_MIN_LENGTH} characters long.`, [
      LONGER_PHRASE,
    ]);
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return reject("PASSWORD_TOO_LONG", `Password must be at most ${PASSWORD_MAX_LENGTH} characters long.`, [
      "Use a shorter passphrase; a few unrelated words are enough.",
    ]);
  }

  const lower = normalized.toLowerCase();
  if (containsPersonalInfo(lower, context)) {
    return reject("PASSWORD_BREACHED_SHAPE", "Password must not contain your email address or name.", [
      LONGER_PHRASE,
    ]);
  }
  if (/^(.{1,4})\1+$/su.test(lower)) {
    return reject("PASSWORD_BREACHED_SHAPE", "Password must not be one character or short pattern repeated.", [
      LONGER_PHRASE,
    ]);
  }
  if (sequentialCoverage(lower) > 0.5) {
    return reject("PASSWORD_BREACHED_SHAPE", "Password must not be mostly keyboard or alphabetical sequences.", [
      "Avoid sequences like qwerty, abcdef or 123456.",
      LONGER_PHRASE,
    ]);
  }
  if (isCommonWordShape(lower)) {
    return reject(
      "PASSWORD_BREACHED_SHAPE",
      "Password is a common word with numbers or symbols added, a pattern attackers try first.",
      ["Adding digits or symbols to a common word does not make it strong.", LONGER_PHRASE],
    );
  }

  const email = context.email?.trim() ?? "";
  const userInputs = [email, email.split("@")[0] ?? "", context.name?.trim() ?? "", ...personalTokens(context)].filter(
    (s) => s.length > 0,
  );
  const result = getZxcvbn().check(normalized, userInputs);
  if (result.score < PASSWORD_MIN_SCORE) {
    const suggestions = [result.feedback.warning, ...result.feedback.suggestions].filter(
      (s): s is string => typeof s === "string" && s.length > 0,
    );
    if (suggestions.length === 0) suggestions.push(LONGER_PHRASE);
    return reject("PASSWORD_TOO_WEAK", "Password is too easy to guess.", suggestions);
  }
  return { ok: true };
}
