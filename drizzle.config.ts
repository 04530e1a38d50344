import { defineConfig } from "drizzle-kit";

/** drizzle-kit reads the tables from every domain folder; migrations are applied with the `pg` driver. */
export default defineConfig({
  dialect: "postgresql",
  schema: ["./workers/platform/tables.ts", "./workers/catalog/tables.ts", "./workers/inventory/tables.ts", "./workers/accounts/tables.ts", "./workers/email/tables.ts", "./workers/orders/tables.ts", "./workers/payments/tables.ts", "./workers/search/tables.ts", "./workers/checkout/tables.ts"],
  out: "./migrations",
  dbCredentials: { url: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/nexusbooks" },
  migrations: { table: "__drizzle_migrations", schema: "public" },
  strict: true,
});
