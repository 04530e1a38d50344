/**
 * The search relevance evaluation set (issue 13, "Measure it honestly"): shopper queries generated mechanically from
 * the seed data (dev/seed-data), each with the books that must come back, split once into a tuning half and a test
 * half. Deterministic: every random choice comes from a PRNG seeded by a fixed string and the class, so the same CSVs
 * always give the same cases. Nothing here knows how either engine ranks; the expected books follow from the data.
 *
 * Universes: `full` = every book the full seed loads (buildProducts over books_normalized.csv); `small` = the
 * `--small` seed (the first SMALL_SEED_BOOKS by book id). Product id = goodbooks book_id. Popularity ("most-read") =
 * ratings_count; ties go to the lower book id. Words are compared normalised: NFKD, accents dropped, lower case,
 * apostrophes removed, anything but letters and digits a space.
 *
 * Sampling "across popularity": candidates sorted most-read first; the first third of a class's cases are the most
 * popular candidates that yield a case, the rest one per equal-sized popularity stratum of the remaining candidates
 * (a random member of the stratum; the next one if it yields no case).
 *
 * Classes and their rules:
 * - `title`: a book's title_base as typed (original, lower case, punctuation dropped, or lower case unaccented
 *   without punctuation). Only books that are the most-read of the books sharing their normalised title, and titles
 *   of at most MAX_QUERY_WORDS words (the API reads no more). Expected: that book.
 * - `title_typo`: the normalised title with one edit in one word, or two edits (one in each of two words, or both in
 *   one word of ≥ 8 letters). Edits: substitution by a QWERTY neighbour, deletion, transposition of two neighbouring
 *   letters, insertion of a neighbour of the previous letter (or a doubled letter). Only words of ≥ 5 ASCII letters;
 *   the first letter is never touched; an edited word is never a word of any title, author or series (it would be a
 *   different word, not a typo). Expected: that book.
 * - `author`: authors who are the first author of ≥ 3 books in the universe (first author = the first name in
 *   `authors`, identified by its slug as the seed does; "Anonymous"/"Unknown"/"Various" skipped), most-read = sum of
 *   their books' ratings. Typed as written, lower case, unaccented, initials written differently ("J.K. Rowling" →
 *   "jk rowling", "j. k. rowling", "j k rowling"), or first name + surname when there is a middle initial ("Ursula K.
 *   Le Guin" → "ursula le guin"). Expected: the 3 most-read books whose first author is that author.
 * - `author_typo`: the lower-case name with a typo as in `title_typo`. Expected as `author`.
 * - `author_phrase`: "books by X", "X books", "X novels", "novels by X" ("novels" only when at most one of the
 *   expected books is nonfiction). Expected as `author`.
 * - `series`: series from the `series` column (each ";"-separated part, "Name, #n"), grouped by normalised name
 *   without a leading "the". Main volumes: number a plain integer. Only series with ≥ 3 main volumes in the universe.
 *   Typed as "X", "X series", "X books" (X with or without its leading "The") or "the X series", sometimes lower case;
 *   a name that ends in series, trilogy, saga, cycle, chronicles, … only as "X".
 *   Expected: the 3 most-read main volumes.
 * - `series_typo`: a typo (as in `title_typo`) in a word of ≥ 5 letters of the series name. Expected as `series`.
 * - `subject`: subjects of subjects.csv. A book is a TRUE member of a subject when the subject is among its
 *   TRUE_MEMBER_RANK (10) strongest (by readers' shelvings) with a weight ≥ TRUE_MEMBER_MIN_WEIGHT (50): what
 *   readers say the book is about. The engine ranks a subject's books by the same notion of a main subject (so this
 *   class checks the ranking inside that definition; README gives the figures under other definitions). A subject qualifies when ≥ 15 universe books carry it, ≥ 5 are true members, and it is a
 *   topic: not in NOT_TOPICS (shelves about the reader, the edition or a reading list, abbreviations, misspellings,
 *   other languages); not a person or a series in disguise (≥ 50% of its true members share one first author or one
 *   series: "king", "discworld", "jack reacher"); its name is not the normalised title of a universe book (the bare
 *   query would be a title search); and its expected books differ from those of every bigger qualifying subject
 *   (near-duplicates such as "newbery medal" / "newbery winner" count once). Typed as "X books", "X novels" (when
 *   ≥ 50% of the true members are fiction), "books about X" or "X", with X the display name or one of its aliases
 *   (ASCII, no one-letter words, more than two letters, not the bare key unless it is the name; a plural form
 *   never as a modifier: "vampire books", not "vampires books"). Expected: the 3 most-read true members.
 * - `prefix`: the normalised title cut inside a word, keeping ≥ 60% of its characters and ≥ 6, only when the target
 *   is the most-read universe book whose normalised title starts with that prefix. Expected: that book.
 * - `isbn`: ISBN-13 plain, ISBN-13 hyphenated 978-x-xxx-xxxxx-x, or ISBN-10 (only ISBNs the API's own parser maps to
 *   the book's ISBN-13). Expected: that book.
 *
 * The split: within each class, cases are ordered by a hash of (SPLIT_SEED, the entity they are about: the book,
 * author, series or subject) and the first half (rounded down) is `tune`, the rest `test`. Stratified per class,
 * fixed once; because the order comes from the entity, a book or author tends to fall in the same half in every
 * class (an entity near a class's median hash can land in different halves of two classes).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseCsvObjects } from "../dev/csv";
import { projectRoot } from "../dev/config";
import { buildProducts, fnv1a } from "../dev/seed-catalog";
import { SMALL_SEED_BOOKS } from "../dev/seed";
import { toIsbn13 } from "../workers/platform/isbn";

export const EVAL_CLASSES = ["title", "title_typo", "author", "author_typo", "author_phrase", "series", "series_typo", "subject", "prefix", "isbn"] as const;
export type EvalClass = (typeof EVAL_CLASSES)[number];
export type Universe = "full" | "small";
export type Half = "tune" | "test";

export interface EvalCase {
  /** e.g. "full-title-007": universe, class, index in generation order. */
  id: string;
  class: EvalClass;
  q: string;
  /** Product ids (= book ids), in the expected order. */
  expect: number[];
  half: Half;
  /** How the query was made (form, template, edits), for reading failures. */
  note: string;
}

