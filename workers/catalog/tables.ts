/**
 * Catalog tables: categories (a tree with a materialised path), brands/publishers, authors, products,
 * per-category attribute definitions, and variants (one SKU each).
 * Money is integer minor units plus an ISO 4217 currency code.
 */
import { sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import {
  bigint,
  boolean,
  char,
  check,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

const timestamps = {
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
};

/** A node of the category tree. `path` is the slash-joined slugs from the root, e.g. `fiction/fantasy`. */
export const categories = pgTable(
  "categories",
  {
    id: integer("id").primaryKey().generatedByDefaultAsIdentity(),
    parentId: integer("parent_id").references((): AnyPgColumn => categories.id, { onDelete: "restrict" }),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    path: text("path").notNull(),
    depth: smallint("depth").notNull(),
    position: integer("position").notNull().default(0),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("categories_path_uq").on(t.path),
    uniqueIndex("categories_slug_uq").on(t.slug),
    index("categories_parent_idx").on(t.parentId, t.position),
    check("categories_slug_ck", sql`${t.slug} ~ '^[a-z0-9]+(-[a-z0-9]+)*$'`),
  ],
);

/** Brands; for books these are publishers (`kind = 'publisher'`). */
export const brands = pgTable(
  "brands",
  {
    id: integer("id").primaryKey().generatedByDefaultAsIdentity(),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    kind: text("kind").notNull().default("brand"),
    ...timestamps,
  },
  (t) => [uniqueIndex("brands_slug_uq").on(t.slug), check("brands_kind_ck", sql`${t.kind} in ('brand','publisher')`)],
);

export const authors = pgTable(
  "authors",
  {
    id: integer("id").primaryKey().generatedByDefaultAsIdentity(),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    ...timestamps,
  },
  (t) => [uniqueIndex("authors_slug_uq").on(t.slug)],
);

export const productStatus = ["draft", "active", "archived"] as const;
export type ProductStatus = (typeof productStatus)[number];

/** One image of a product; URLs only, the bytes live on a CDN. */
export interface ProductImage {
  url: string;
  thumbUrl?: string;
  alt: string;
}

/**
 * A product. `minPrice`/`maxPrice`/`formats` are derived from its variants by the catalog service in the same
 * transaction as any variant change, so list pages filter and sort on one row without joins.
 * `version` grows by one on every change to the product, its variants or their stock: caches compare it.
 */
export const products = pgTable(
  "products",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    subtitle: text("subtitle"),
    description: text("description").notNull().default(""),
    categoryId: integer("category_id")
      .notNull()
      .references(() => categories.id, { onDelete: "restrict" }),
    brandId: integer("brand_id").references(() => brands.id, { onDelete: "set null" }),
    /** GTIN of the product; for books the ISBN-13 (an EAN-13). */
    gtin: text("gtin"),
    language: text("language"),
    publishedYear: integer("published_year"),
    images: jsonb("images").$type<ProductImage[]>().notNull().default([]),
    attributes: jsonb("attributes").$type<Record<string, string | number | boolean>>().notNull().default({}),
    basePrice: integer("base_price").notNull(),
    currency: char("currency", { length: 3 }).notNull().default("USD"),
    minPrice: integer("min_price").notNull(),
    maxPrice: integer("max_price").notNull(),
    formats: text("formats").array().notNull().default(sql`'{}'::text[]`),
    featured: boolean("featured").notNull().default(false),
    status: text("status").$type<ProductStatus>().notNull().default("draft"),
    ratingAvg: numeric("rating_avg", { precision: 3, scale: 2, mode: "number" }).notNull().default(0),
    ratingsCount: integer("ratings_count").notNull().default(0),
    salesCount: integer("sales_count").notNull().default(0),
    /** Sort key for "popularity": ratings plus sales, kept by the service. */
    popularity: integer("popularity").notNull().default(0),
    version: bigint("version", { mode: "number" }).notNull().default(1),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("products_slug_uq").on(t.slug),
    uniqueIndex("products_gtin_uq").on(t.gtin),
        index("products_price_idx").on(t.minPrice, t.id),
    index("products_rating_idx").on(t.ratingAvg, t.id),
    index("products_popularity_idx").on(t.popularity, t.id),
    index("products_newest_idx").on(sql`coalesce(${t.publishedYear}, -100000)`, t.id),
    index("products_formats_gin").using("gin", t.formats),
    index("products_attributes_gin").using("gin", t.attributes.op("jsonb_path_ops")),
    index("products_language_idx").on(t.language),
    index("products_status_idx").on(t.status),
    check("products_status_ck", sql`${t.status} in ('draft','active','archived')`),
    check("products_prices_ck", sql`${t.basePrice} >= 0 and ${t.minPrice} >= 0 and ${t.maxPrice} >= ${t.minPrice}`),
    check("products_currency_ck", sql`${t.currency} ~ '^[A-Z]{3}$'`),
  ],
);

/** Every category a product belongs to, ancestors included, so a category page is one indexed join. */
export const productCategories = pgTable(
  "product_categories",
  {
    categoryId: integer("category_id")
      .notNull()
      .references(() => categories.id, { onDelete: "cascade" }),
    productId: bigint("product_id", { mode: "number" })
      .notNull()
      .references(() => products.id, { onDelete: "cascade" }),
    /** True for the categories assigned directly; false for ancestors added for browsing. */
    direct: boolean("direct").notNull().default(true),
  },
  (t) => [primaryKey({ columns: [t.categoryId, t.productId] }), index("product_categories_product_idx").on(t.productId)],
);

export const productAuthors = pgTable(
  "product_authors",
  {
    productId: bigint("product_id", { mode: "number" })
      .notNull()
      .references(() => products.id, { onDelete: "cascade" }),
    authorId: integer("author_id")
      .notNull()
      .references(() => authors.id, { onDelete: "restrict" }),
    position: smallint("position").notNull(),
    role: text("role").notNull().default("author"),
  },
  (t) => [primaryKey({ columns: [t.productId, t.authorId] }), index("product_authors_author_idx").on(t.authorId, t.productId)],
);

/**
 * Subjects a book is about ("zombie", "time travel", "world war ii"): the readers' own shelf names folded into one
 * vocabulary (dev/seed-data/subjects.csv, built from the goodbooks shelf tags). `aliases` are the other names a
 * shopper may type for it (sci fi, scifi, sf for science fiction), already normalised.
 */
export const subjects = pgTable(
  "subjects",
  {
    id: integer("id").primaryKey().generatedByDefaultAsIdentity(),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    aliases: text("aliases").array().notNull().default(sql`'{}'::text[]`),
    ...timestamps,
  },
  (t) => [uniqueIndex("subjects_slug_uq").on(t.slug)],
);

/** How strongly a product is about a subject: how many readers shelved it so (a relevance weight, not a label). */
export const productSubjects = pgTable(
  "product_subjects",
  {
    productId: bigint("product_id", { mode: "number" })
      .notNull()
      .references(() => products.id, { onDelete: "cascade" }),
    subjectId: integer("subject_id")
      .notNull()
      .references(() => subjects.id, { onDelete: "cascade" }),
    weight: integer("weight").notNull(),
  },
  (t) => [primaryKey({ columns: [t.productId, t.subjectId] }), index("product_subjects_subject_idx").on(t.subjectId, t.productId)],
);

export const attributeTypes = ["text", "number", "boolean", "enum"] as const;
export type AttributeType = (typeof attributeTypes)[number];

/**
 * The attributes a category's products and variants may carry (seed 003's ProductAttribute), inherited by
 * descendant categories. `scope` says whether the value lives on the product or on each variant.
 */
export const attributeDefinitions = pgTable(
  "attribute_definitions",
  {
    id: integer("id").primaryKey().generatedByDefaultAsIdentity(),
    categoryId: integer("category_id")
      .notNull()
      .references(() => categories.id, { onDelete: "cascade" }),
    code: text("code").notNull(),
    name: text("name").notNull(),
    type: text("type").$type<AttributeType>().notNull(),
    scope: text("scope").$type<"product" | "variant">().notNull(),
    options: jsonb("options").$type<string[]>(),
    filterable: boolean("filterable").notNull().default(false),
    required: boolean("required").notNull().default(false),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("attribute_definitions_category_code_uq").on(t.categoryId, t.code),
    check("attribute_definitions_type_ck", sql`${t.type} in ('text','number','boolean','enum')`),
    check("attribute_definitions_scope_ck", sql`${t.scope} in ('product','variant')`),
    check("attribute_definitions_code_ck", sql`${t.code} ~ '^[a-z][a-z0-9_]{0,39}$'`),
  ],
);

export const variantStatus = ["active", "inactive", "discontinued"] as const;
export type VariantStatus = (typeof variantStatus)[number];

/** A sellable SKU of a product (seed 003's Variant + VariantAttributeValue, values in `attributes`). */
export const variants = pgTable(
  "variants",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    productId: bigint("product_id", { mode: "number" })
      .notNull()
      .references(() => products.id, { onDelete: "cascade" }),
    sku: text("sku").notNull(),
    name: text("name").notNull(),
    attributes: jsonb("attributes").$type<Record<string, string | number | boolean>>().notNull().default({}),
    /** Null means the product's base price. */
    priceOverride: integer("price_override"),
    status: text("status").$type<VariantStatus>().notNull().default("active"),
    /** False for goods with no stock to count (ebooks). */
    trackInventory: boolean("track_inventory").notNull().default(true),
    backorderAllowed: boolean("backorder_allowed").notNull().default(false),
    position: smallint("position").notNull().default(0),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("variants_sku_uq").on(t.sku),
    index("variants_product_idx").on(t.productId, t.position),
    index("variants_attributes_gin").using("gin", t.attributes.op("jsonb_path_ops")),
    check("variants_price_ck", sql`${t.priceOverride} is null or ${t.priceOverride} >= 0`),
    check("variants_status_ck", sql`${t.status} in ('active','inactive','discontinued')`),
    check("variants_sku_ck", sql`${t.sku} ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'`),
  ],
);
