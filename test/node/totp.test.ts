import { describe, expect, it } from "vitest";
import {
  base32Decode,
  base32Encode,
  generateRecoveryCodes,
  generateTotpSecret,
  hashRecoveryCode,
  normaliseRecoveryCode,
  totpCode,
  totpUri,
  verifyTotp,
} from "../../workers/accounts/totp";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** RFC 6238 Appendix B uses the ASCII string "12345678901234567890" as the SHA-1 key. */
const RFC_SECRET = base32Encode(ascii("12345678901234567890"));

/** A time in the middle of a 30 s step, so ±30 s lands squarely in the neighbouring steps. */
const STEP = 56_666_667;
const NOW = STEP * 30_000 + 15_000;

describe("base32", () => {
  it.each([
    ["", ""],
    ["f", "MY"],
    ["fo", "MZXQ"],
    ["foo", "MZXW6"],
    ["foob", "MZXW6YQ"],
    ["fooba", "MZXW6YTB"],
    ["foobar", "MZXW6YTBOI"],
  ])("RFC 4648 vector %j → %j", (plain, encoded) => {
    expect(base32Encode(ascii(plain))).toBe(encoded);
    expect(new TextDecoder().decode(base32Decode(encoded))).toBe(plain);
  });

  it("decodes with padding, lower case and spaces", () => {
    expect(new TextDecoder().decode(base32Decode("MZXW6YQ="))).toBe("foob");
    expect(new TextDecoder().decode(base32Decode("mzxw 6ytb oi======"))).toBe("foobar");
    expect(new TextDecoder().decode(base32Decode("  mzXW6\tYTBOI\n"))).toBe("foobar");
  });

  it("round-trips random bytes of every length up to 64", () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = crypto.getRandomValues(new Uint8Array(n));
      const encoded = base32Encode(bytes);
      expect(encoded).toMatch(/^[A-Z2-7]*$/);
      expect(encoded).toHaveLength(Math.ceil((n * 8) / 5));
      expect(base32Decode(encoded)).toEqual(bytes);
    }
  });

  it.each(["MZXW1", "MZXW8", "MZ=XW", "MZXW6Ü", "MZ-XW", "0O"])("rejects invalid characters in %j", (bad) => {
    expect(() => base32Decode(bad)).toThrow(/Invalid base32: character/);
  });

  it.each(["M", "MZX", "MZXW6Y"])("rejects impossible length %j", (bad) => {
    expect(() => base32Decode(bad)).toThrow(/Invalid base32: length/);
  });
});

describe("generateTotpSecret", () => {
  it("is 20 random bytes as unpadded base32", () => {
    const a = generateTotpSecret();
    const b = generateTotpSecret();
    expect(a).toMatch(/^[A-Z2-7]{32}$/);
    expect(base32Decode(a)).toHaveLength(20);
    expect(a).not.toBe(b);
  });
});

describe("totpCode", () => {
  it.each([
    [59, "94287082"],
    [1111111109, "07081804"],
    [1111111111, "14050471"],
    [1234567890, "89005924"],
    [2000000000, "69279037"],
    [20000000000, "65353130"],
  ])("RFC 6238 Appendix B SHA-1 at T=%i → %s", async (seconds, expected) => {
    await expect(totpCode(RFC_SECRET, seconds * 1000, { digits: 8 })).resolves.toBe(expected);
  });

  it("defaults to 6 digits (the low digits of the 8-digit value) and zero-pads", async () => {
    await expect(totpCode(RFC_SECRET, 59_000)).resolves.toBe("287082");
    await expect(totpCode(RFC_SECRET, 1111111109_000)).resolves.toBe("081804");
  });

  it("is constant within a step and changes across steps", async () => {
    const start = STEP * 30_000;
    const a = await totpCode(RFC_SECRET, start);
    await expect(totpCode(RFC_SECRET, start + 29_999)).resolves.toBe(a);
    await expect(totpCode(RFC_SECRET, start + 30_000)).resolves.not.toBe(a);
  });

  it("rejects bad parameters", async () => {
    await expect(totpCode(RFC_SECRET, -1)).rejects.toThrow(RangeError);
    await expect(totpCode(RFC_SECRET, Number.NaN)).rejects.toThrow(RangeError);
    await expect(totpCode(RFC_SECRET, 0, { digits: 5 })).rejects.toThrow(RangeError);
    await expect(totpCode(RFC_SECRET, 0, { period: 0 })).rejects.toThrow(RangeError);
    await expect(totpCode("not base32!", 0)).rejects.toThrow(/Invalid base32/);
    await expect(totpCode("", 0)).rejects.toThrow(/empty/);
  });
});

