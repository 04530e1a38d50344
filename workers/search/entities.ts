/**
 * The entity dictionary of query understanding, built from search documents: every author, series and subject
 * with the whole-phrase keys a query must equal to mean it, its words (for partial matches) and a popularity
 * weight. Both engines index the same entities, so "ursula le guin", "jk rowling", "the wheel of time" and
 * "zombies" mean the same thing whichever engine answers.
 */
import type { SearchDocument } from "./engine";
import { normPhrase } from "./subject-words";

export interface SearchEntity {
  /** `author:<slug>`, `series:<series key>` or `subject:<slug>`. */
  id: string;
  kind: "author" | "series" | "subject";
  label: string;
  slug: string | null;
  /** The largest popularity among the entity's books in this batch (kept at its maximum by the engines). */
  weight: number;
  keys: string[];
  tokens: string[];
  /** An author's surname (partial author matches must name it); null otherwise. */
  tail: string | null;
}

const SUFFIXES = new Set(["jr", "sr", "ii", "iii", "iv", "phd", "md"]);

/** The keys, words and surname of an author's name. */
export function authorKeys(name: string): Pick<SearchEntity, "keys" | "tokens" | "tail"> {
  const words = normPhrase(name).split(" ").filter(Boolean);
  while (words.length > 1 && SUFFIXES.has(words[words.length - 1] ?? "")) words.pop();
  if (words.length === 0) return { keys: [], tokens: [], tail: null };
  const tail = words[words.length - 1] ?? null;
  const keys = new Set<string>([words.join(" ")]);
  // Initials written apart or together: "j k rowling" and "jk rowling"; dropped: "rowling", "ursula le guin".
  const joined: string[] = [];
  let run = "";
  for (const w of words) {
    if (w.length === 1) {
      run += w;
      continue;
    }
    if (run) joined.push(run);
    run = "";
    joined.push(w);
  }
  if (run) joined.push(run);
  keys.add(joined.join(" "));
  // Initials left out ("ursula le guin"); a surname alone ("tolkien") stays a partial match: it may be a title word.
  const noInitials = words.filter((w) => w.length > 1);
  if (noInitials.length > 1) keys.add(noInitials.join(" "));
  return { keys: [...keys].filter(Boolean), tokens: [...new Set([...words, ...joined])], tail };
}

/** The authors, series and subjects of a batch of documents, each once, with the batch's largest popularity. */
export function entitiesOf(docs: SearchDocument[]): SearchEntity[] {
  const out = new Map<string, SearchEntity>();
  const add = (e: SearchEntity): void => {
    const seen = out.get(e.id);
    if (!seen || seen.weight < e.weight) out.set(e.id, e);
  };
  for (const d of docs) {
    d.authors.forEach((name, i) => {
      const slug = d.author_slugs[i];
      if (slug) add({ id: `author:${slug}`, kind: "author", label: name, slug, weight: d.popularity, ...authorKeys(name) });
    });
    d.series_keys.forEach((key, i) => {
      const label = d.series_names[i] ?? key;
      add({ id: `series:${key}`, kind: "series", label, slug: null, weight: d.popularity, keys: [key], tokens: key.split(" "), tail: null });
    });
    d.subjects.forEach((slug, i) => {
      const key = slug.replace(/-/g, " ");
      const label = d.subject_names[i] ?? key;
      add({ id: `subject:${slug}`, kind: "subject", label, slug, weight: d.popularity, keys: [...new Set([key, normPhrase(label)])], tokens: key.split(" "), tail: null });
    });
  }
  return [...out.values()];
}
