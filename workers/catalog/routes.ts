/** Catalog HTTP routes: thin handlers that validate, call the service and shape nothing themselves. */
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../platform/context";
import { publicCache } from "../platform/http-cache";
import { requireStaff } from "../platform/staff-auth";
import { apiRoute, apiRouter, empty, ok, prebuilt } from "../platform/openapi";
import { serviceContext } from "../platform/service-context";
import { clientIpOrNull } from "../platform/client-ip";
import {
  categoryListQuerySchema,
  emptyQuerySchema,
  isbnParamSchema,
  listQueryCodes,
  listQuerySchema,
  skuParamSchema,
  slugParamSchema,
  variantPatchSchema,
} from "./schemas";
import { categoryNodeSchema, productDetailSchema, productListItemSchema, productListPageSchema, variantUpdateSchema } from "./response-schemas";
import { categoryTreeExample, productDetailExample, productListExample } from "./examples";
import { categoryTreeResponse, productByIsbnResponse, productListResponse, productResponse } from "./service";
import { updateVariant } from "./admin-service";
import type { StaffActor } from "./admin-service";

const staffActor = (c: Context<AppEnv>): StaffActor => ({ userId: c.get("userId") ?? null, ip: clientIpOrNull(c) });

const CACHED = ["ETag", "Cache-Control"] as const;
const READ_ERRORS = ["DATABASE_UNAVAILABLE"] as const;
const notModified = empty("Not modified: the `If-None-Match` ETag is current.", CACHED);
const productList = ok(z.array(productListItemSchema), "One page of products.", { headers: CACHED, extra: { page: productListPageSchema }, example: productListExample });

const categories = apiRoute({
  method: "get",
  path: "/categories",
  tags: ["catalog"],
  summary: "The category tree, with product counts",
  middleware: [publicCache(300)],
  request: { query: emptyQuerySchema },
  responses: { 200: ok(z.array(categoryNodeSchema), "Root categories with their children.", { headers: CACHED, example: categoryTreeExample }), 304: notModified },
  errors: READ_ERRORS,
});

const products = apiRoute({
  method: "get",
  path: "/products",
  tags: ["catalog"],
  summary: "List products (filter, sort, cursor pages)",
  description: "Keyset pages: follow `page.next_cursor` until it is null. Anonymous answers are cacheable for 60 s.",
  middleware: [publicCache(60)],
  request: { query: listQuerySchema },
  responses: { 200: productList, 304: notModified },
  errors: [...READ_ERRORS, "CATEGORY_NOT_FOUND"],
  fieldCodes: { query: listQueryCodes },
});

const categoryProducts = apiRoute({
  method: "get",
  path: "/categories/{slug}/products",
  tags: ["catalog"],
  summary: "List a category's products (its descendants included)",
  middleware: [publicCache(60)],
  request: { params: slugParamSchema, query: categoryListQuerySchema },
  responses: { 200: productList, 304: notModified },
  errors: [...READ_ERRORS, "CATEGORY_NOT_FOUND"],
  fieldCodes: { param: { slug: "INVALID_SLUG" }, query: listQueryCodes },
});

const productByIsbn = apiRoute({
  method: "get",
  path: "/products/by-isbn/{isbn}",
  tags: ["catalog"],
  summary: "A product by ISBN-10 or ISBN-13 (hyphens allowed)",
  middleware: [publicCache(300)],
  request: { params: isbnParamSchema, query: emptyQuerySchema },
  responses: { 200: ok(productDetailSchema, "The product.", { headers: CACHED, example: productDetailExample }), 304: notModified },
  errors: [...READ_ERRORS, "INVALID_ISBN", "PRODUCT_NOT_FOUND"],
});

const product = apiRoute({
  method: "get",
  path: "/products/{slug}",
  tags: ["catalog"],
  summary: "A product with its variants and availability",
  middleware: [publicCache(120)],
  request: { params: slugParamSchema, query: emptyQuerySchema },
  responses: { 200: ok(productDetailSchema, "The product.", { headers: CACHED, example: productDetailExample }), 304: notModified },
  errors: [...READ_ERRORS, "PRODUCT_NOT_FOUND"],
  fieldCodes: { param: { slug: "INVALID_SLUG" } },
});

export const catalogRoutes = apiRouter()
  .openapi(categories, async (c) => prebuilt(categories, await categoryTreeResponse(c)))
  .openapi(products, async (c) => prebuilt(products, await productListResponse(c, c.req.valid("query"))))
  .openapi(categoryProducts, async (c) =>
    prebuilt(categoryProducts, await productListResponse(c, { ...c.req.valid("query"), category: c.req.valid("param").slug })),
  )
  .openapi(productByIsbn, async (c) => prebuilt(productByIsbn, await productByIsbnResponse(c, c.req.valid("param").isbn)))
  .openapi(product, async (c) => prebuilt(product, await productResponse(c, c.req.valid("param").slug)));

const patchVariant = apiRoute({
  method: "patch",
  path: "/variants/{sku}",
  tags: ["admin-catalog"],
  summary: "Change a variant's price override or status (audited)",
  middleware: [requireStaff()],
  request: { params: skuParamSchema, body: { required: true, content: { "application/json": { schema: variantPatchSchema } } } },
  responses: { 200: ok(variantUpdateSchema, "The variant after the change, with the new versions.", { headers: ["Cache-Control"] }) },
  errors: ["VARIANT_NOT_FOUND", "DATABASE_UNAVAILABLE"],
});

export const catalogAdminRoutes = apiRouter().openapi(patchVariant, async (c) =>
  c.json({ data: await updateVariant(serviceContext(c), staffActor(c), c.req.valid("param").sku, c.req.valid("json")) }, 200, { "Cache-Control": "no-store" }),
);