describe("verifyTotp", () => {
  const secret = generateTotpSecret();
  const codeAt = (ms: number): Promise<string> => totpCode(secret, ms);

  it("accepts the current code and returns its step", async () => {
    await expect(verifyTotp(secret, await codeAt(NOW), { atMs: NOW })).resolves.toEqual({ ok: true, step: STEP });
  });

  it.each([-30_000, 30_000])("accepts a code from %i ms away (one step of drift)", async (offset) => {
    const result = await verifyTotp(secret, await codeAt(NOW + offset), { atMs: NOW });
    expect(result).toEqual({ ok: true, step: STEP + offset / 30_000 });
  });

  it.each([-90_000, 90_000])("rejects a code from %i ms away", async (offset) => {
    const code = await codeAt(NOW + offset);
    // Guard against a chance collision with a code inside the window making the test flaky.
    const inWindow = await Promise.all([-30_000, 0, 30_000].map((d) => codeAt(NOW + d)));
    if (inWindow.includes(code)) return;
    await expect(verifyTotp(secret, code, { atMs: NOW })).resolves.toEqual({ ok: false });
  });

  it("honours a wider or zero window", async () => {
    await expect(verifyTotp(secret, await codeAt(NOW + 90_000), { atMs: NOW, window: 3 })).resolves.toEqual({
      ok: true,
      step: STEP + 3,
    });
    const previous = await codeAt(NOW - 30_000);
    if (previous !== (await codeAt(NOW))) {
      await expect(verifyTotp(secret, previous, { atMs: NOW, window: 0 })).resolves.toEqual({ ok: false });
    }
    await expect(verifyTotp(secret, "123456", { atMs: NOW, window: 11 })).rejects.toThrow(RangeError);
    await expect(verifyTotp(secret, "123456", { atMs: NOW, window: -1 })).rejects.toThrow(RangeError);
  });

  it("rejects replay of a step at or before lastUsedStep", async () => {
    const code = await codeAt(NOW);
    const first = await verifyTotp(secret, code, { atMs: NOW, lastUsedStep: null });
    expect(first).toEqual({ ok: true, step: STEP });
    // Same code again, still inside its step and window: a replay.
    await expect(verifyTotp(secret, code, { atMs: NOW + 5_000, lastUsedStep: STEP })).resolves.toEqual({ ok: false });
    // An older (still in-window) code is also refused once a later step has been used.
    await expect(verifyTotp(secret, await codeAt(NOW - 30_000), { atMs: NOW, lastUsedStep: STEP })).resolves.toEqual({
      ok: false,
    });
    // The next step's code is fresh.
    await expect(
      verifyTotp(secret, await codeAt(NOW + 30_000), { atMs: NOW + 30_000, lastUsedStep: STEP }),
    ).resolves.toEqual({ ok: true, step: STEP + 1 });
  });

  it("trims spaces, including the grouping space apps display", async () => {
    const code = await codeAt(NOW);
    const grouped = ` ${code.slice(0, 3)} ${code.slice(3)} `;
    await expect(verifyTotp(secret, grouped, { atMs: NOW })).resolves.toEqual({ ok: true, step: STEP });
  });

  it("rejects anything but exactly 6 ASCII digits", async () => {
    const code = await codeAt(NOW);
    const bad = [
      "",
      code.slice(0, 5),
      `${code}0`,
      `0${code}`,
      `${code.slice(0, 5)}a`,
      "abcdef",
      "12345.",
      "+12345",
      "1e5000",
      code.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d))), // full-width digits
      code.replace(/[0-9]/g, (d) => String.fromCharCode(0x0660 + Number(d))), // Arabic-Indic digits
      `${code.slice(0, 3)}-${code.slice(3)}`,
    ];
    for (const c of bad) {
      await expect(verifyTotp(secret, c, { atMs: NOW }), JSON.stringify(c)).resolves.toEqual({ ok: false });
    }
  });

  it("rejects the right code for a different secret", async () => {
    const other = generateTotpSecret();
    const code = await totpCode(other, NOW);
    const mine = await Promise.all([-30_000, 0, 30_000].map((d) => codeAt(NOW + d)));
    if (mine.includes(code)) return;
    await expect(verifyTotp(secret, code, { atMs: NOW })).resolves.toEqual({ ok: false });
  });
});

