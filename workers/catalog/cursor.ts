/**
 * Opaque keyset cursors: base64url of `[version, sort, lastSortValue, lastId]`. A cursor is only valid for the sort
 * it was made for; anything else (bad base64, bad JSON, wrong shape) is INVALID_CURSOR.
 */
import { AppError } from "../platform/errors";

const CURSOR_VERSION = 1;

export interface Cursor {
  sort: string;
  value: number;
  id: number;
}

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
  new AppError(400, "INVALID_CURSOR", `The cursor is not valid: ${why}`, { parameter: "cursor" });

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
  return { sort, value: parsed[2], id: parsed[3] as number };
}
