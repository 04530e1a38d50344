/**
 * Turns goodbooks-10k rows into catalog rows: categories from genres, authors, products with 1-3 format variants,
 * prices and stock. Everything synthetic is derived from the book id by a hash, so every run builds the same rows.
 */
import { createHash } from "node:crypto";

/** The category tree: genre slug → parent slug (the root is `books`). */
export const CATEGORY_TREE: [slug: string, name: string, parent: string | null][] = [
  ["books", "Books", null],
  ["fiction", "Fiction", "books"],
  ["nonfiction", "Nonfiction", "books"],
  ["young-readers", "Children & Young Adult", "books"],
  ["fantasy", "Fantasy", "fiction"],
  ["urban-fantasy", "Urban Fantasy", "fantasy"],
  ["paranormal", "Paranormal", "fantasy"],
  ["vampires", "Vampires", "paranormal"],
  ["mythology", "Mythology", "fantasy"],
  ["science-fiction", "Science Fiction", "fiction"],
  ["dystopian", "Dystopian", "science-fiction"],
  ["romance", "Romance", "fiction"],
  ["contemporary-romance", "Contemporary Romance", "romance"],
  ["chick-lit", "Chick Lit", "romance"],
  ["new-adult", "New Adult", "romance"],
  ["mystery", "Mystery", "fiction"],
  ["crime", "Crime", "mystery"],
  ["thriller", "Thriller", "mystery"],
  ["horror", "Horror", "fiction"],
  ["historical-fiction", "Historical Fiction", "fiction"],
  ["literary-fiction", "Literary Fiction", "fiction"],
  ["contemporary", "Contemporary", "fiction"],
  ["classics", "Classics", "fiction"],
  ["humor", "Humor", "fiction"],
  ["adventure", "Adventure", "fiction"],
  ["short-stories", "Short Stories", "fiction"],
  ["poetry", "Poetry", "fiction"],
  ["plays", "Plays", "fiction"],
  ["graphic-novels", "Graphic Novels", "fiction"],
  ["manga", "Manga", "graphic-novels"],
  ["biography", "Biography", "nonfiction"],
  ["memoir", "Memoir", "biography"],
  ["history", "History", "nonfiction"],
  ["science", "Science", "nonfiction"],
  ["philosophy", "Philosophy", "nonfiction"],
  ["psychology", "Psychology", "nonfiction"],
  ["self-help", "Self-Help", "nonfiction"],
  ["business", "Business", "nonfiction"],
  ["economics", "Economics", "business"],
  ["politics", "Politics", "nonfiction"],
  ["religion", "Religion & Spirituality", "nonfiction"],
  ["true-crime", "True Crime", "nonfiction"],
  ["travel", "Travel", "nonfiction"],
  ["cookbooks", "Cookbooks", "nonfiction"],
  ["food-writing", "Food Writing", "cookbooks"],
  ["young-adult", "Young Adult", "young-readers"],
  ["middle-grade", "Middle Grade", "young-readers"],
  ["childrens", "Children's", "young-readers"],
];

const LANGUAGES: Record<string, string> = {
  eng: "en", "en-us": "en", "en-gb": "en", "en-ca": "en", en: "en", "en-au": "en",
  fre: "fr", fra: "fr", ger: "de", deu: "de", spa: "es", "es-mx": "es", ara: "ar", jpn: "ja", ita: "it", por: "pt",
  ind: "id", pol: "pl", tur: "tr", rus: "ru", nl: "nl", nld: "nl", dut: "nl", swe: "sv", dan: "da", per: "fa",
  vie: "vi", msa: "ms", may: "ms", nor: "no", rum: "ro", ron: "ro", fil: "fil", gre: "el", heb: "he", chi: "zh",
  zho: "zh", kor: "ko", cze: "cs", fin: "fi", hun: "hu",
};

/** Normalises the dataset's mix of ISO 639-2 codes and locale tags to ISO 639-1 where one exists. */
export function normaliseLanguage(code: string): string | null {
  const c = code.trim().toLowerCase();
  if (c === "" || c === "mul" || c === "und") return null;
  return LANGUAGES[c] ?? (/^[a-z]{2,3}$/.test(c) ? c : null);
}

