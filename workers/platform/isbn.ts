/**
 * ISBN-10 / ISBN-13 parsing: hyphens and spaces allowed, check digits verified, ISBN-10 lifted to ISBN-13. Shared
 * by catalog (lookups by ISBN) and search (a query that is an ISBN), and free of Worker types so Node tools and
 * tests can use it; catalog's index re-exports it.
 */

/** Returns the ISBN-13 for a valid ISBN-10 or ISBN-13 string, or null when it is not a valid ISBN. */
export function toIsbn13(input: string): string | null {
  const s = input.trim().replace(/[\s-]/g, "").toUpperCase();
  if (/^\d{9}[\dX]$/.test(s)) return isValidIsbn10(s) ? isbn10To13(s) : null;
  if (/^\d{13}$/.test(s)) return isValidIsbn13(s) ? s : null;
  return null;
}

/** True when the 10-character string has a valid ISBN-10 check digit (X = 10). */
export function isValidIsbn10(s: string): boolean {
  let sum = 0;
  for (let i = 0; i < 10; i++) {
    const ch = s[i] as string;
    const d = ch === "X" ? (i === 9 ? 10 : NaN) : Number(ch);
    if (Number.isNaN(d)) return false;
    sum += d * (10 - i);
  }
  return sum % 11 === 0;
}

function isbn13CheckDigit(first12: string): number {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(first12[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10;
}

/** True for a 13-digit Bookland EAN (978/979) with a valid check digit. */
export function isValidIsbn13(s: string): boolean {
  return /^97[89]\d{10}$/.test(s) && isbn13CheckDigit(s.slice(0, 12)) === Number(s[12]);
}

/** Converts a valid ISBN-10 to its ISBN-13 (978 prefix). */
export function isbn10To13(s: string): string {
  const first12 = `978${s.slice(0, 9)}`;
  return `${first12}${isbn13CheckDigit(first12)}`;
}

/** The ISBN-10 of a 978-prefixed ISBN-13, or null (979 ISBNs have no ISBN-10). */
export function isbn13To10(s: string): string | null {
  if (!s.startsWith("978")) return null;
  const core = s.slice(3, 12);
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(core[i]) * (10 - i);
  const check = (11 - (sum % 11)) % 11;
  return `${core}${check === 10 ? "X" : String(check)}`;
}
