/**
 * Edge and browser caching of catalog GETs: anonymous responses are public for a short time and revalidate with
 * an ETag; a signed-in or read-your-writes session gets private, always-revalidated responses.
 */
import type { MiddlewareHandler } from "hono";
import { etag, RETAINED_304_HEADERS } from "hono/etag";
import type { AppEnv } from "./context";

/** Cache-Control for public catalog data: `maxAge` seconds fresh, then served stale while revalidating. */
export function publicCache(maxAge: number, staleWhileRevalidate = maxAge * 5): MiddlewareHandler<AppEnv> {
  const tag = etag({ weak: true, retainedHeaders: [...RETAINED_304_HEADERS, "x-request-id", "x-trace-id", "x-served-by"] });
  return async (c, next) => {
    await tag(c, async () => {
      await next();
      if (c.res.status !== 200) return;
      const anonymous = !c.req.header("authorization") && !c.get("readYourWrites");
      c.header(
        "Cache-Control",
        anonymous ? `public, max-age=${maxAge}, stale-while-revalidate=${staleWhileRevalidate}` : "private, no-cache",
      );
      c.header("Vary", "Accept-Encoding, Authorization");
    });
  };
}
