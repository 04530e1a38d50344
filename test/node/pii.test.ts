import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import {
  PiiDecryptError,
  decryptPii,
  decryptPiiJson,
  encryptPii,
  encryptPiiJson,
  needsReencryption,
  parsePiiKeyRing,
} from "../../workers/platform/pii";
import type { PiiDecryptFailure } from "../../workers/platform/pii";

const PHONE = "user:42:phone";
const newKeyBytes = (): Buffer => randomBytes(32);
const b64 = (bytes: Buffer): string => bytes.toString("base64");
const b64url = (bytes: Buffer): string => bytes.toString("base64url");

const oldKey = newKeyBytes();
const newKey = newKeyBytes();
const ringA = parsePiiKeyRing(`old:${b64(oldKey)}`);
const ringB = parsePiiKeyRing(`new:${b64(newKey)},old:${b64(oldKey)}`);

/** Splits an envelope into its four parts, failing the test rather than returning undefineds. */
function partsOf(envelope: string): [string, string, string, string] {
  const parts = envelope.split(".");
  expect(parts).toHaveLength(4);
  return parts as [string, string, string, string];
}

/** Asserts the promise rejects with a PiiDecryptError of the given reason and the constant message. */
async function expectDecryptError(promise: Promise<unknown>, reason: PiiDecryptFailure): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PiiDecryptError);
  expect((error as PiiDecryptError).reason).toBe(reason);
  expect((error as PiiDecryptError).message).toBe("PII decryption failed");
}

/** The error message parsePiiKeyRing throws for `secret`, failing the test if it does not throw. */
function ringError(secret: string): string {
  try {
    parsePiiKeyRing(secret);
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return (e as Error).message;
  }
  throw new Error("expected parsePiiKeyRing to throw");
}

