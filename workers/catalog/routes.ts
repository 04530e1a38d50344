/** Catalog HTTP routes: thin handlers that validate, call the service and shape nothing themselves. */
import { Hono } from "hono";
import type { AppEnv } from "../platform/context";
import { publicCache } from "../platform/http-cache";
import { validate } from "../platform/validation";
import { requireStaff } from "../platform/staff-auth";
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
import { categoryTreeResponse, productByIsbnResponse, productListResponse, productResponse } from "./service";
import { updateVariant } from "./admin-service";
import type { StaffActor } from "./admin-service";
import { serviceContext } from "../platform/service-context";
import { clientIpOrNull } from "../platform/client-ip";
import type { Context } from "hono";

const staffActor = (c: Context<AppEnv>): StaffActor => ({ userId: c.get("userId") ?? null, ip: clientIpOrNull(c) });

export const catalogRoutes = new Hono<AppEnv>()
  .get("/categories", publicCache(300), validate("query", emptyQuerySchema), (c) => categoryTreeResponse(c))
  .get("/products", publicCache(60), validate("query", listQuerySchema, listQueryCodes), (c) =>
    productListResponse(c, c.req.valid("query")),
  )
  .get(
    "/categories/:slug/products",
    publicCache(60),
    validate("param", slugParamSchema, { slug: "INVALID_SLUG" }),
    validate("query", categoryListQuerySchema, listQueryCodes),
    (c) => productListResponse(c, { ...c.req.valid("query"), category: c.req.valid("param").slug }),
  )
  .get("/products/by-isbn/:isbn", publicCache(300), validate("param", isbnParamSchema), validate("query", emptyQuerySchema), (c) =>
    productByIsbnResponse(c, c.req.valid("param").isbn),
  )
  .get("/products/:slug", publicCache(120), validate("param", slugParamSchema, { slug: "INVALID_SLUG" }), validate("query", emptyQuerySchema), (c) =>
    productResponse(c, c.req.valid("param").slug),
  );

export const catalogAdminRoutes = new Hono<AppEnv>()
  .use(requireStaff())
  .patch("/variants/:sku", validate("param", skuParamSchema), validate("json", variantPatchSchema), async (c) =>
    c.json({ data: await updateVariant(serviceContext(c), staffActor(c), c.req.valid("param").sku, c.req.valid("json")) }),
  );
