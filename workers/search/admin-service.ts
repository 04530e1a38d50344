/**
 * Staff management of synonyms. The `search_synonyms` table is the record (a new Typesense collection gets them
 * back from it on reindex); each change is written there with its audit row, then applied to the engine, and
 * the index version is raised so cached result pages that the change affects stop being served. Services take a
 * ServiceContext, the acting staff member and plain inputs.
 */
import { sql } from "drizzle-orm";
import type { ServiceContext } from "../platform/service-context";
import type { Database } from "../platform/db";
import { AppError } from "../platform/errors";
import { hashIp, writeAudit } from "../platform/audit";
import type { SynonymSet } from "./engine";
import { SearchUnavailableError } from "./engine";
import { searchEngineFor } from "./engine-factory";
import { bumpIndexVersion } from "./indexer";
import { publishIndexVersion } from "./index-version";
import { routerGateway } from "./router-gateway";
import type { SynonymBody } from "./schemas";

/** Who made a staff change, for its audit row: the staff user (null for the interim staff token) and their client IP. */
export interface StaffActor {
  userId: string | null;
  ip: string | null;
}

/** Runs a synonym change and its audit row in one transaction on the primary. */
async function audited(
  ctx: ServiceContext,
  actor: StaffActor,
  action: string,
  id: string,
  change: (tx: Pick<Database, "execute">) => Promise<{ before: unknown; after: unknown }>,
): Promise<void> {
  const ipHash = await hashIp(actor.ip, ctx.config.cookieSecret);
  await ctx.db.write((db) =>
    db.transaction(async (tx) => {
      const { before, after } = await change(tx);
      await writeAudit(tx, {
        actorId: actor.userId,
        actorRole: "staff",
        action,
        targetType: "search_synonym",
        targetId: id,
        requestId: ctx.requestId,
        ipHash,
        before,
        after,
      });
    }),
  );
}

async function afterChange(ctx: ServiceContext): Promise<void> {
  const version = await bumpIndexVersion(routerGateway(ctx.db));
  await publishIndexVersion(ctx.cache, version);
}

/** Every synonym set, as the engine holds them. */
/**
 * The engine's part of a synonym change. The set is already saved in Postgres (the source a reindex pushes to the
 * engine), so an engine outage is a 503 that says so, not a 500.
 */
async function inEngine<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof SearchUnavailableError) {
      throw new AppError("SEARCH_UNAVAILABLE", `The search engine did not answer (${what}); saved changes reach it on the next reindex`, null, { "Retry-After": "5" });
    }
    throw err;
  }
}

export async function listSynonyms(ctx: ServiceContext): Promise<SynonymSet[]> {
  return inEngine("list", () => searchEngineFor(ctx.config, ctx.db, { readPrimary: true }).listSynonyms());
}

/** Creates or replaces a synonym set. */
export async function putSynonym(ctx: ServiceContext, actor: StaffActor, id: string, body: SynonymBody): Promise<SynonymSet> {
  const set: SynonymSet = { id, root: body.root ?? null, synonyms: [...new Set(body.synonyms)] };
  await audited(ctx, actor, "search.synonym.put", id, async (tx) => {
    const before = await tx.execute(sql`select root, synonyms from search_synonyms where id = ${id} for update`);
    await tx.execute(sql`insert into search_synonyms (id, root, synonyms)
      values (${id}, ${set.root}, array[${sql.join(set.synonyms.map((s) => sql`${s}`), sql`, `)}]::text[])
      on conflict (id) do update set root = excluded.root, synonyms = excluded.synonyms, updated_at = now()`);
    return { before: before.rows[0] ?? null, after: { root: set.root, synonyms: set.synonyms } };
  });
  await inEngine("upsert", () => searchEngineFor(ctx.config, ctx.db).upsertSynonym(set));
  await afterChange(ctx);
  return set;
}

/** Deletes a synonym set; 404 when there is none. */
export async function deleteSynonym(ctx: ServiceContext, actor: StaffActor, id: string): Promise<void> {
  await audited(ctx, actor, "search.synonym.delete", id, async (tx) => {
    const gone = await tx.execute(sql`delete from search_synonyms where id = ${id} returning root, synonyms`);
    if (gone.rows.length === 0) throw new AppError("SYNONYM_NOT_FOUND", `No synonym set '${id}'`, { id });
    return { before: gone.rows[0], after: null };
  });
  await inEngine("delete", () => searchEngineFor(ctx.config, ctx.db).deleteSynonym(id));
  await afterChange(ctx);
}
