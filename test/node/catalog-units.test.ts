import { describe, expect, it } from "vitest";
import { isbn13To10, toIsbn13 } from "../../workers/catalog/isbn";
import { decodeCursor, encodeCursor } from "../../workers/catalog/cursor";
import { describeIssues } from "../../workers/platform/validation";
import { listQuerySchema } from "../../workers/catalog/schemas";
import { AppError } from "../../workers/platform/errors";

describe("ISBN parsing", () => {
  it.each([
    ["9780439023481", "9780439023481"],
    ["978-0-439-02348-1", "9780439023481"],
    ["0439023483", "9780439023481"],
    ["0-439-02348-3", "9780439023481"],
    [" 043902348-3 ", "9780439023481"],
    ["080442957X", "9780804429573"],
    ["080442957x", "9780804429573"],
    ["9791032305690", "9791032305690"],
  ])("accepts %s", (input, expected) => expect(toIsbn13(input)).toBe(expected));

  it.each(["9780439023482", "0439023484", "12345", "97804390234810", "abcdefghij", "X439023483", "1234567890123", ""])(
    "rejects %s",
    (input) => expect(toIsbn13(input)).toBeNull(),
  );

  it("derives ISBN-10 from 978 ISBN-13 only", () => {
    expect(isbn13To10("9780439023481")).toBe("0439023483");
    expect(isbn13To10("9780804429573")).toBe("080442957X");
    expect(isbn13To10("9791032305690")).toBeNull();
  });
});

describe("cursors", () => {
  it("round-trips and is bound to its sort", () => {
    const raw = encodeCursor({ sort: "price_asc", value: 1299, id: 42 });
    expect(raw).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(raw, "price_asc")).toEqual({ sort: "price_asc", value: 1299, id: 42 });
    expect(() => decodeCursor(raw, "rating")).toThrow(AppError);
  });

  it.each(["", "!!!", "bm90LWpzb24", btoa(JSON.stringify([1, "price_asc", "x", 1])), btoa(JSON.stringify([2, "price_asc", 1, 1])), "a".repeat(201)])(
    "rejects malformed cursor %#",
    (raw) => {
      try {
        decodeCursor(raw.replace(/=+$/, ""), "price_asc");
        throw new Error("accepted");
      } catch (err) {
        expect(err).toBeInstanceOf(AppError);
        expect((err as AppError).code).toBe("INVALID_CURSOR");
      }
    },
  );
});

describe("list query validation", () => {
  it("maps issues to precise codes", () => {
    const cases: [Record<string, string>, string][] = [
      [{ limit: "500" }, "PAGE_SIZE_TOO_LARGE"],
      [{ bogus: "1" }, "UNKNOWN_PARAMETER"],
      [{ sort: "cheap" }, "INVALID_SORT"],
      [{ price_min: "9", price_max: "1" }, "INVALID_PRICE_RANGE"],
    ];
    for (const [input, code] of cases) {
      const r = listQuerySchema.safeParse(input);
      expect(r.success).toBe(false);
      if (!r.success) {
        expect(describeIssues(r.error.issues, "query", { limit: { too_big: "PAGE_SIZE_TOO_LARGE" }, sort: "INVALID_SORT", price_min: "INVALID_PRICE_RANGE" }).code).toBe(code);
      }
    }
  });

  it("accepts repeated and comma-separated lists and applies defaults", () => {
    const r = listQuerySchema.parse({ format: ["ebook", "hardcover,paperback"], language: "en" });
    expect(r.format).toEqual(["ebook", "hardcover", "paperback"]);
    expect(r.language).toEqual(["en"]);
    expect(r.limit).toBe(24);
    expect(r.sort).toBe("popularity");
  });
});