describe("encryptPii / decryptPii", () => {
  it("round-trips ASCII, unicode, the empty string, a leading BOM and NUL", async () => {
    for (const text of ["+1 415 555 0100", "Zürich · 東京都 · 🏠 Straße 5", "", "\ufeffleading BOM", "a\u0000b"]) {
      const envelope = await encryptPii(ringA, text, PHONE);
      expect(await decryptPii(ringA, envelope, PHONE)).toBe(text);
    }
  });

  it("emits v1.<kid>.<12-byte iv>.<ciphertext+tag> in unpadded base64url, without the plaintext", async () => {
    const envelope = await encryptPii(ringA, "+44 20 7946 0000", PHONE);
    expect(envelope).toMatch(/^v1\.old\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    const [, , iv, sealed] = partsOf(envelope);
    expect(Buffer.from(iv, "base64url")).toHaveLength(12);
    expect(Buffer.from(sealed, "base64url")).toHaveLength("+44 20 7946 0000".length + 16);
    expect(envelope).not.toContain("7946");
  });

  it("uses a fresh IV, so the same text encrypts differently each time", async () => {
    const a = await encryptPii(ringA, "+1 415 555 0100", PHONE);
    const b = await encryptPii(ringA, "+1 415 555 0100", PHONE);
    expect(a).not.toBe(b);
    expect(partsOf(a)[2]).not.toBe(partsOf(b)[2]);
  });

  it("is standard AES-256-GCM with the context as AAD (interoperates with node:crypto both ways)", async () => {
    const envelope = await encryptPii(ringA, "+1 415 555 0100", PHONE);
    const [, , ivText, sealedText] = partsOf(envelope);
    const sealed = Buffer.from(sealedText, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", oldKey, Buffer.from(ivText, "base64url"));
    decipher.setAAD(Buffer.from(PHONE, "utf8"));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
    expect(plain.toString("utf8")).toBe("+1 415 555 0100");

    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", oldKey, iv);
    cipher.setAAD(Buffer.from(PHONE, "utf8"));
    const body = Buffer.concat([cipher.update("Grüße", "utf8"), cipher.final(), cipher.getAuthTag()]);
    expect(await decryptPii(ringA, `v1.old.${b64url(iv)}.${b64url(body)}`, PHONE)).toBe("Grüße");
  });

  it("rejects a wrong context (another user's row or another field)", async () => {
    const envelope = await encryptPii(ringA, "+1 415 555 0100", PHONE);
    await expectDecryptError(decryptPii(ringA, envelope, "user:43:phone"), "authentication");
    await expectDecryptError(decryptPii(ringA, envelope, "user:42:address"), "authentication");
    await expectDecryptError(decryptPii(ringA, envelope, "user:42:phone "), "authentication");
  });

  it("rejects every single-byte tamper of the ciphertext+tag and of the IV", async () => {
    const envelope = await encryptPii(ringA, "+1 415 555 0100", PHONE);
    const [version, kid, ivText, sealedText] = partsOf(envelope);
    const sealed = Buffer.from(sealedText, "base64url");
    const iv = Buffer.from(ivText, "base64url");
    for (let i = 0; i < sealed.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bad = Buffer.from(sealed);
        bad[i] = (bad[i] ?? 0) ^ mask;
        await expectDecryptError(decryptPii(ringA, [version, kid, ivText, b64url(bad)].join("."), PHONE), "authentication");
      }
    }
    for (let i = 0; i < iv.length; i++) {
      const bad = Buffer.from(iv);
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      await expectDecryptError(decryptPii(ringA, [version, kid, b64url(bad), sealedText].join("."), PHONE), "authentication");
    }
  });

  it("rejects a changed kid: unknown kid, and a known kid whose key did not seal it", async () => {
    const envelope = await encryptPii(ringA, "+1 415 555 0100", PHONE);
    await expectDecryptError(decryptPii(ringA, envelope.replace("v1.old.", "v1.older."), PHONE), "unknown_key");
    await expectDecryptError(decryptPii(ringB, envelope.replace("v1.old.", "v1.new."), PHONE), "authentication");
  });

  it("rejects truncated and malformed envelopes strictly", async () => {
    const envelope = await encryptPii(ringA, "+1 415 555 0100", PHONE);
    const [version, kid, iv, sealed] = partsOf(envelope);
    const tagOnlyShort = b64url(Buffer.from(sealed, "base64url").subarray(0, 15));
    const malformed = [
      "",
      envelope.slice(0, -1),
      envelope.slice(0, envelope.lastIndexOf(".")),
      `${envelope}.`,
      `${envelope}.extra`,
      [version, kid, iv, tagOnlyShort].join("."),
      [version, kid, iv, ""].join("."),
      [version, kid, iv.slice(0, -2), sealed].join("."),
      ["v2", kid, iv, sealed].join("."),
      ["V1", kid, iv, sealed].join("."),
      [version, "OLD", iv, sealed].join("."),
      [version, kid, iv, `${sealed}==`].join("."),
      [version, kid, iv, sealed.replaceAll("-", "+").replaceAll("_", "/") + "/+"].join("."),
      [version, kid, `${iv} `, sealed].join("."),
      ` ${envelope}`,
    ];
    for (const bad of malformed) {
      if (bad === envelope) continue; // guards against a replace that happened not to change anything
      await expectDecryptError(decryptPii(ringA, bad, PHONE), "malformed");
    }
  });

  it("rejects non-canonical base64url (nonzero trailing bits) even though it decodes to the same bytes", async () => {
    const envelope = await encryptPii(ringA, "+1 415 555 0100", PHONE);
    const [version, kid, iv, sealed] = partsOf(envelope);
    // 31 bytes → 42 chars whose last char carries 4 unused bits; setting them keeps the bytes but changes the text.
    expect(sealed.length % 4).toBe(2);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(sealed.at(-1) ?? "");
    const variant = sealed.slice(0, -1) + (alphabet[last | 0x0f] ?? "");
    expect(Buffer.from(variant, "base64url")).toEqual(Buffer.from(sealed, "base64url"));
    await expectDecryptError(decryptPii(ringA, [version, kid, iv, variant].join("."), PHONE), "malformed");
  });

  it("refuses an empty context and lone surrogates as caller bugs (TypeError, not PiiDecryptError)", async () => {
    await expect(encryptPii(ringA, "x", "")).rejects.toThrow(TypeError);
    await expect(decryptPii(ringA, await encryptPii(ringA, "x", PHONE), "")).rejects.toThrow(TypeError);
    await expect(encryptPii(ringA, "bad \ud800 surrogate", PHONE)).rejects.toThrow(TypeError);
  });
});

describe("key rotation", () => {
  it("decrypts old-key envelopes after rotation, flags them, and re-encrypts under the new key", async () => {
    const underOld = await encryptPii(ringA, "+1 415 555 0100", PHONE);
    expect(underOld.startsWith("v1.old.")).toBe(true);
    expect(needsReencryption(ringA, underOld)).toBe(false);

    expect(needsReencryption(ringB, underOld)).toBe(true);
    const plain = await decryptPii(ringB, underOld, PHONE);
    expect(plain).toBe("+1 415 555 0100");

    const underNew = await encryptPii(ringB, plain, PHONE);
    expect(underNew.startsWith("v1.new.")).toBe(true);
    expect(needsReencryption(ringB, underNew)).toBe(false);
    expect(await decryptPii(ringB, underNew, PHONE)).toBe(plain);
    // A ring that has already dropped the old key can read the new envelope but not the old one.
    const ringC = parsePiiKeyRing(`new:${b64(newKey)}`);
    expect(await decryptPii(ringC, underNew, PHONE)).toBe(plain);
    expect(needsReencryption(ringC, underOld)).toBe(true);
    await expectDecryptError(decryptPii(ringC, underOld, PHONE), "unknown_key");
  });

  it("needsReencryption rejects malformed envelopes instead of guessing", () => {
    expect(() => needsReencryption(ringB, "not-an-envelope")).toThrow(PiiDecryptError);
    expect(() => needsReencryption(ringB, "v1.new.x.y")).toThrow(PiiDecryptError);
  });
});

describe("parsePiiKeyRing", () => {
  it("takes the first entry as current and accepts base64 or base64url, padded or not, around whitespace", () => {
    const k1 = newKeyBytes();
    const k2 = newKeyBytes();
    const ring = parsePiiKeyRing(` k1:${b64(k1)} , k2:${b64url(k2)}\n`);
    expect(ring.currentKid).toBe("k1");
    expect(ring.kids).toEqual(["k1", "k2"]);
    expect(ring.has("k2")).toBe(true);
    expect(ring.has("k3")).toBe(false);
    expect(parsePiiKeyRing(`a:${b64(k1).replace(/=+$/, "")}`).currentKid).toBe("a");
    expect(parsePiiKeyRing(`a:${b64url(k1)}=`).currentKid).toBe("a");
    expect(parsePiiKeyRing(`${"z".repeat(16)}:${b64(k1)}`).currentKid).toBe("z".repeat(16));
  });

  it("uses the same key whichever base64 spelling the secret uses", async () => {
    const key = newKeyBytes();
    const envelope = await encryptPii(parsePiiKeyRing(`k:${b64(key)}`), "same key", PHONE);
    expect(await decryptPii(parsePiiKeyRing(`k:${b64url(key)}`), envelope, PHONE)).toBe("same key");
  });

  it("rejects bad rings with a message that names the problem but never the key", () => {
    const key = newKeyBytes();
    const short = randomBytes(16);
    const long = randomBytes(33);
    // A key with at least two of base64's special characters, so one can be respelled in base64url's alphabet.
    let mixed = b64(key);
    while ((mixed.match(/[+/]/g) ?? []).length < 2) mixed = b64(newKeyBytes());
    const mixedSpelling = mixed.replace(/[+/]/, (c) => (c === "+" ? "-" : "_")).replace(/=+$/, "");
    const cases: [secret: string, expected: RegExp, keyText: string][] = [
      ["", /empty/, ""],
      ["  \n", /empty/, ""],
      [`k:${b64(short)}`, /entry 1 .*32 bytes, got 16/, b64(short)],
      [`k:${b64(long)}`, /entry 1 .*32 bytes, got 33/, b64(long)],
      [`a:${b64(key)},b:${b64(short)}`, /entry 2 .*32 bytes/, b64(short)],
      [`Prod:${b64(key)}`, /entry 1 has an invalid kid/, b64(key)],
      [`${"a".repeat(17)}:${b64(key)}`, /invalid kid/, b64(key)],
      [`:${b64(key)}`, /invalid kid/, b64(key)],
      [`k-1:${b64(key)}`, /invalid kid/, b64(key)],
      [`${b64(key)}:k1`, /invalid kid/, b64(key)],
      [`k:${b64(key)},k:${b64(newKeyBytes())}`, /entry 2 repeats kid "k"/, b64(key)],
      [`k:${b64(key)},`, /entry 2 is empty/, b64(key)],
      [`,k:${b64(key)}`, /entry 1 is empty/, b64(key)],
      [b64(key), /entry 1 is not of the form kid:base64key/, b64(key)],
      [`k:`, /not valid base64/, ""],
      [`k:${b64(key)}==`, /not valid base64/, b64(key)],
      [`k:${b64(key).slice(0, -1)}!`, /not valid base64/, b64(key).slice(0, -1)],
      [`k:${b64(key)} x`, /not valid base64/, b64(key)],
      [`k:${mixedSpelling}`, /not valid base64/, mixedSpelling],
    ];
    for (const [secret, expected, keyText] of cases) {
      const message = ringError(secret);
      expect(message, secret).toMatch(expected);
      if (keyText !== "") {
        expect(message).not.toContain(keyText);
        expect(message).not.toContain(keyText.slice(0, 12)); // not even a recognisable prefix
      }
    }
  });

  it("rejects a key with nonzero trailing bits (a corrupted secret, not a different spelling)", () => {
    const text = b64url(newKeyBytes()); // 43 chars: the last carries 2 unused bits
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const variant = text.slice(0, -1) + (alphabet[alphabet.indexOf(text.at(-1) ?? "") | 0x03] ?? "");
    expect(ringError(`k:${variant}`)).toMatch(/not valid base64/);
  });

  it("keeps key material out of String(), JSON.stringify() and util.inspect()", async () => {
    const key = newKeyBytes();
    const ring = parsePiiKeyRing(`k:${b64(key)}`);
    await encryptPii(ring, "warm the import cache", PHONE);
    for (const shown of [String(ring), JSON.stringify(ring), inspect(ring, { depth: 10, showHidden: true })]) {
      expect(shown).not.toContain(b64(key).slice(0, 12));
      expect(shown).not.toContain(key.toString("hex").slice(0, 12));
    }
  });
});

describe("encryptPiiJson / decryptPiiJson", () => {
  interface Address {
    line1: string;
    line2: string | null;
    city: string;
    postcode: string;
    country: string;
  }
  const ADDRESS = "user:42:address";
  const address: Address = { line1: "Bahnhofstraße 1", line2: null, city: "Zürich", postcode: "8001", country: "CH" };

  it("round-trips an address object", async () => {
    const envelope = await encryptPiiJson(ringB, address, ADDRESS);
    expect(envelope.startsWith("v1.new.")).toBe(true);
    expect(envelope).not.toContain("Zürich");
    expect(await decryptPiiJson<Address>(ringB, envelope, ADDRESS)).toEqual(address);
  });

  it("binds the context and refuses values JSON cannot carry", async () => {
    const envelope = await encryptPiiJson(ringB, address, ADDRESS);
    await expectDecryptError(decryptPiiJson<Address>(ringB, envelope, "user:43:address"), "authentication");
    await expect(encryptPiiJson(ringB, undefined, ADDRESS)).rejects.toThrow(TypeError);
  });

  it("reports authenticated non-JSON as PiiDecryptError, not SyntaxError", async () => {
    const envelope = await encryptPii(ringB, "not json {", ADDRESS);
    await expectDecryptError(decryptPiiJson<Address>(ringB, envelope, ADDRESS), "malformed");
  });
});
