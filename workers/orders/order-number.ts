/** The human-facing order number. */

/** Formats the order's sequence number, e.g. 42 → `NB-000042`. */
export function orderNumber(n: number): string {
  return `NB-${String(n).padStart(6, "0")}`;
}