/** Seeds of the generator and of the split: changing either gives a different evaluation set. */
export const GENERATOR_SEED = "nexusbooks-search-eval-v1";
export const SPLIT_SEED = "nexusbooks-search-eval-split-v1";
/** The API reads the first 10 words of a query (workers/search/schemas.ts MAX_QUERY_WORDS). */
const MAX_QUERY_WORDS = 10;
export const TRUE_MEMBER_MIN_WEIGHT = 50;
export const TRUE_MEMBER_RANK = 10;
/** Cases per class and universe (fewer when a universe has fewer candidates). */
export const CLASS_COUNTS: Record<Universe, Record<EvalClass, number>> = {
  full: { title: 80, title_typo: 80, author: 60, author_typo: 50, author_phrase: 50, series: 60, series_typo: 40, subject: 60, prefix: 60, isbn: 60 },
  small: { title: 50, title_typo: 50, author: 30, author_typo: 24, author_phrase: 24, series: 30, series_typo: 24, subject: 36, prefix: 40, isbn: 36 },
};
/** Book classes draw from the most-read books only (the rest of the catalog is the long tail). */
const POPULAR_POOL: Record<Universe, number> = { full: 2500, small: 600 };

/**
 * Subjects that are not topics a shopper browses: shelves about the reader, the edition or a reading list
 * (reviewed, botm = book of the month, award-winner, translated, female-author, male-pov, sf-masterwork, …),
 * abbreviations (bd, bdb, ka, lds, mc, m-m, na, dc), misspelt shelves (contempor-ary) and shelves in other languages.
 */
export const NOT_TOPICS = new Set([
  "reviewed", "botm", "award-winner", "translated", "translation", "female-author", "women-author", "women-writer", "male-author",
  "male-pov", "female-protagonist", "sf-masterwork", "times-100", "spark", "net-galley", "edelweiss", "humble-bundle", "lendable",
  "listened", "nope", "boring", "coming-soon", "not-yet-released", "not-out-yet", "waiting-for-release", "sale", "need", "obc",
  "bd", "bdb", "ka", "lds", "mc", "m-m", "na", "dc", "hea", "pnr-uf", "ece-3601", "edci-311", "pmba", "mba", "sonlight",
  "contempor-ary", "mistery", "suspence", "romantic-suspence", "distopian", "newberry",
  "fantascienza", "fantasia", "ciencia-ficcion", "literatura", "romanzi", "roman", "krimi", "krim", "deckare", "kinderboeken",
  "terjemahan", "fiksi", "punya", "tenho", "klassiker", "classici", "classique", "clasico", "filosofia", "philosophie", "poesia",
  "teatro", "narrativa", "novela", "fumetti", "avventura", "espanol", "en-espanol", "francais", "italiano", "deutsch", "biblioteca",
  "policier", "racconti", "latinoamericana", "literatura-latinoamericana", "novel-indonesia", "arte",
]);
const NOT_AUTHORS = new Set(["anonymous", "unknown", "various", "various authors", "anonymous unknown"]);

export interface EvalBook {
  id: number;
  slug: string;
  title: string;
  norm: string;
  authors: string[];
  /** The first author's slug (the seed's author identity). */
  authorKey: string;
  ratings: number;
  isbn10: string;
  isbn13: string;
  series: { name: string; key: string; main: boolean }[];
  fiction: boolean;
  nonfiction: boolean;
}

export interface EvalSubject {
  slug: string;
  name: string;
  aliases: string[];
}

export interface EvalData {
  /** Every book of the full seed, by id. */
  books: EvalBook[];
  subjects: EvalSubject[];
  /** book id → subject slug → weight. */
  bookSubjects: Map<number, Map<string, number>>;
}

