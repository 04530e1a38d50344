/**
 * Opaque keyset cursors: base64url of `[version, sort, lastSortValue, lastId]`. A cursor is only valid for the sort
 * it was made for; anything else (bad base64, bad JSON, wrong shape, a value its sort column cannot hold) is
 * INVALID_CURSOR. The value goes into SQL as a parameter compared with an int4 or numeric column, so an
 * out-of-range or fractional value would otherwise be a database error (500).
 */
import { AppError } from "../platform/errors";

const CURSOR_VERSION = 1;

export interface Cursor {
  sort: string;
  value: number;
  id: number;
}

const INT4_MAX = 2_147_483_647;

/** What each sort's column can hold (products.min_price / popularity / published_year are int4, rating numeric(3,2)). */
const VALUE_RANGES: Record<string, { integer: boolean; min: number; max: number }> = {
  popularity: { integer: true, min: -INT4_MAX - 1, max: INT4_MAX },
  price_asc: { integer: true, min: 0, max: INT4_MAX },
  price_desc: { integer: true, min: 0, max: INT4_MAX },
  newest: { integer: true, min: -INT4_MAX - 1, max: INT4_MAX },
  rating: { integer: false, min: 0, max: 9.99 },
};
const DEFAULT_RANGE = { integer: true, min: -INT4_MAX - 1, max: INT4_MAX };

const b64urlEncode = (s: string): string => btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

function b64urlDecode(s: string): string {
  const pad = s.length % 4 === 0 ? "" : "=".repeat(4 - (s.length % 4));
  return atob(s.replaceAll("-", "+").replaceAll("_", "/") + pad);
}

/** Encodes the position after the last item of a page. */
export function encodeCursor(c: Cursor): string {
  return b64urlEncode(JSON.stringify([CURSOR_VERSION, c.sort, c.value, c.id]));
}

const invalid = (why: string): AppError =>
  new AppError("INVALID_CURSOR", `The cursor is not valid: ${why}`, { parameter: "cursor" });

/** Decodes a cursor made by encodeCursor for the same sort, or throws INVALID_CURSOR. */
export function decodeCursor(raw: string, sort: string): Cursor {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(raw)) throw invalid("malformed");
  let parsed: unknown;
  try {
    parsed = JSON.parse(b64urlDecode(raw));
  } catch {
    throw invalid("malformed");
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 4 ||
    parsed[0] !== CURSOR_VERSION ||
    typeof parsed[1] !== "string" ||
    typeof parsed[2] !== "number" ||
    !Number.isFinite(parsed[2]) ||
    !Number.isSafeInteger(parsed[3]) ||
    (parsed[3] as number) < 0
  ) {
    throw invalid("malformed");
  }
  if (parsed[1] !== sort) throw invalid(`it was made for sort '${parsed[1]}', not '${sort}'`);
  const range = VALUE_RANGES[sort] ?? DEFAULT_RANGE;
  const value = parsed[2];
  if ((range.integer && !Number.isInteger(value)) || value < range.min || value > range.max) throw invalid(`its position is out of range for sort '${sort}'`);
  // Product ids are int4 too.
  if ((parsed[3] as number) > INT4_MAX) throw invalid("its position is out of range");
  return { sort, value: parsed[2], id: parsed[3] as number };
}
