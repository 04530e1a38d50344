/** The dev mailbox (development and test only): what the dev provider "sent", newest first. */
import { sql } from "drizzle-orm";
import type { ServiceContext } from "../platform/service-context";

export interface MailboxEntry extends Record<string, unknown> {
  /** bigserial: the driver answers it as a decimal string. */
  id: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  created_at: string;
}

/** The 50 newest mails, to `to` only when given (case-insensitive); read from the primary, where the consumer wrote them. */
export async function listDevMailbox(ctx: Pick<ServiceContext, "db">, to: string | null): Promise<MailboxEntry[]> {
  const address = to?.toLowerCase() ?? null;
  const { value } = await ctx.db.read(
    (db) =>
      db.rows<MailboxEntry>(sql`select id, to_address as to, subject, text, html, to_json(created_at) #>> '{}' as created_at from dev_mailbox
                  where ${address === null ? sql`true` : sql`lower(to_address) = ${address}`} order by id desc limit 50`),
    { primary: true },
  );
  return value;
}
