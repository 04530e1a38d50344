/**
 * Tracked schema migrations for a Durable Object's SQLite storage. Each object records the versions it has applied
 * in `_schema_migrations`, so a schema change (an `ALTER TABLE`, a new table) runs exactly once per object, in
 * order, the first time new code meets old storage. Migrations are plain SQL and must never be edited once
 * shipped: add a new version instead.
 */

/** One schema step: a strictly increasing version, a name for humans, and the SQL that applies it. */
export interface SqliteMigration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Applies every migration whose version is not yet recorded, each in its own synchronous transaction together with
 * its `_schema_migrations` row (a failure leaves neither). Synchronous on purpose: called from the constructor, it
 * finishes before the object handles any event. Returns the versions it applied.
 */
export function applySqliteMigrations(storage: DurableObjectStorage, migrations: readonly SqliteMigration[]): number[] {
  for (let i = 1; i < migrations.length; i++) {
    if ((migrations[i]?.version ?? 0) <= (migrations[i - 1]?.version ?? 0)) throw new Error("SQLite migrations must have strictly increasing versions");
  }
  const sql = storage.sql;
  sql.exec("create table if not exists _schema_migrations (version integer primary key, name text not null, applied_at integer not null)");
  const done = new Set(sql.exec<{ version: number }>("select version from _schema_migrations").toArray().map((r) => r.version));
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    storage.transactionSync(() => {
      sql.exec(m.sql);
      sql.exec("insert into _schema_migrations (version, name, applied_at) values (?, ?, ?)", m.version, m.name, Date.now());
    });
    applied.push(m.version);
  }
  return applied;
}
