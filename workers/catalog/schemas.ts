/** Input schemas of the catalog routes. Query strings are strict: an unknown parameter is a 400. */
import { z } from "zod";
import { queryInt, safeText } from "../platform/validation";
import type { FieldCodes } from "../platform/validation";
import { MAX_PRICE } from "../platform/price-bounds";

export { MAX_PRICE };

export const MAX_PAGE_SIZE = 50;
export const DEFAULT_PAGE_SIZE = 24;

export const sortKeys = ["popularity", "price_asc", "price_desc", "rating", "newest"] as const;
export type SortKey = (typeof sortKeys)[number];

const slug = z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "must be a lowercase slug").max(120);

/** Accepts `a,b` or repeated parameters; each item must match `item`. */
const list = (item: z.ZodType<string, string>, max: number) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(item).max(max))
    .default([]);

const boolParam = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

const listQueryBase = z.strictObject({
  category: slug.optional(),
  price_min: queryInt({ min: 0, max: MAX_PRICE, description: "Lowest price, in cents" }),
  price_max: queryInt({ min: 0, max: MAX_PRICE, description: "Highest price, in cents" }),
  format: list(slug, 10),
  language: list(z.string().regex(/^[a-z]{2,3}$/, "must be an ISO 639 code such as 'en'"), 10),
  in_stock: boolParam.optional(),
  author: slug.optional(),
  sort: z.enum(sortKeys).default("popularity"),
  limit: queryInt({ min: 1, max: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: "Page size" }),
  cursor: safeText().max(200).optional(),
});

const priceRangeOk = (q: { price_min?: number | undefined; price_max?: number | undefined }): boolean =>
  q.price_min === undefined || q.price_max === undefined || q.price_min <= q.price_max;
const priceRangeError = { message: "price_min must not exceed price_max", path: ["price_min"] };

export const listQuerySchema = listQueryBase.refine(priceRangeOk, priceRangeError);
/** On /categories/:slug/products the category comes from the path, so the query may not name another. */
export const categoryListQuerySchema = listQueryBase.omit({ category: true }).refine(priceRangeOk, priceRangeError);

export type ListQuery = z.output<typeof listQuerySchema>;

/** Error codes for list query fields (see platform/validation.ts). */
export const listQueryCodes: FieldCodes = {
  limit: { too_big: "PAGE_SIZE_TOO_LARGE" },
  cursor: "INVALID_CURSOR",
  sort: "INVALID_SORT",
  price_min: "INVALID_PRICE_RANGE",
  price_max: "INVALID_PRICE_RANGE",
};

export const slugParamSchema = z.strictObject({ slug: slug.meta({ example: "the-hunger-games" }) });
export const categoryParamSchema = z.strictObject({ slug });
export const isbnParamSchema = z.strictObject({ isbn: safeText().max(32).meta({ description: "ISBN-10 or ISBN-13, hyphens allowed", example: "978-0-439-02348-1" }) });
export const emptyQuerySchema = z.strictObject({});

export const variantPatchSchema = z
  .strictObject({
    price_override: z.number().int().min(0).max(MAX_PRICE).nullable().optional(),
    status: z.enum(["active", "inactive", "discontinued"]).optional(),
  })
  .refine((b) => b.price_override !== undefined || b.status !== undefined, { message: "nothing to change" });
export type VariantPatch = z.output<typeof variantPatchSchema>;

export const skuParamSchema = z.strictObject({ sku: z.string().regex(/^[A-Z0-9][A-Z0-9-]{1,63}$/, "must be a SKU").meta({ example: "BK00001-HC" }) });