/** Lowercase ASCII slug: accents dropped, anything else becomes a hyphen. */
export function slugify(s: string): string {
  return s
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/&/g, " and ")
    .replace(/['’]/g, "")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 100)
    .replace(/-+$/g, "");
}

/** 32-bit FNV-1a of a string: the seed's only source of "randomness". */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A UUID (RFC 4122 layout, version 5 bits) derived from a name, so ledger ids are stable across runs. */
export function stableUuid(name: string): string {
  const h = createHash("sha1").update(`nexusbooks:${name}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

export interface SeedVariant {
  sku: string;
  name: string;
  format: "paperback" | "hardcover" | "ebook";
  priceOverride: number | null;
  trackInventory: boolean;
  position: number;
  onHand: number;
}

export interface SeedProduct {
  id: number;
  slug: string;
  name: string;
  subtitle: string | null;
  description: string;
  categorySlug: string;
  genreSlugs: string[];
  gtin: string | null;
  language: string | null;
  publishedYear: number | null;
  images: { url: string; thumbUrl: string; alt: string }[];
  attributes: Record<string, string | number>;
  basePrice: number;
  minPrice: number;
  maxPrice: number;
  formats: string[];
  featured: boolean;
  ratingAvg: number;
  ratingsCount: number;
  popularity: number;
  authors: { slug: string; name: string }[];
  variants: SeedVariant[];
}

const GENERIC = new Set(["fiction", "nonfiction"]);

/** Builds products (sorted by id) from CSV rows; `limit` keeps the first N books by id. */
export function buildProducts(rows: Record<string, string>[], limit?: number): SeedProduct[] {
  const known = new Set(CATEGORY_TREE.map(([slug]) => slug));
  const idOf = (r: Record<string, string>): number => Number(r.book_id);
  const sorted = rows
    .filter((r) => Number.isInteger(idOf(r)) && idOf(r) > 0)
    .sort((a, b) => idOf(a) - idOf(b))
    .slice(0, limit ?? Infinity);
  const usedSlugs = new Set<string>();
  const products: SeedProduct[] = [];
  for (const r of sorted) {
    const id = idOf(r);
    const title = (r.title_base || r.title || "").replace(/\s+/g, " ").trim();
    const authorNames = (r.authors ?? "")
      .split(",")
      .map((a) => a.replace(/\s+/g, " ").trim())
      .filter(Boolean);
    const authors: { slug: string; name: string }[] = [];
    for (const name of authorNames) {
      const slug = slugify(name) || `author-${fnv1a(name)}`;
      if (!authors.some((a) => a.slug === slug)) authors.push({ slug, name });
    }
    let slug = slugify(title) || `book-${id}`;
    if (usedSlugs.has(slug) && authors[0]) slug = `${slug}-${authors[0].slug}`.slice(0, 120);
    if (usedSlugs.has(slug)) slug = `${slug}-${id}`;
    usedSlugs.add(slug);

    const genres = (r.genres ?? "").split("|").filter((g) => known.has(g));
    const primary = genres.find((g) => !GENERIC.has(g)) ?? genres[0] ?? "books";
    const h = fnv1a(`book:${id}`);
    const paperback = 799 + (h % 13) * 100;
    const formats: SeedVariant["format"][] = ["paperback"];
    if (h % 3 !== 0) formats.push("hardcover");
    if ((h >>> 3) % 2 === 0) formats.push("ebook");
    const variants: SeedVariant[] = formats.map((format, position) => {
      const vh = fnv1a(`variant:${id}:${format}`);
      const price =
        format === "paperback" ? paperback : format === "hardcover" ? paperback + 800 + ((h >>> 4) % 5) * 100 : Math.max(299, paperback - 400);
      const tracked = format !== "ebook";
      return {
        sku: `BK${String(id).padStart(5, "0")}-${format === "paperback" ? "PB" : format === "hardcover" ? "HC" : "EB"}`,
        name: format === "paperback" ? "Paperback" : format === "hardcover" ? "Hardcover" : "Ebook",
        format,
        priceOverride: format === "paperback" ? null : price,
        trackInventory: tracked,
        position,
        onHand: tracked ? (vh % 10 === 0 ? 0 : 1 + ((vh >>> 8) % 120)) : 0,
      };
    });
    const prices = variants.map((v) => v.priceOverride ?? paperback);
    const year = r.original_publication_year ? Number(r.original_publication_year) : null;
    const series = r.series?.trim() || null;
    const byline = authorNames.length > 0 ? ` by ${authorNames.join(", ")}` : "";
    const description = [
      `${title}${byline}.`,
      year !== null ? `First published in ${year < 0 ? `${-year} BCE` : year}.` : "",
      series ? `Part of ${series.replace(/,\s*#/, ", book ")}.` : "",
      r.original_title && r.original_title.trim() !== title ? `Original title: ${r.original_title.trim()}.` : "",
    ]
      .filter(Boolean)
      .join(" ");
    const attributes: Record<string, string | number> = {};
    if (series) attributes.series = series;
    if (r.original_title?.trim()) attributes.original_title = r.original_title.trim();
    if (r.isbn10) attributes.isbn10 = r.isbn10;
    if (year !== null) attributes.publication_year = year;
    const ratingsCount = Number(r.ratings_count) || 0;
    products.push({
      id: id,
      slug,
      name: title,
      subtitle: series,
      description,
      categorySlug: primary,
      genreSlugs: genres,
      gtin: r.isbn13 || null,
      language: normaliseLanguage(r.language_code ?? ""),
      publishedYear: year,
      images: r.has_cover === "true" && r.image_url ? [{ url: r.image_url, thumbUrl: r.small_image_url ?? r.image_url, alt: `Cover of ${title}` }] : [],
      attributes,
      basePrice: paperback,
      minPrice: Math.min(...prices),
      maxPrice: Math.max(...prices),
      formats: [...formats].sort(),
      featured: (h >>> 11) % 40 === 0,
      ratingAvg: Math.round((Number(r.average_rating) || 0) * 100) / 100,
      ratingsCount,
      popularity: ratingsCount,
      authors,
      variants,
    });
  }
  return products;
}