describe("totpUri", () => {
  it("produces the otpauth URI with every parameter", () => {
    const secret = generateTotpSecret();
    const uri = totpUri({ secret, accountName: "alice", issuer: "NexusBooks" });
    expect(uri).toBe(`otpauth://totp/NexusBooks:alice?secret=${secret}&issuer=NexusBooks&algorithm=SHA1&digits=6&period=30`);
    const url = new URL(uri);
    expect(url.protocol).toBe("otpauth:");
    expect(url.host).toBe("totp");
    expect(url.pathname).toBe("/NexusBooks:alice");
    expect([...url.searchParams.keys()]).toEqual(["secret", "issuer", "algorithm", "digits", "period"]);
    expect(url.searchParams.get("secret")).toBe(secret);
    expect(url.searchParams.get("issuer")).toBe("NexusBooks");
    expect(url.searchParams.get("algorithm")).toBe("SHA1");
    expect(url.searchParams.get("digits")).toBe("6");
    expect(url.searchParams.get("period")).toBe("30");
  });

  it("percent-encodes issuer and account with spaces, '@' and other specials", () => {
    const uri = totpUri({ secret: "jbsw y3dp ehpk 3pxp", accountName: "alice+tag@example.com", issuer: "Nexus Books & Co (EU)" });
    expect(uri).not.toMatch(/ |\+|@|&Co|\(/);
    const url = new URL(uri);
    expect(url.pathname).toBe("/Nexus%20Books%20%26%20Co%20%28EU%29:alice%2Btag%40example.com");
    const [issuer, account] = url.pathname.slice(1).split(":").map(decodeURIComponent);
    expect(issuer).toBe("Nexus Books & Co (EU)");
    expect(account).toBe("alice+tag@example.com");
    expect(url.searchParams.get("issuer")).toBe("Nexus Books & Co (EU)");
    // The secret is normalised to what apps expect.
    expect(url.searchParams.get("secret")).toBe("JBSWY3DPEHPK3PXP");
    expect([...url.searchParams.keys()]).toEqual(["secret", "issuer", "algorithm", "digits", "period"]);
  });

  it("refuses labels it cannot represent unambiguously and invalid secrets", () => {
    const secret = generateTotpSecret();
    expect(() => totpUri({ secret, accountName: "a:b", issuer: "NexusBooks" })).toThrow(/':'/);
    expect(() => totpUri({ secret, accountName: "alice", issuer: "Nexus:Books" })).toThrow(/':'/);
    expect(() => totpUri({ secret, accountName: " ", issuer: "NexusBooks" })).toThrow(/empty/);
    expect(() => totpUri({ secret: "", accountName: "alice", issuer: "NexusBooks" })).toThrow(/empty/);
    expect(() => totpUri({ secret: "not-base32", accountName: "alice", issuer: "NexusBooks" })).toThrow(/Invalid base32/);
  });
});

describe("recovery codes", () => {
  it("generates unique codes in the xxxxx-xxxxx format from an unambiguous alphabet", () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) {
      expect(code).toMatch(/^[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}$/);
      expect(code).not.toMatch(/[0O1lIio]/);
    }
    expect(generateRecoveryCodes(3)).toHaveLength(3);
    expect(() => generateRecoveryCodes(0)).toThrow(RangeError);
    expect(() => generateRecoveryCodes(1.5)).toThrow(RangeError);
  });

  it("uses the whole alphabet across many codes (no stuck or biased positions)", () => {
    const chars = new Set(generateRecoveryCodes(100).join("").replaceAll("-", ""));
    expect(chars.size).toBe(31);
  });

  it("normalises case, hyphens and spaces", () => {
    expect(normaliseRecoveryCode(" AB2CD-EF3GH ")).toBe("ab2cdef3gh");
    expect(normaliseRecoveryCode("ab2 cd ef3-gh")).toBe("ab2cdef3gh");
  });

  it("hashes to SHA-256 hex, stable under case, hyphen and space changes", async () => {
    const [code] = generateRecoveryCodes(1) as [string];
    const hash = await hashRecoveryCode(code);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    for (const variant of [code.toUpperCase(), code.replace("-", ""), ` ${code.replace("-", " ")} `, code.replace("-", " - ")]) {
      await expect(hashRecoveryCode(variant)).resolves.toBe(hash);
    }
    const other = code.slice(0, -1) + (code.endsWith("2") ? "3" : "2");
    await expect(hashRecoveryCode(other)).resolves.not.toBe(hash);
    // Known answer, computed independently: sha256(b"abcdefghjk") in Python's hashlib.
    await expect(hashRecoveryCode("ABCDE-FGHJK")).resolves.toBe(
      "22f3f00d7f9cfe6eeefa9b71bdcb093a9080fcf4981d2dbf932648fa15a2d793",
    );
  });
});
