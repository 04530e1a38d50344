/** Audit entries: who did what to which object, with before/after, written inside the change's transaction. */
import { sql } from "drizzle-orm";
import type { Database } from "./db";

export interface AuditEntry {
  actorId: string | null;
  actorRole: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  requestId: string | null;
  ipHash: string | null;
  before?: unknown;
  after?: unknown;
}

type Executor = Pick<Database, "execute">;

/** Appends one audit row using the caller's transaction. */
export async function writeAudit(tx: Executor, e: AuditEntry): Promise<void> {
  await tx.execute(sql`insert into audit_log (actor_id, actor_role, action, target_type, target_id, request_id, ip_hash, before, after)
    values (${e.actorId}, ${e.actorRole}, ${e.action}, ${e.targetType}, ${e.targetId}, ${e.requestId}, ${e.ipHash},
            ${e.before === undefined ? null : JSON.stringify(e.before)}::jsonb, ${e.after === undefined ? null : JSON.stringify(e.after)}::jsonb)`);
}

/** A keyed hash of the client IP: lets abuse be correlated without storing the address itself. */
export async function hashIp(ip: string | null, secret: string): Promise<string | null> {
  if (!ip) return null;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${secret}|${ip}`));
  return [...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
