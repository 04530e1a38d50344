/**
 * The storefront pages' Content-Security-Policy: scripts, styles, images and fetches (the autocomplete's, the order
 * page's refresh) from this origin only, forms submitting here, nothing inline.
 */
import { pageContentSecurityPolicy } from "../platform/security";

export const PAGE_DIRECTIVES = {
  "default-src": ["'none'"],
  "script-src": ["'self'"],
  "style-src": ["'self'"],
  "img-src": ["'self'"],
  "connect-src": ["'self'"],
  "base-uri": ["'none'"],
  "form-action": ["'self'"],
} as const;

/** The policy as middleware, for every storefront page but the deployed payment page. */
export const pageCsp = pageContentSecurityPolicy(PAGE_DIRECTIVES);
