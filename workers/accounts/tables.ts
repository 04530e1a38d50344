/**
 * Accounts: users with a role, and refresh-token families. Emails are unique case-insensitively through
 * `email_normalized`; phone numbers are stored only encrypted (platform/pii.ts envelopes).
 */
import { sql } from "drizzle-orm";
import { bigint, boolean, check, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";

export const roles = ["customer", "vendor", "staff", "admin"] as const;
export type Role = (typeof roles)[number];

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    email: text("email").notNull(),
    /** Lowercased, trimmed: the uniqueness and lookup key. */
    emailNormalized: text("email_normalized").notNull(),
    passwordHash: text("password_hash").notNull(),
    role: text("role").$type<Role>().notNull().default("customer"),
    name: text("name"),
    /** AES-GCM envelope (platform/pii.ts); never the plain number. */
    phoneEnc: text("phone_enc"),
    emailVerifiedAt: timestamp("email_verified_at", { withTimezone: true, mode: "date" }),
    mfaEnabled: boolean("mfa_enabled").notNull().default(false),
    /** TOTP secret as a PII envelope (context user:<id>:totp); set when enrolment is confirmed. */
    mfaSecretEnc: text("mfa_secret_enc"),
    /** A secret being enrolled, not yet confirmed with a code. */
    mfaPendingEnc: text("mfa_pending_enc"),
    /** The last TOTP time step accepted, so a code cannot be replayed within its window. */
    mfaLastStep: bigint("mfa_last_step", { mode: "number" }),
    status: text("status").$type<"active" | "disabled">().notNull().default("active"),
    /** Raised by "log out everywhere": access tokens minted before it are refused. */
    tokenEpoch: integer("token_epoch").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("users_email_normalized_uq").on(t.emailNormalized),
    check("users_role_ck", sql`${t.role} in ('customer','vendor','staff','admin')`),
    check("users_status_ck", sql`${t.status} in ('active','disabled')`),
  ],
);

/**
 * One row per refresh token. Tokens of one login share a family; using a token rotates it (the row is marked
 * rotated and a new one issued). Presenting a rotated or revoked token again means it was stolen: the whole
 * family is revoked.
 */
export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    familyId: uuid("family_id").notNull(),
    /** SHA-256 of the token; the token itself is only ever in the client's cookie. */
    tokenHash: text("token_hash").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }).notNull(),
    rotatedAt: timestamp("rotated_at", { withTimezone: true, mode: "date" }),
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "date" }),
    revokeReason: text("revoke_reason"),
    ipHash: text("ip_hash"),
    userAgent: text("user_agent"),
    /** The token that replaced this one; within the refresh grace a repeat of this token answers with it. */
    successorId: uuid("successor_id"),
    /** The successor token itself as a PII envelope (context refresh:<id>), kept only for the grace period. */
    successorEnc: text("successor_enc"),
  },
  (t) => [
    uniqueIndex("refresh_tokens_hash_uq").on(t.tokenHash),
    index("refresh_tokens_family_idx").on(t.familyId),
    index("refresh_tokens_user_idx").on(t.userId),
  ],
);

/**
 * Postal addresses. Everything that identifies a person (name, street, phone) is one AES-GCM envelope bound to the
 * row's owner; only the country stays in clear, for shipping and tax rules.
 */
export const addresses = pgTable(
  "addresses",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    label: text("label"),
    country: text("country").notNull(),
    dataEnc: text("data_enc").notNull(),
    isDefaultShipping: boolean("is_default_shipping").notNull().default(false),
    isDefaultBilling: boolean("is_default_billing").notNull().default(false),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    index("addresses_user_idx").on(t.userId),
    uniqueIndex("addresses_default_shipping_uq").on(t.userId).where(sql`${t.isDefaultShipping}`),
    uniqueIndex("addresses_default_billing_uq").on(t.userId).where(sql`${t.isDefaultBilling}`),
    check("addresses_country_ck", sql`${t.country} ~ '^[A-Z]{2}$'`),
  ],
);

/** One-time MFA recovery codes, stored as SHA-256 of the normalised code (totp.ts). */
export const mfaRecoveryCodes = pgTable(
  "mfa_recovery_codes",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull(),
    usedAt: timestamp("used_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [primaryKey({ columns: [t.userId, t.codeHash] })],
);

export const tokenPurposes = ["verify_email", "reset_password"] as const;
export type TokenPurpose = (typeof tokenPurposes)[number];

/** Single-use, expiring tokens sent by email; only their SHA-256 is stored. */
export const userTokens = pgTable(
  "user_tokens",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    purpose: text("purpose").$type<TokenPurpose>().notNull(),
    tokenHash: text("token_hash").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }).notNull(),
    usedAt: timestamp("used_at", { withTimezone: true, mode: "date" }),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("user_tokens_hash_uq").on(t.tokenHash),
    index("user_tokens_user_idx").on(t.userId, t.purpose),
    check("user_tokens_purpose_ck", sql`${t.purpose} in ('verify_email','reset_password')`),
  ],
);

/**
 * MFA tokens (the password step's proof) that were presented: a token gives at most one session and a bounded
 * number of wrong codes. Rows outlive the token's 5 minutes only until retention deletes them.
 */
export const mfaTokenUses = pgTable(
  "mfa_token_uses",
  {
    jti: uuid("jti").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    attempts: integer("attempts").notNull().default(0),
    consumedAt: timestamp("consumed_at", { withTimezone: true, mode: "date" }),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [index("mfa_token_uses_user_idx").on(t.userId)],
);

/** Account emails sent (or suppressed) per recipient account, for the per-address hourly mail limit. */
export const accountMails = pgTable(
  "account_mails",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    kind: text("kind").notNull(),
    sentAt: timestamp("sent_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [index("account_mails_user_idx").on(t.userId, t.sentAt)],
);
