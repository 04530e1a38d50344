/** A variant's id by its SKU, for domains that key their own rows on the variant (inventory's ledger). */
import { sql } from "drizzle-orm";
import type { Database } from "../platform/db";

/** The id of the variant with `sku`, or null when there is none; runs in the caller's transaction. */
export async function variantIdForSku(tx: Pick<Database, "execute">, sku: string): Promise<number | null> {
  const res = await tx.execute<{ id: string | number }>(sql`select id from variants where sku = ${sku}`);
  const row = res.rows[0];
  return row ? Number(row.id) : null;
}
