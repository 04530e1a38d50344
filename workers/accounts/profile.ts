/**
 * The signed-in user's profile and addresses. Phone numbers and addresses are encrypted at rest (platform/pii.ts)
 * with the owner and field as associated data; every query is scoped to the caller, so another user's address is
 * simply not found (404), never "forbidden".
 */
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { regionProblem } from "../platform/iso-3166";
import { decryptPii, decryptPiiJson, encryptPii, encryptPiiJson } from "../platform/pii";
import { piiRing as ring } from "../platform/pii-keys";
import { hashIp, writeAudit } from "../platform/audit";
import { clientIpOrNull } from "../platform/client-ip";
import type { AddressInput, AddressPatch, ProfilePatch } from "./schemas";
import type { Role } from "./tables";

const phoneContext = (userId: string): string => `user:${userId}:phone`;
const addressContext = (userId: string, addressId: string): string => `user:${userId}:address:${addressId}`;

type AddressData = Omit<AddressInput, "label" | "country" | "default_shipping" | "default_billing">;

interface AddressRow extends Record<string, unknown> {
  id: string;
  label: string | null;
  country: string;
  data_enc: string;
  is_default_shipping: boolean;
  is_default_billing: boolean;
}

export interface Profile {
  id: string;
  email: string;
  name: string | null;
  phone: string | null;
  role: Role;
  email_verified: boolean;
  mfa_enabled: boolean;
  created_at: string;
}

/** The caller's profile with the phone decrypted. */
export async function getProfile(c: Context<AppEnv>, userId: string): Promise<Profile> {
  const { value } = await c.get("db").read(
    (db) =>
      db.rows<Omit<Profile, "phone"> & { phone_enc: string | null }>(sql`
        select id, email, name, phone_enc, role, email_verified_at is not null as email_verified, mfa_enabled,
               to_json(created_at) #>> '{}' as created_at
        from users where id = ${userId}`),
    { primary: true },
  );
  const row = value[0];
  if (!row) throw new AppError("NOT_FOUND", "User not found");
  const { phone_enc, ...rest } = row;
  return { ...rest, phone: phone_enc ? await decryptPii(ring(c), phone_enc, phoneContext(userId)) : null };
}

/** Changes the caller's name and/or phone (encrypted); audited without the values themselves. */
export async function updateProfile(c: Context<AppEnv>, userId: string, patch: ProfilePatch): Promise<Profile> {
  const phoneEnc = patch.phone === undefined ? undefined : patch.phone === null ? null : await encryptPii(ring(c), patch.phone, phoneContext(userId));
  const ipHash = await hashIp(clientIpOrNull(c), c.get("config").cookieSecret);
  await c.get("db").write((db) =>
    db.transaction(async (tx) => {
      await tx.execute(sql`update users set
          name = ${patch.name === undefined ? sql`name` : patch.name},
          phone_enc = ${phoneEnc === undefined ? sql`phone_enc` : phoneEnc},
          updated_at = now()
        where id = ${userId}`);
      await writeAudit(tx, {
        actorId: userId,
        actorRole: null,
        action: "profile.update",
        targetType: "user",
        targetId: userId,
        requestId: c.get("requestId"),
        ipHash,
        // Which fields changed, never their (personal) values.
        after: { fields: Object.keys(patch) },
      });
    }),
  );
  return getProfile(c, userId);
}

async function shapeAddress(c: Context<AppEnv>, userId: string, r: AddressRow) {
  const data = await decryptPiiJson<AddressData>(ring(c), r.data_enc, addressContext(userId, r.id));
  return { id: r.id, label: r.label, country: r.country, ...data, default_shipping: r.is_default_shipping, default_billing: r.is_default_billing };
}

/** The caller's addresses, defaults first. */
export async function listAddresses(c: Context<AppEnv>, userId: string) {
  const { value } = await c.get("db").read(
    (db) =>
      db.rows<AddressRow>(sql`select id, label, country, data_enc, is_default_shipping, is_default_billing from addresses
                              where user_id = ${userId} order by is_default_shipping desc, is_default_billing desc, created_at`),
    { primary: true },
  );
  return Promise.all(value.map((r) => shapeAddress(c, userId, r)));
}

const MAX_ADDRESSES = 20;