/** Lower case, unaccented, apostrophes removed, words of letters and digits joined by one space. */
export function normText(s: string): string {
  return s
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/['’]/g, "")
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .join(" ");
}

const collapse = (s: string): string => s.replace(/\s+/g, " ").trim();
const stripThe = (s: string): string => s.replace(/^the\s+/i, "");
const seriesKey = (name: string): string => stripThe(normText(name));

/** "Discworld, #1; Rincewind #1" → two memberships; a volume is main when its number is a plain integer. */
export function parseSeries(raw: string): { name: string; key: string; main: boolean }[] {
  const out: { name: string; key: string; main: boolean }[] = [];
  for (const part of raw.split(";")) {
    const m = /^(.*?)[\s,]*#\s*(.+)$/.exec(part.trim());
    const name = collapse(m ? (m[1] ?? "") : part);
    const key = seriesKey(name);
    if (key !== "") out.push({ name, key, main: m !== null && /^\d+$/.test((m[2] ?? "").trim()) });
  }
  return out;
}

/** Reads the three seed CSVs (the only I/O of the generator). */
export function readEvalData(root: string = projectRoot): EvalData {
  const dir = path.join(root, "dev/seed-data");
  const rows = parseCsvObjects(readFileSync(path.join(dir, "books_normalized.csv"), "utf8"));
  const byId = new Map(rows.map((r) => [Number(r.book_id), r]));
  // The seed's own rules decide which books exist and their slugs.
  const books = buildProducts(rows).map((p): EvalBook => {
    const r = byId.get(p.id) ?? {};
    const genres = new Set((r.genres ?? "").split("|"));
    const first = p.authors[0];
    return {
      id: p.id,
      slug: p.slug,
      title: p.name,
      norm: normText(p.name),
      authors: p.authors.map((a) => a.name),
      authorKey: first ? first.slug : "",
      ratings: p.ratingsCount,
      isbn10: (r.isbn10 ?? "").trim(),
      isbn13: (r.isbn13 ?? "").trim(),
      series: parseSeries(r.series ?? ""),
      fiction: genres.has("fiction"),
      nonfiction: genres.has("nonfiction"),
    };
  });
  const subjects = parseCsvObjects(readFileSync(path.join(dir, "subjects.csv"), "utf8")).map((s) => ({
    slug: s.subject ?? "",
    name: s.name ?? "",
    aliases: (s.aliases ?? "").split("|").filter(Boolean),
  }));
  const bookSubjects = new Map<number, Map<string, number>>();
  for (const r of parseCsvObjects(readFileSync(path.join(dir, "book_subjects.csv"), "utf8"))) {
    const id = Number(r.book_id);
    const m = bookSubjects.get(id) ?? new Map<string, number>();
    m.set(r.subject ?? "", Number(r.weight));
    bookSubjects.set(id, m);
  }
  return { books, subjects, bookSubjects };
}

/** The books a universe loads. */
export function universeBooks(data: EvalData, universe: Universe): EvalBook[] {
  return universe === "full" ? data.books : data.books.filter((b) => b.id <= SMALL_SEED_BOOKS);
}

// ---------------------------------------------------------------------------------------------------------------
// Randomness

/** mulberry32: a small, fast PRNG; the same seed gives the same sequence on every platform. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A well-mixed 32-bit hash of a string (FNV-1a, then murmur3's finaliser): FNV-1a alone orders "book:11" … "book:27"
 * nearly by their last characters, which would put neighbouring ids in the same half.
 */
export function mixedHash(s: string): number {
  let h = fnv1a(s);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

type Rng = () => number;
const rngFor = (label: string): Rng => mulberry32(mixedHash(`${GENERATOR_SEED}:${label}`));
const pickOne = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

/** Most-read first, ties by lower id. */
const byPopularity = (a: EvalBook, b: EvalBook): number => b.ratings - a.ratings || a.id - b.id;
const top3 = (books: EvalBook[]): number[] => [...books].sort(byPopularity).slice(0, 3).map((b) => b.id);

interface Draft {
  q: string;
  expect: number[];
  entity: string;
  note: string;
}

/**
 * Up to `n` drafts from candidates sorted most popular first: the first third from the top, the rest one per
 * popularity stratum of the remaining candidates. `make` returns null for a candidate that yields no case; a query
 * already used in the class is skipped too.
 */
function sampleAcrossPopularity<T>(sorted: T[], n: number, rng: Rng, make: (item: T) => Draft | null): Draft[] {
  const out: Draft[] = [];
  const used = new Set<string>();
  const take = (item: T): boolean => {
    const d = make(item);
    if (d === null || used.has(d.q.toLowerCase())) return false;
    used.add(d.q.toLowerCase());
    out.push(d);
    return true;
  };
  const head = Math.ceil(n / 3);
  let i = 0;
  while (out.length < head && i < sorted.length) take(sorted[i++] as T);
  const rest = sorted.slice(i);
  const strata = n - out.length;
  for (let k = 0; k < strata; k++) {
    const stratum = rest.slice(Math.floor((k * rest.length) / strata), Math.floor(((k + 1) * rest.length) / strata));
    for (const item of shuffled(rng, stratum)) if (take(item)) break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Typos

const KEYBOARD_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];

/** QWERTY neighbours: left and right in the row, and the keys above and below that touch (staggered rows). */
const NEIGHBOURS: Record<string, string> = (() => {
  const pos = new Map<string, [number, number]>();
  KEYBOARD_ROWS.forEach((row, r) => [...row].forEach((ch, c) => pos.set(ch, [r, c])));
  const out: Record<string, string> = {};
  for (const [ch, [r, c]] of pos) {
    const near: string[] = [];
    for (const [other, [r2, c2]] of pos) {
      if (other === ch) continue;
      // Each row sits about half a key right of the one above: the row above touches c and c+1, below c-1 and c.
      if ((r2 === r && Math.abs(c2 - c) === 1) || (r2 === r - 1 && (c2 === c || c2 === c + 1)) || (r2 === r + 1 && (c2 === c || c2 === c - 1))) near.push(other);
    }
    out[ch] = near.join("");
  }
  return out;
})();

type EditOp = "substitution" | "deletion" | "transposition" | "insertion";
const EDIT_OPS: EditOp[] = ["substitution", "deletion", "transposition", "insertion"];

/** One edit of `w` (never its first letter); null when the operation does not apply. */
function editWord(w: string, op: EditOp, rng: Rng): string | null {
  const n = w.length;
  if (n < 2) return null;
  switch (op) {
    case "substitution": {
      const i = 1 + Math.floor(rng() * (n - 1));
      const near = NEIGHBOURS[w[i] ?? ""] ?? "";
      if (near === "") return null;
      return w.slice(0, i) + pickOne(rng, [...near]) + w.slice(i + 1);
    }
    case "deletion": {
      const i = 1 + Math.floor(rng() * (n - 1));
      return w.slice(0, i) + w.slice(i + 1);
    }
    case "transposition": {
      const i = 1 + Math.floor(rng() * (n - 2));
      if (n < 3 || w[i] === w[i + 1]) return null;
      return w.slice(0, i) + (w[i + 1] ?? "") + (w[i] ?? "") + w.slice(i + 2);
    }
    case "insertion": {
      const i = 1 + Math.floor(rng() * n);
      const prev = w[i - 1] ?? "";
      const c = pickOne(rng, [...(NEIGHBOURS[prev] ?? ""), prev]);
      return w.slice(0, i) + c + w.slice(i);
    }
  }
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function osaDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** `edits` edits of `w` at distance exactly `edits`, not a known word; null after a few tries. */
function typoWord(w: string, edits: 1 | 2, rng: Rng, vocabulary: Set<string>): { word: string; ops: EditOp[] } | null {
  for (let attempt = 0; attempt < 30; attempt++) {
    let cur: string | null = w;
    const ops: EditOp[] = [];
    for (let e = 0; e < edits && cur !== null; e++) {
      const op = pickOne(rng, EDIT_OPS);
      ops.push(op);
      cur = editWord(cur, op, rng);
    }
    if (cur !== null && osaDistance(w, cur) === edits && !vocabulary.has(cur)) return { word: cur, ops };
  }
  return null;
}

/**
 * A one- or two-edit typo of a phrase of lower-case words: two edits go one in each of two words of ≥ 5 letters, or
 * both in one word of ≥ 8 letters; one edit in one word of ≥ 5 letters. Null when the phrase has no such word.
 */
export function typoPhrase(phrase: string, rng: Rng, vocabulary: Set<string>): { q: string; note: string } | null {
  const words = phrase.split(" ");
  const eligible = words.map((w, i) => (/^[a-z]{5,}$/.test(w) ? i : -1)).filter((i) => i >= 0);
  if (eligible.length === 0) return null;
  const long = eligible.filter((i) => (words[i] ?? "").length >= 8);
  const two = rng() < 0.5;
  let plan: { index: number; edits: 1 | 2 }[];
  if (two && eligible.length >= 2 && (long.length === 0 || rng() < 0.5)) {
    const [a, b] = shuffled(rng, eligible);
    plan = [{ index: a as number, edits: 1 }, { index: b as number, edits: 1 }];
  } else if (two && long.length > 0) {
    plan = [{ index: pickOne(rng, long), edits: 2 }];
  } else {
    plan = [{ index: pickOne(rng, eligible), edits: 1 }];
  }
  const out = [...words];
  const notes: string[] = [];
  for (const p of plan) {
    const original = words[p.index] as string;
    const t = typoWord(original, p.edits, rng, vocabulary);
    if (t === null) return null;
    out[p.index] = t.word;
    notes.push(`${t.ops.join("+")} ${original}→${t.word}`);
  }
  const total = plan.reduce((s, p) => s + p.edits, 0);
  return { q: out.join(" "), note: `${total} edit${total > 1 ? "s" : ""}: ${notes.join(", ")}` };
}

// ---------------------------------------------------------------------------------------------------------------
// Query forms

/** Punctuation dropped as a shopper would: apostrophes vanish, other marks become spaces; case and accents kept. */
const dropPunctuation = (s: string): string => collapse(s.replace(/['’]/g, "").replace(/[^\p{L}\p{N}\s]+/gu, " "));
const unaccent = (s: string): string => s.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").normalize("NFC");
const wordCount = (q: string): number => collapse(q).split(" ").length;

function titleForm(title: string, rng: Rng): { q: string; form: string } {
  const forms: [string, () => string][] = [
    ["original", () => title],
    ["lower case", () => title.toLowerCase()],
    ["punctuation dropped", () => dropPunctuation(title)],
    ["normalised", () => normText(title)],
  ];
  const [form, make] = pickOne(rng, forms);
  return { q: collapse(make()), form };
}

const INITIALS = /^(\p{Lu}\.?)+$/u;

/** The ways a shopper writes an author's name; the special forms only when the name has initials or accents. */
export function authorForms(name: string): { q: string; form: string }[] {
  const words = name.split(" ");
  const forms: { q: string; form: string }[] = [
    { q: name, form: "as written" },
    { q: name.toLowerCase(), form: "lower case" },
  ];
  if (unaccent(name) !== name) forms.push({ q: unaccent(name).toLowerCase(), form: "unaccented" });
  const initialIdx = words.map((w, i) => (INITIALS.test(w) && /\p{Lu}/u.test(w) && (w.includes(".") || w.length === 1) ? i : -1)).filter((i) => i >= 0);
  if (initialIdx.length > 0) {
    const letters = (w: string): string[] => [...w.replace(/\./g, "")];
    const rewrite = (f: (ls: string[]) => string): string =>
      collapse(words.map((w, i) => (initialIdx.includes(i) ? f(letters(w)) : w)).join(" "));
    // "J.K. Rowling" and "J. K. Rowling" are both initials: adjacent initial words are one group.
    const grouped = (f: (ls: string[]) => string): string => {
      const out: string[] = [];
      let group: string[] = [];
      words.forEach((w, i) => {
        if (initialIdx.includes(i)) group.push(...letters(w));
        else {
          if (group.length > 0) out.push(f(group));
          group = [];
          out.push(w);
        }
      });
      if (group.length > 0) out.push(f(group));
      return collapse(out.join(" "));
    };
    forms.push({ q: grouped((ls) => ls.join("")).toLowerCase(), form: "initials run together" });
    forms.push({ q: grouped((ls) => ls.map((l) => `${l}.`).join(" ")).toLowerCase(), form: "initials spaced" });
    forms.push({ q: grouped((ls) => ls.join(" ")).toLowerCase(), form: "initials without dots" });
    forms.push({ q: rewrite((ls) => ls.map((l) => `${l}.`).join("")), form: "initials dotted" });
    const middle = initialIdx.filter((i) => i > 0 && i < words.length - 1);
    if (middle.length > 0 && !initialIdx.includes(0)) {
      forms.push({ q: words.filter((_, i) => !middle.includes(i)).join(" ").toLowerCase(), form: "middle initial dropped" });
    }
  }
  const seen = new Set<string>();
  return forms.filter((f) => (seen.has(f.q) ? false : (seen.add(f.q), true)));
}

// ---------------------------------------------------------------------------------------------------------------
// Entities of a universe

interface Author {
  key: string;
  name: string;
  books: EvalBook[];
  popularity: number;
}

interface Series {
  key: string;
  name: string;
  main: EvalBook[];
  popularity: number;
}

function authorsOf(books: EvalBook[]): Author[] {
  const groups = new Map<string, EvalBook[]>();
  for (const b of books) if (b.authorKey !== "") groups.set(b.authorKey, [...(groups.get(b.authorKey) ?? []), b]);
  const out: Author[] = [];
  for (const [key, list] of groups) {
    const sorted = [...list].sort(byPopularity);
    const name = sorted[0]?.authors[0] ?? "";
    if (sorted.length < 3 || NOT_AUTHORS.has(normText(name))) continue;
    out.push({ key, name, books: sorted, popularity: sorted.reduce((s, b) => s + b.ratings, 0) });
  }
  return out.sort((a, b) => b.popularity - a.popularity || a.key.localeCompare(b.key));
}

function seriesOf(books: EvalBook[]): Series[] {
  const groups = new Map<string, { names: Map<string, number>; main: Map<number, EvalBook> }>();
  for (const b of books) {
    for (const s of b.series) {
      const g = groups.get(s.key) ?? { names: new Map<string, number>(), main: new Map<number, EvalBook>() };
      g.names.set(s.name, (g.names.get(s.name) ?? 0) + 1);
      if (s.main) g.main.set(b.id, b);
      groups.set(s.key, g);
    }
  }
  const out: Series[] = [];
  for (const [key, g] of groups) {
    if (g.main.size < 3) continue;
    // The spelling most volumes use (the first seen on a tie).
    const name = [...g.names].sort((a, b) => b[1] - a[1])[0]?.[0] ?? key;
    const main = [...g.main.values()].sort(byPopularity);
    out.push({ key, name, main, popularity: main.reduce((s, b) => s + b.ratings, 0) });
  }
  return out.sort((a, b) => b.popularity - a.popularity || a.key.localeCompare(b.key));
}

interface QualifiedSubject {
  subject: EvalSubject;
  carried: number;
  members: EvalBook[];
  fictionShare: number;
}

/**
 * What makes a book a true member of a subject. `main` (the default and the reported figure): the subject is among
 * its TRUE_MEMBER_RANK strongest with a weight ≥ TRUE_MEMBER_MIN_WEIGHT. The others exist to show how the ranking
 * fares under definitions it was not built for: `share` (weight ≥ 10% of the book's strongest subject and ≥ 50,
 * the rule of the dataset's own genre column) and `count` (≥ 100 readers shelved it so).
 */
export const SUBJECT_TRUTHS = ["main", "share", "count"] as const;
export type SubjectTruth = (typeof SUBJECT_TRUTHS)[number];

/** True members of every subject under a truth rule. */
export function trueMembers(data: EvalData, books: EvalBook[], truth: SubjectTruth = "main"): Map<string, { carried: number; members: EvalBook[] }> {
  const out = new Map<string, { carried: number; members: EvalBook[] }>();
  for (const b of books) {
    const weights = data.bookSubjects.get(b.id);
    if (!weights) continue;
    const ranked = [...weights].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]));
    const strongest = ranked[0]?.[1] ?? 0;
    ranked.forEach(([slug, w], i) => {
      const entry = out.get(slug) ?? { carried: 0, members: [] };
      entry.carried++;
      const member =
        truth === "main" ? w >= TRUE_MEMBER_MIN_WEIGHT && i < TRUE_MEMBER_RANK
        : truth === "share" ? w >= TRUE_MEMBER_MIN_WEIGHT && w >= 0.1 * strongest
        : w >= 100;
      if (member) entry.members.push(b);
      out.set(slug, entry);
    });
  }
  return out;
}

/** The subjects that qualify as topics in a universe (rules in the file header), biggest first. */
export function qualifiedSubjects(data: EvalData, books: EvalBook[], truth: SubjectTruth = "main"): QualifiedSubject[] {
  const membership = trueMembers(data, books, truth);
  const titles = new Set(books.map((b) => b.norm));
  const candidates: QualifiedSubject[] = [];
  for (const subject of data.subjects) {
    const m = membership.get(subject.slug);
    if (!m || m.carried < 15 || m.members.length < 5 || NOT_TOPICS.has(subject.slug)) continue;
    const share = (keyOf: (b: EvalBook) => string[]): number => {
      const counts = new Map<string, number>();
      for (const b of m.members) for (const k of new Set(keyOf(b))) counts.set(k, (counts.get(k) ?? 0) + 1);
      return Math.max(0, ...counts.values()) / m.members.length;
    };
    if (share((b) => (b.authorKey ? [b.authorKey] : [])) >= 0.5 || share((b) => b.series.map((s) => s.key)) >= 0.5) continue;
    if (titles.has(normText(subject.name)) || titles.has(normText(subject.slug.replace(/-/g, " ")))) continue;
    candidates.push({ subject, carried: m.carried, members: [...m.members].sort(byPopularity), fictionShare: m.members.filter((b) => b.fiction && !b.nonfiction).length / m.members.length });
  }
  candidates.sort((a, b) => b.carried - a.carried || a.subject.slug.localeCompare(b.subject.slug));
  const seen = new Set<string>();
  return candidates.filter((c) => {
    const key = [...top3(c.members)].sort((a, b) => a - b).join(",");
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Every word of every title, author and series name: a typo must not be one of them. */
function vocabularyOf(data: EvalData): Set<string> {
  const v = new Set<string>();
  for (const b of data.books) {
    for (const w of b.norm.split(" ")) v.add(w);
    for (const a of b.authors) for (const w of normText(a).split(" ")) v.add(w);
    for (const s of b.series) for (const w of s.key.split(" ")) v.add(w);
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------------------
// The generator

/** Books that are the most-read of those sharing their normalised title (the only ones a title can name). */
function titleOwners(books: EvalBook[]): Set<number> {
  const best = new Map<string, EvalBook>();
  for (const b of books) {
    const cur = best.get(b.norm);
    if (!cur || byPopularity(b, cur) < 0) best.set(b.norm, b);
  }
  return new Set([...best.values()].map((b) => b.id));
}

function hyphenatedIsbn13(s: string): string {
  return `${s.slice(0, 3)}-${s.slice(3, 4)}-${s.slice(4, 7)}-${s.slice(7, 12)}-${s.slice(12)}`;
}

/** Generates the evaluation set of a universe, split into halves; deterministic. */
export function buildEvalSet(data: EvalData, universe: Universe, truth: SubjectTruth = "main"): EvalCase[] {
  const books = universeBooks(data, universe);
  const counts = CLASS_COUNTS[universe];
  const popular = [...books].sort(byPopularity).slice(0, POPULAR_POOL[universe]);
  const owners = titleOwners(books);
  const vocabulary = vocabularyOf(data);
  const authors = authorsOf(books);
  const series = seriesOf(books);
  const drafts = new Map<EvalClass, Draft[]>();
  const rng = (c: EvalClass): Rng => rngFor(`${universe}:${c}`);
  const namedBy = (b: EvalBook): boolean => owners.has(b.id) && wordCount(b.title) <= MAX_QUERY_WORDS;

  {
    const r = rng("title");
    drafts.set(
      "title",
      sampleAcrossPopularity(popular, counts.title, r, (b) => {
        if (!namedBy(b)) return null;
        const { q, form } = titleForm(b.title, r);
        return q === "" ? null : { q, expect: [b.id], entity: `book:${b.id}`, note: form };
      }),
    );
  }
  {
    const r = rng("title_typo");
    drafts.set(
      "title_typo",
      sampleAcrossPopularity(popular, counts.title_typo, r, (b) => {
        if (!namedBy(b)) return null;
        const t = typoPhrase(b.norm, r, vocabulary);
        return t && { q: t.q, expect: [b.id], entity: `book:${b.id}`, note: t.note };
      }),
    );
  }
  {
    const r = rng("author");
    drafts.set(
      "author",
      sampleAcrossPopularity(authors, counts.author, r, (a) => {
        const forms = authorForms(a.name);
        // The special forms (initials, accents, middle initial) are what this class is for: preferred when present.
        const special = forms.slice(2);
        const f = special.length > 0 && r() < 0.7 ? pickOne(r, special) : pickOne(r, forms.slice(0, 2));
        return { q: f.q, expect: top3(a.books), entity: `author:${a.key}`, note: f.form };
      }),
    );
  }
  {
    const r = rng("author_typo");
    drafts.set(
      "author_typo",
      sampleAcrossPopularity(authors, counts.author_typo, r, (a) => {
        const t = typoPhrase(collapse(a.name.toLowerCase()), r, vocabulary);
        return t && { q: t.q, expect: top3(a.books), entity: `author:${a.key}`, note: t.note };
      }),
    );
  }
  {
    const r = rng("author_phrase");
    drafts.set(
      "author_phrase",
      sampleAcrossPopularity(authors, counts.author_phrase, r, (a) => {
        const expect = top3(a.books);
        const nonfiction = a.books.slice(0, 3).filter((b) => b.nonfiction).length;
        const templates = nonfiction >= 2 ? ["books by X", "X books"] : ["books by X", "X books", "X novels", "novels by X"];
        const template = pickOne(r, templates);
        const name = r() < 0.5 ? a.name : a.name.toLowerCase();
        return { q: template.replace("X", () => name), expect, entity: `author:${a.key}`, note: template };
      }),
    );
  }
  const seriesQuery = (name: string, r: Rng): { q: string; note: string } => {
    const bare = stripThe(name);
    // "The Saxon Stories series", "All Souls Trilogy books": a name that already says what it is is typed as it is.
    const selfNamed = /\b(series|trilogy|saga|cycle|chronicles?|quartet|quintet|sequence|books|novels|stories|universe)$/i.test(bare);
    const template = pickOne(r, selfNamed ? ["X"] : ["X", "the B series", "X series", "X books"]);
    const x = r() < 0.5 ? name : bare;
    // One pass over the placeholders: a name can itself contain "X" or "B".
    const q = template.replace(/X|B/g, (m) => (m === "X" ? x : bare));
    return r() < 0.5 ? { q: q.toLowerCase(), note: `${template} (lower case)` } : { q, note: template };
  };
  {
    const r = rng("series");
    drafts.set(
      "series",
      sampleAcrossPopularity(series, counts.series, r, (s) => {
        const { q, note } = seriesQuery(s.name, r);
        return { q, expect: s.main.slice(0, 3).map((b) => b.id), entity: `series:${s.key}`, note };
      }),
    );
  }
  {
    const r = rng("series_typo");
    drafts.set(
      "series_typo",
      sampleAcrossPopularity(series, counts.series_typo, r, (s) => {
        const t = typoPhrase(normText(stripThe(s.name)), r, vocabulary);
        if (t === null) return null;
        const { q, note } = seriesQuery(t.q, r);
        return { q: q.toLowerCase(), expect: s.main.slice(0, 3).map((b) => b.id), entity: `series:${s.key}`, note: `${note}; ${t.note}` };
      }),
    );
  }
  {
    const r = rng("subject");
    drafts.set(
      "subject",
      sampleAcrossPopularity(qualifiedSubjects(data, books, truth), counts.subject, r, (s) => {
        const names = [s.subject.name, ...s.subject.aliases.filter((a, i) => i > 0 || a === s.subject.name)];
        // Abbreviations of one or two letters ("nf", "uf", "y a") are too ambiguous to be a fair query.
        const usable = [...new Set(names.map(collapse))].filter((n) => /^[a-z0-9 ]+$/i.test(n) && !n.split(" ").some((w) => w.length < 2) && n.replace(/ /g, "").length > 2);
        if (usable.length === 0) return null;
        const forms = new Set([s.subject.slug.replace(/-/g, " "), ...usable].map((n) => n.toLowerCase()));
        // "families books" is not how anyone writes: a plural form (another form + s/es, or y → ies) is not a modifier.
        const plural = (n: string): boolean => {
          const l = n.toLowerCase();
          return forms.has(l.replace(/s$/, "")) || forms.has(l.replace(/es$/, "")) || (l.endsWith("ies") && forms.has(l.replace(/ies$/, "y")));
        };
        const modifierForms = usable.filter((n) => !plural(n) && !/\b(books?|novels?)$/i.test(n));
        const anyForms = usable.filter((n) => !/\b(books?|novels?)$/i.test(n));
        const modifiers = modifierForms.length === 0 ? [] : s.fictionShare >= 0.5 ? ["X books", "X novels"] : ["X books"];
        const template = pickOne(r, [...modifiers, ...(anyForms.length > 0 ? ["books about X"] : []), "X"]);
        const x = pickOne(r, template === "X" ? usable : template === "books about X" ? anyForms : modifierForms);
        return { q: template.replace("X", () => x), expect: top3(s.members), entity: `subject:${s.subject.slug}`, note: `${template}; subject ${s.subject.slug}, ${s.members.length} true members` };
      }),
    );
  }
  {
    const r = rng("prefix");
    drafts.set(
      "prefix",
      sampleAcrossPopularity(popular, counts.prefix, r, (b) => {
        if (!namedBy(b)) return null;
        const t = b.norm;
        const from = Math.max(6, Math.ceil(0.6 * t.length));
        const cuts: number[] = [];
        for (let p = from; p < t.length; p++) if (t[p - 1] !== " " && t[p] !== " ") cuts.push(p);
        for (const p of shuffled(r, cuts)) {
          const prefix = t.slice(0, p);
          const first = books.filter((x) => x.norm.startsWith(prefix)).sort(byPopularity)[0];
          if (first?.id === b.id) return { q: prefix, expect: [b.id], entity: `book:${b.id}`, note: `${p}/${t.length} characters of "${t}"` };
        }
        return null;
      }),
    );
  }
  {
    const r = rng("isbn");
    drafts.set(
      "isbn",
      sampleAcrossPopularity(popular, counts.isbn, r, (b) => {
        const forms: [string, string][] = [];
        if (toIsbn13(b.isbn13) === b.isbn13) forms.push(["isbn-13", b.isbn13], ["isbn-13 hyphenated", hyphenatedIsbn13(b.isbn13)]);
        if (b.isbn10 !== "" && toIsbn13(b.isbn10) === b.isbn13 && b.isbn13 !== "") forms.push(["isbn-10", b.isbn10]);
        if (forms.length === 0) return null;
        const [note, q] = pickOne(r, forms);
        return { q, expect: [b.id], entity: `book:${b.id}`, note };
      }),
    );
  }

  const cases: EvalCase[] = [];
  for (const c of EVAL_CLASSES) {
    const list = (drafts.get(c) ?? []).map((d, i) => ({ d, i }));
    const order = [...list].sort((a, b) => mixedHash(`${SPLIT_SEED}:${a.d.entity}`) - mixedHash(`${SPLIT_SEED}:${b.d.entity}`) || a.d.q.localeCompare(b.d.q));
    const tune = new Set(order.slice(0, Math.floor(order.length / 2)).map((x) => x.i));
    for (const { d, i } of list) {
      cases.push({ id: `${universe}-${c}-${String(i + 1).padStart(3, "0")}`, class: c, q: d.q, expect: d.expect, half: tune.has(i) ? "tune" : "test", note: d.note });
    }
  }
  return cases;
}

/** A deterministic stratified sample: up to `perClass` cases of each class (ordered by a hash of the case id). */
export function stratifiedSample(cases: EvalCase[], perClass: number): EvalCase[] {
  return EVAL_CLASSES.flatMap((c) =>
    cases
      .filter((x) => x.class === c)
      .sort((a, b) => mixedHash(`sample:${a.id}`) - mixedHash(`sample:${b.id}`) || a.id.localeCompare(b.id))
      .slice(0, perClass),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Metrics

export interface CaseScore {
  /** Every expected book is in the top 5. */
  all5: boolean;
  recall5: number;
  ndcg10: number;
}

/** Scores one result list (product ids, best first): binary gains, the ideal has every expected book on top. */
export function scoreCase(expect: number[], got: number[]): CaseScore {
  const top5 = new Set(got.slice(0, 5));
  const found5 = expect.filter((id) => top5.has(id)).length;
  const wanted = new Set(expect);
  let dcg = 0;
  got.slice(0, 10).forEach((id, i) => {
    if (wanted.has(id)) dcg += 1 / Math.log2(i + 2);
  });
  let ideal = 0;
  for (let i = 0; i < Math.min(expect.length, 10); i++) ideal += 1 / Math.log2(i + 2);
  return { all5: found5 === expect.length, recall5: expect.length === 0 ? 1 : found5 / expect.length, ndcg10: ideal === 0 ? 1 : dcg / ideal };
}

export interface ClassSummary {
  class: EvalClass | "overall";
  queries: number;
  all5: number;
  recall5: number;
  ndcg10: number;
}

/** Means per class (in EVAL_CLASSES order, classes without cases left out) and overall. */
export function summarise(scored: { class: EvalClass; score: CaseScore }[]): ClassSummary[] {
  const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
  const row = (name: ClassSummary["class"], xs: { score: CaseScore }[]): ClassSummary => ({
    class: name,
    queries: xs.length,
    all5: mean(xs.map((x) => (x.score.all5 ? 1 : 0))),
    recall5: mean(xs.map((x) => x.score.recall5)),
    ndcg10: mean(xs.map((x) => x.score.ndcg10)),
  });
  const rows = EVAL_CLASSES.map((c) => row(c, scored.filter((x) => x.class === c))).filter((r) => r.queries > 0);
  return [...rows, row("overall", scored)];
}

/** The targets: all@5 ≥ 95% overall and no class below 90%. */
export const TARGET_OVERALL = 0.95;
export const TARGET_CLASS = 0.9;

/** A markdown table of summaries. */
export function markdownTable(rows: ClassSummary[]): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const lines = ["| class | queries | all@5 | recall@5 | NDCG@10 |", "| --- | ---: | ---: | ---: | ---: |"];
  for (const r of rows) {
    const name = r.class === "overall" ? "**overall**" : r.class;
    const miss = r.class === "overall" ? r.all5 < TARGET_OVERALL : r.all5 < TARGET_CLASS;
    lines.push(`| ${name} | ${r.queries} | ${pct(r.all5)}${miss ? " ✗" : ""} | ${pct(r.recall5)} | ${r.ndcg10.toFixed(3)} |`);
  }
  return lines.join("\n");
}
