/**
 * The storefront's URLs and display formats. Every link a page offers (facets, sorts, pages) is a plain GET URL, so
 * browsing works without JavaScript and every page state can be bookmarked or shared.
 */
import type { SearchQuery, SearchSort } from "../search";

/** The part of a search a page's links carry over (the rest, such as `facets` and `limit`, the page decides). */
export interface BrowseState {
  q?: string;
  author?: string;
  format: string[];
  language: string[];
  price_min?: number;
  price_max?: number;
  in_stock?: boolean;
  sort?: SearchSort;
  page: number;
}

/** What a validated search query carries over into the page's links. */
export function browseStateOf(q: SearchQuery): BrowseState {
  return {
    q: q.q,
    author: q.author,
    format: q.format,
    language: q.language,
    price_min: q.price_min,
    price_max: q.price_max,
    in_stock: q.in_stock,
    sort: q.sort,
    page: q.page,
  };
}

/**
 * `base` with the state as its query string, after `change`; any change but a page change returns to page 1 (the
 * old page number may not exist in the new results).
 */
export function browseHref(base: string, state: BrowseState, change: Partial<BrowseState> = {}): string {
  const next: BrowseState = { ...state, ...change, page: change.page ?? (Object.keys(change).length > 0 ? 1 : state.page) };
  const params = new URLSearchParams();
  if (next.q) params.set("q", next.q);
  if (next.author) params.set("author", next.author);
  if (next.format.length > 0) params.set("format", next.format.join(","));
  if (next.language.length > 0) params.set("language", next.language.join(","));
  if (next.price_min !== undefined) params.set("price_min", String(next.price_min));
  if (next.price_max !== undefined) params.set("price_max", String(next.price_max));
  if (next.in_stock !== undefined) params.set("in_stock", String(next.in_stock));
  if (next.sort) params.set("sort", next.sort);
  if (next.page > 1) params.set("page", String(next.page));
  const qs = params.toString();
  return qs ? `${base}?${qs}` : base;
}

/** A list with `value` added, or removed when it is there (a facet link toggles its value). */
export function toggled(list: readonly string[], value: string): string[] {
  return list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
}

export const bookHref = (slug: string) => `/books/${encodeURIComponent(slug)}`;
export const categoryHref = (slug: string) => `/category/${encodeURIComponent(slug)}`;
export const authorHref = (slug: string) => `/search?author=${encodeURIComponent(slug)}`;
export const searchHref = (q: string) => `/search?q=${encodeURIComponent(q)}`;

/** Minor units as the shop shows prices ($12.99). */
export function formatMoney(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(amount / 100);
  } catch {
    // An unknown currency code: still show the amount rather than fail the page.
    return `${(amount / 100).toFixed(2)} ${currency}`;
  }
}

const LANGUAGES: Readonly<Record<string, string>> = { en: "English", es: "Spanish", fr: "French", de: "German", it: "Italian", pt: "Portuguese", ja: "Japanese" };
export const languageName = (code: string) => LANGUAGES[code] ?? code.toUpperCase();

const FORMATS: Readonly<Record<string, string>> = { paperback: "Paperback", hardcover: "Hardcover", ebook: "Ebook", audiobook: "Audiobook" };
export const formatName = (format: string) => FORMATS[format] ?? format;

/** An author slug as words, for facet values whose display name is not on the page (j-r-r-tolkien → J R R Tolkien). */
export const slugWords = (slug: string) => slug.split("-").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(" ");

/** Price bands offered as facets, minor units; `max` inclusive. */
export const PRICE_BANDS: readonly { label: string; min?: number; max?: number }[] = [
  { label: "Under $10", max: 999 },
  { label: "$10 to $20", min: 1000, max: 1999 },
  { label: "$20 to $30", min: 2000, max: 2999 },
  { label: "$30 and over", min: 3000 },
];

export const SORT_LABELS: Readonly<Record<SearchSort, string>> = {
  relevance: "Relevance",
  popularity: "Most read",
  rating: "Best rated",
  newest: "Newest",
  price_asc: "Price: low to high",
  price_desc: "Price: high to low",
};