/** Adds an address; the first one becomes the default for shipping and billing. */
export async function addAddress(c: Context<AppEnv>, userId: string, input: AddressInput) {
  const id = crypto.randomUUID();
  const { label, country, default_shipping, default_billing, ...data } = input;
  const dataEnc = await encryptPiiJson(ring(c), data, addressContext(userId, id));
  const row = await c.get("db").write((db) =>
    db.transaction(async (tx) => {
      const count = await tx.execute<{ n: string }>(sql`select count(*) as n from addresses where user_id = ${userId}`);
      const n = Number(count.rows[0]?.n ?? 0);
      if (n >= MAX_ADDRESSES) throw new AppError("TOO_MANY_ADDRESSES", `At most ${MAX_ADDRESSES} addresses per account`);
      const ship = default_shipping === true || n === 0;
      const bill = default_billing === true || n === 0;
      if (ship) await tx.execute(sql`update addresses set is_default_shipping = false where user_id = ${userId} and is_default_shipping`);
      if (bill) await tx.execute(sql`update addresses set is_default_billing = false where user_id = ${userId} and is_default_billing`);
      const res = await tx.execute<AddressRow>(sql`
        insert into addresses (id, user_id, label, country, data_enc, is_default_shipping, is_default_billing)
        values (${id}, ${userId}, ${label ?? null}, ${country}, ${dataEnc}, ${ship}, ${bill})
        returning id, label, country, data_enc, is_default_shipping, is_default_billing`);
      return res.rows[0] as AddressRow;
    }),
  );
  return shapeAddress(c, userId, row);
}

/** Changes one of the caller's addresses; someone else's is 404. */
export async function updateAddress(c: Context<AppEnv>, userId: string, addressId: string, patch: AddressPatch) {
  const { value } = await c.get("db").read(
    (db) => db.rows<AddressRow>(sql`select id, label, country, data_enc, is_default_shipping, is_default_billing from addresses where id = ${addressId} and user_id = ${userId}`),
    { primary: true },
  );
  const current = value[0];
  if (!current) throw new AppError("NOT_FOUND", "Address not found");
  const existing = await decryptPiiJson<AddressData>(ring(c), current.data_enc, addressContext(userId, addressId));
  const { label, country, default_shipping, default_billing, ...data } = patch;
  const merged: AddressData = { ...existing, ...Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined)) };
  // The same rule as a new address, on the address as it will be: a change of country can make a region required.
  const problem = regionProblem(country ?? current.country, typeof merged.region === "string" ? merged.region : undefined);
  if (problem) throw new AppError("VALIDATION_FAILED", `Invalid request body: region: ${problem}`, [{ path: "region", code: "custom", message: problem }]);
  const dataEnc = await encryptPiiJson(ring(c), merged, addressContext(userId, addressId));
  const row = await c.get("db").write((db) =>
    db.transaction(async (tx) => {
      if (default_shipping === true) await tx.execute(sql`update addresses set is_default_shipping = false where user_id = ${userId} and is_default_shipping and id <> ${addressId}`);
      if (default_billing === true) await tx.execute(sql`update addresses set is_default_billing = false where user_id = ${userId} and is_default_billing and id <> ${addressId}`);
      const res = await tx.execute<AddressRow>(sql`
        update addresses set
          label = ${label === undefined ? current.label : label},
          country = ${country ?? current.country},
          data_enc = ${dataEnc},
          is_default_shipping = ${default_shipping ?? current.is_default_shipping},
          is_default_billing = ${default_billing ?? current.is_default_billing},
          updated_at = now()
        where id = ${addressId} and user_id = ${userId}
        returning id, label, country, data_enc, is_default_shipping, is_default_billing`);
      return res.rows[0];
    }),
  );
  if (!row) throw new AppError("NOT_FOUND", "Address not found");
  return shapeAddress(c, userId, row);
}

/** Deletes one of the caller's addresses; someone else's is 404. */
export async function deleteAddress(c: Context<AppEnv>, userId: string, addressId: string): Promise<void> {
  const deleted = await c.get("db").write((db) => db.execute(sql`delete from addresses where id = ${addressId} and user_id = ${userId} returning id`));
  if (deleted.rows.length === 0) throw new AppError("NOT_FOUND", "Address not found");
}
