/**
 * The CartDO's SQLite schema as tracked migrations (see sqlite-migrations.ts). Version 1 is the schema carts were
 * created with before migrations were tracked (`if not exists`, so existing objects adopt it unchanged); later
 * versions only add.
 */
import type { SqliteMigration } from "./sqlite-migrations";

export const cartMigrations: readonly SqliteMigration[] = [
  {
    version: 1,
    name: "initial",
    sql: `
      create table if not exists meta (key text primary key, value text not null);
      create table if not exists items (
        sku text primary key, qty integer not null check (qty > 0), variant_id integer not null, product_id integer not null,
        title text not null, slug text not null, format text not null, unit_price integer not null, currency text not null,
        purchasable integer not null, added_at integer not null);
      create table if not exists checkouts (
        idem_key text primary key, order_id text not null, request_hash text not null,
        state text not null check (state in ('started','done')), request text not null, result text, created_at integer not null);
      create table if not exists merged_from (cart_id text primary key, merged_at integer not null);`,
  },
  {
    version: 2,
    name: "checkout_run_lease",
    // The saga runs in the Worker: which run holds the checkout (run_id) and until when (run_until, epoch ms; 0 = no
    // run in progress, the same key may resume at once).
    sql: `
      alter table checkouts add column run_id text;
      alter table checkouts add column run_until integer not null default 0;`,
  },
];
