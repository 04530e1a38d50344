/**
 * The StockDO's SQLite schema as tracked migrations (see sqlite-migrations.ts). Version 1 is the schema objects
 * were created with before migrations were tracked (`if not exists`, so old objects adopt it unchanged); later
 * versions only add.
 */
import type { SqliteMigration } from "./sqlite-migrations";

export const stockMigrations: readonly SqliteMigration[] = [
  {
    version: 1,
    name: "initial",
    sql: `
      create table if not exists meta (key text primary key, value text not null);
      create table if not exists holds (
        hold_id text primary key, qty integer not null check (qty > 0), expires_at integer not null,
        state text not null check (state in ('active','committed','released','expired')), created_at integer not null);
      create index if not exists holds_active on holds (state, expires_at);
      create table if not exists ledger (
        movement_id text primary key, delta integer not null, reason text not null, ref text,
        on_hand_after integer not null, created_at integer not null, delivered integer not null default 0);`,
  },
  {
    version: 2,
    name: "adjustment_audit_and_keys",
    // Who made a staff adjustment travels with its ledger entry, so the audit row is written with the movement.
    sql: `
      alter table ledger add column actor_id text;
      alter table ledger add column actor_role text;
      alter table ledger add column note text;
      alter table ledger add column request_id text;
      alter table ledger add column idem_key text;
      create table adjustments (
        idem_key text primary key, fingerprint text not null, result text not null, created_at integer not null);
      create index adjustments_age on adjustments (created_at);
      create index ledger_pending on ledger (delivered, created_at);`,
  },
  {
    version: 3,
    name: "hold_owners",
    // Who a hold counts against (customer, IP), for the per-customer and per-IP hold caps.
    sql: `create table if not exists hold_owners (owner_key text not null, hold_id text not null, primary key (owner_key, hold_id));`,
  },
];
