/** Response schemas of the catalog routes: what the document promises and the conformance tests check. */
import { z } from "zod";

export const moneySchema = z.object({
  amount: z.number().int().meta({ description: "Minor units (cents)." }),
  currency: z.string().length(3).meta({ example: "USD" }),
});

export const availabilitySchema = z
  .enum(["in_stock", "low_stock", "out_of_stock"])
  .meta({ description: "A level, never a count; held units count as gone." });

const categoryRef = z.object({ slug: z.string(), name: z.string(), path: z.string() });
const imageSchema = z.object({ url: z.string(), thumbUrl: z.string(), alt: z.string() });

export const productListItemSchema = z
  .object({
    id: z.number().int(),
    slug: z.string(),
    name: z.string(),
    subtitle: z.string().nullable(),
    authors: z.array(z.object({ slug: z.string(), name: z.string() })),
    category: categoryRef,
    price: z.object({ from: moneySchema, to: moneySchema }),
    formats: z.array(z.string()),
    rating: z.object({ average: z.number(), count: z.number().int() }),
    image: imageSchema.nullable(),
    in_stock: z.boolean(),
    availability: availabilitySchema,
    featured: z.boolean(),
    published_year: z.number().int().nullable(),
    language: z.string().nullable(),
  })
  .meta({ id: "ProductListItem" });

export const productListPageSchema = z.object({
  limit: z.number().int(),
  next_cursor: z.string().nullable().meta({ description: "Pass as `cursor` for the next page; null on the last page." }),
  has_more: z.boolean(),
  sort: z.string(),
});

export const productDetailSchema = z
  .object({
    id: z.number().int(),
    slug: z.string(),
    name: z.string(),
    subtitle: z.string().nullable(),
    description: z.string().nullable(),
    isbn13: z.string().nullable(),
    isbn10: z.string().nullable(),
    gtin: z.string().nullable(),
    language: z.string().nullable(),
    published_year: z.number().int().nullable(),
    authors: z.array(z.object({ slug: z.string(), name: z.string(), role: z.string().nullable() })),
    brand: z.object({ slug: z.string(), name: z.string(), kind: z.string() }).nullable(),
    category: categoryRef,
    categories: z.array(categoryRef),
    images: z.array(imageSchema),
    attributes: z.record(z.string(), z.unknown()),
    price: z.object({ from: moneySchema, to: moneySchema }),
    rating: z.object({ average: z.number(), count: z.number().int() }),
    featured: z.boolean(),
    variants: z.array(
      z.object({
        sku: z.string(),
        name: z.string(),
        attributes: z.record(z.string(), z.unknown()),
        price: moneySchema,
        status: z.enum(["active", "inactive", "discontinued"]),
        availability: availabilitySchema,
        in_stock: z.boolean(),
        backorder: z.boolean(),
      }),
    ),
    version: z.number().int(),
    updated_at: z.string(),
  })
  .meta({ id: "ProductDetail" });

export interface CategoryNodeShape {
  slug: string;
  name: string;
  path: string;
  product_count: number;
  children: CategoryNodeShape[];
}

export const categoryNodeSchema: z.ZodType<CategoryNodeShape> = z
  .object({
    slug: z.string(),
    name: z.string(),
    path: z.string(),
    product_count: z.number().int(),
    get children() {
      return z.array(categoryNodeSchema);
    },
  })
  .meta({ id: "CategoryNode" });

export const variantUpdateSchema = z.object({
  sku: z.string(),
  product_slug: z.string(),
  price_override: z.number().int().nullable(),
  status: z.enum(["active", "inactive", "discontinued"]),
  product_version: z.number().int(),
  catalog_version: z.number().int(),
});
