/**
 * Server-side prices and totals for a checkout. Everything comes from the primary at the moment of checkout: the
 * cart's price snapshot and anything the client sends are display only.
 */
import { sql } from "drizzle-orm";
import type { DbRouter } from "../platform/db";

export interface PricedVariant extends Record<string, unknown> {
  sku: string;
  variant_id: number;
  product_id: number;
  title: string;
  format: string;
  unit_price: number;
  currency: string;
  purchasable: boolean;
}

export interface RegionRules {
  region: string;
  taxRateBps: number;
  shippingFlatFee: number;
  shippingFreeOver: number | null;
}

/** Shipping region key: `US-CA` when a subdivision is given and has its own rule, else the country. */
function regionCandidates(country: string, subdivision: string | undefined): string[] {
  const c = country.toUpperCase();
  return subdivision ? [`${c}-${subdivision.toUpperCase()}`, c, "*"] : [c, "*"];
}

/** Current prices of `skus` and the tax/shipping rules for the address, in one round trip to the primary. */
export async function loadPricing(
  db: DbRouter,
  skus: string[],
  country: string,
  subdivision: string | undefined,
): Promise<{ variants: Map<string, PricedVariant>; rules: RegionRules }> {
  const regions = regionCandidates(country, subdivision);
  type Row = { variants: PricedVariant[] | null; tax: { region: string; rate_bps: number }[] | null; shipping: { region: string; flat_fee: number; free_over: number | null }[] | null };
  const query = sql`
        select
          (select json_agg(json_build_object(
             'sku', v.sku, 'variant_id', v.id, 'product_id', v.product_id, 'title', p.name,
             'format', coalesce(v.attributes->>'format', v.name), 'unit_price', coalesce(v.price_override, p.base_price),
             'currency', p.currency, 'purchasable', v.status = 'active' and p.status = 'active'))
           from variants v join products p on p.id = v.product_id
           where v.sku in (${sql.join(skus.map((s) => sql`${s}`), sql`, `)})) as variants,
          (select json_agg(json_build_object('region', region, 'rate_bps', rate_bps)) from tax_rates
           where region in (${sql.join(regions.map((s) => sql`${s}`), sql`, `)})) as tax,
          (select json_agg(json_build_object('region', region, 'flat_fee', flat_fee, 'free_over', free_over)) from shipping_rules
           where region in (${sql.join(regions.map((s) => sql`${s}`), sql`, `)})) as shipping`;
  // Strictly the primary: a read falls back to the (asynchronous) replica when the primary is unreachable or its
  // circuit is open, and a checkout must never charge a price the primary has already changed. The one-shot HTTP read
  // comes first (no connection to open); when it was answered by a replica, the same query runs on the primary's
  // connection instead (the order write that follows reuses it), and only if that fails too is checkout unavailable.
  const first = await db.read((r) => r.rows<Row>(query), { primary: true });
  const value = first.source === "primary" ? first.value : await db.write(async (primary) => (await primary.execute<Row>(query)).rows);
  const row = value[0];
  const variants = new Map((row?.variants ?? []).map((v) => [v.sku, v]));
  // The most specific region that has a rule wins, separately for tax and shipping.
  const pick = <T extends { region: string }>(list: T[] | null): T | undefined => regions.map((r) => (list ?? []).find((x) => x.region === r)).find((x) => x !== undefined);
  const tax = pick(row?.tax ?? null);
  const ship = pick(row?.shipping ?? null);
  return {
    variants,
    rules: {
      region: tax?.region ?? "*",
      taxRateBps: tax?.rate_bps ?? 0,
      shippingFlatFee: ship?.flat_fee ?? 0,
      shippingFreeOver: ship?.free_over ?? null,
    },
  };
}

export interface Totals {
  subtotal: number;
  discountTotal: number;
  taxTotal: number;
  shippingTotal: number;
  grandTotal: number;
}

/**
 * Order totals in minor units. Tax applies to the discounted subtotal and is rounded half-up once per order;
 * shipping is flat unless the subtotal reaches the free threshold.
 */
export function computeTotals(lineTotals: number[], rules: RegionRules, discount = 0): Totals {
  const subtotal = lineTotals.reduce((a, b) => a + b, 0);
  const discountTotal = Math.min(discount, subtotal);
  const taxable = subtotal - discountTotal;
  const taxTotal = Math.floor((taxable * rules.taxRateBps + 5000) / 10000);
  const shippingTotal = rules.shippingFreeOver !== null && subtotal >= rules.shippingFreeOver ? 0 : rules.shippingFlatFee;
  return { subtotal, discountTotal, taxTotal, shippingTotal, grandTotal: taxable + taxTotal + shippingTotal };
}
