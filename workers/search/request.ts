/** From validated query parameters to an engine request; an ISBN typed as the query becomes an exact filter. */
import { toIsbn13 } from "../platform/isbn";
import type { SearchRequest } from "./engine";
import type { SearchQuery } from "./schemas";
import { understandQuery } from "./query-understanding";

/** An ISBN-10/13 typed as the query (hyphens and spaces allowed), as ISBN-13; null for anything else. */
export function isbnQuery(q: string): string | null {
  const compact = q.replace(/[\s-]/g, "");
  return /^(\d{9}[\dXx]|\d{13})$/.test(compact) ? toIsbn13(compact) : null;
}

/** The engine request for a validated query. */
export function toSearchRequest(q: SearchQuery): SearchRequest {
  const isbn13 = q.q === undefined ? null : isbnQuery(q.q);
  const text = isbn13 ? null : (q.q ?? null);
  return {
    q: text,
    intent: text === null ? undefined : understandQuery(text),
    filters: {
      category: q.category,
      author: q.author,
      format: [...q.format].sort(),
      language: [...q.language].sort(),
      priceMin: q.price_min,
      priceMax: q.price_max,
      inStock: q.in_stock,
      ratingMin: q.rating_min,
      isbn13: isbn13 ?? undefined,
    },
    facets: [...new Set(q.facets)].sort(),
    sort: q.sort ?? (text === null ? "popularity" : "relevance"),
    page: q.page,
    perPage: q.limit,
  };
}
