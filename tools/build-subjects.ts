/**
 * Builds the subject vocabulary and the per-book subject weights from the goodbooks-10k shelf tags
 * (`../shared/data/books/tags.csv`, `book_tags.csv`: how many readers put a book on each shelf) into
 * `dev/seed-data/subjects.csv` and `dev/seed-data/book_subjects.csv`, which the seed loads. Run once by a developer
 * when the rules below change (`npm run subjects:build`); nothing reads `../shared` at run time.
 *
 * Rules, in order:
 * 1. A shelf is a candidate when at least 10 books carry it with 200 shelvings in all; shelves that describe the
 *    reader rather than the book (to-read, owned, kindle, read-in-2015, favourites, …) and shelves named after an
 *    author (stephen-king, tolkien) are dropped: authors are entities of their own.
 * 2. Shelf names become subject keys: hyphens to spaces, synonyms folded (sci-fi / scifi / sf → science fiction,
 *    ya → young adult, ww2 / wwii → world war ii, …), the last word singular (zombies → zombie).
 * 3. A book's weight for a subject is its largest shelf count among the subject's shelves. A book keeps a subject
 *    when that weight is at least 5 and either at least 2% of its strongest subject or among its ten strongest (the
 *    top 30 per book). Search treats a book's ten strongest subjects with 50 shelvings or more as what it is about.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseCsvObjects } from "../dev/csv";
import { projectRoot } from "../dev/config";
import { editDistance, normPhrase, singularKey, subjectKeyOfTag } from "../workers/search/subject-words";

const shared = path.join(projectRoot, "../shared/data/books");
const MIN_BOOKS = 10;
const MIN_TOTAL = 200;
const MIN_WEIGHT = 5;
const MIN_SHARE = 0.02;
const PER_BOOK = 30;
const MAIN_SUBJECTS = 10;

async function main(): Promise<void> {
  const books = parseCsvObjects(await readFile(path.join(shared, "books_normalized.csv"), "utf8"));
  const tagNames = new Map(parseCsvObjects(await readFile(path.join(shared, "tags.csv"), "utf8")).map((r) => [r.tag_id ?? "", r.tag_name ?? ""]));
  const bookOfGoodreads = new Map(books.map((b) => [b.goodreads_book_id ?? "", Number(b.book_id)]));
  // Shelves named after an author ("stephen-king", "tolkien", even misspelt "stephanie-meyer") are that author,
  // whom query understanding already knows. Shelves named after a series stay: readers put a series' books there
  // when the catalog does not say so ("sherlock-holmes" holds A Study in Scarlet, which has no series number).
  const entityKeys = new Set<string>();
  const fuzzyNames: string[] = [];
  for (const b of books) {
    for (const name of (b.authors ?? "").split(",")) {
      const words = normPhrase(name).split(" ").filter(Boolean);
      if (words.length === 0) continue;
      entityKeys.add(words.join(" "));
      entityKeys.add(words.join(""));
      entityKeys.add([...words.slice(-1), ...words.slice(0, -1)].join(" "));
      entityKeys.add(words.filter((w) => w.length > 1).join(" "));
      const surname = words[words.length - 1] ?? "";
      if (surname.length >= 5) entityKeys.add(surname);
      if (words.join(" ").length >= 8) fuzzyNames.push(words.join(" "));
    }
  }
  const isEntity = (key: string, raw: string): boolean =>
    [key, raw, raw.replace(/ /g, ""), raw.replace(/^(the|a|an) /, "")].some((k) => entityKeys.has(k)) ||
    (raw.length >= 8 && raw.includes(" ") && fuzzyNames.some((n) => Math.abs(n.length - raw.length) <= 2 && editDistance(n, raw, 2) <= 2));

  const rows = parseCsvObjects(await readFile(path.join(shared, "book_tags.csv"), "utf8"));
  const tagBooks = new Map<string, number>();
  const tagTotal = new Map<string, number>();
  for (const r of rows) {
    const count = Number(r.count);
    if (!(count > 0)) continue;
    const tag = r.tag_id ?? "";
    tagBooks.set(tag, (tagBooks.get(tag) ?? 0) + 1);
    tagTotal.set(tag, (tagTotal.get(tag) ?? 0) + count);
  }

  // tag id → subject key; subject key → shelf names with their total shelvings (the most used names the subject).
  const subjectOfTag = new Map<string, string>();
  const forms = new Map<string, Map<string, number>>();
  for (const [tag, n] of tagBooks) {
    if (n < MIN_BOOKS || (tagTotal.get(tag) ?? 0) < MIN_TOTAL) continue;
    const name = tagNames.get(tag) ?? "";
    const key = subjectKeyOfTag(name);
    if (key === null || isEntity(key, normPhrase(name.replace(/[-_]+/g, " ")))) continue;
    subjectOfTag.set(tag, key);
    const f = forms.get(key) ?? new Map<string, number>();
    const form = name.toLowerCase().replace(/[-_]+/g, " ").trim();
    f.set(form, (f.get(form) ?? 0) + (tagTotal.get(tag) ?? 0));
    forms.set(key, f);
  }

  const weights = new Map<number, Map<string, number>>();
  for (const r of rows) {
    const count = Number(r.count);
    const key = subjectOfTag.get(r.tag_id ?? "");
    const book = bookOfGoodreads.get(r.goodreads_book_id ?? "");
    if (!(count > 0) || key === undefined || book === undefined) continue;
    const w = weights.get(book) ?? new Map<string, number>();
    w.set(key, Math.max(w.get(key) ?? 0, count));
    weights.set(book, w);
  }

  const out: string[] = ["book_id,subject,weight"];
  const used = new Map<string, number>();
  for (const book of [...weights.keys()].sort((a, b) => a - b)) {
    const w = [...(weights.get(book) ?? new Map<string, number>())].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const top = w[0]?.[1] ?? 0;
    // A book's ten strongest subjects are kept whatever their share: they are what it is about (MAIN_SUBJECTS).
    for (const [key, weight] of w.filter(([, x], i) => x >= MIN_WEIGHT && (x >= top * MIN_SHARE || i < MAIN_SUBJECTS)).slice(0, PER_BOOK)) {
      out.push(`${book},${slug(key)},${weight}`);
      used.set(key, (used.get(key) ?? 0) + 1);
    }
  }

  const vocab: string[] = ["subject,name,aliases,books"];
  for (const key of [...used.keys()].sort()) {
    const f = [...(forms.get(key) ?? new Map<string, number>())].sort((a, b) => b[1] - a[1]);
    const name = f[0]?.[0] ?? key;
    const aliases = [...new Set([key, ...f.map(([form]) => form), ...f.map(([form]) => singularKey(form))])].filter((a) => /^[\p{L}\p{N} ]+$/u.test(a));
    vocab.push(`${slug(key)},${csvField(name)},${csvField(aliases.join("|"))},${used.get(key) ?? 0}`);
  }
  await writeFile(path.join(projectRoot, "dev/seed-data/subjects.csv"), `${vocab.join("\n")}\n`);
  await writeFile(path.join(projectRoot, "dev/seed-data/book_subjects.csv"), `${out.join("\n")}\n`);
  console.log(`subjects: ${used.size} subjects, ${out.length - 1} book-subject pairs over ${weights.size} books`);
}


const slug = (key: string): string => key.replace(/[^\p{L}\p{N}]+/gu, "-");
const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

await main();
