/**
 * Query understanding before any engine sees the words: shopper filler ("books by", "novels", "the … series",
 * "books about") is taken off so the rest can be compared with author, series and subject names, and what the
 * filler said ("by" → an author) becomes a hint. The engines resolve the entities themselves (their dictionaries
 * correct typos); this part is pure and shared, so both engines read a query the same way.
 */
import type { QueryIntent } from "./engine";
import { normPhrase, singularKey } from "./subject-words";

type Hint = QueryIntent["hint"];

/** Leading filler and what it hints at, longest first. */
const LEADING: [string, Hint][] = [
  ["books written by", "author"],
  ["novels written by", "author"],
  ["books by", "author"],
  ["novels by", "author"],
  ["stories by", "author"],
  ["works by", "author"],
  ["written by", "author"],
  ["book by", "author"],
  ["novel by", "author"],
  ["by", "author"],
  ["books about", "subject"],
  ["novels about", "subject"],
  ["stories about", "subject"],
  ["books on", "subject"],
  ["books with", "subject"],
  ["novels with", "subject"],
  ["fiction about", "subject"],
  ["about", "subject"],
  ["books in the", "series"],
  ["books in", "series"],
  // Until recommendations exist, "books like X" answers X's own family (its series, its author) through X.
  ["books like", null],
  ["novels like", null],
  ["something like", null],
  ["similar to", null],
  ["books similar to", null],
];

/** Praise shoppers put before what they mean ("best fantasy books"): dropped for the entity keys only. */
const PRAISE = new Set(["best", "top", "good", "great", "popular", "famous", "classic", "new", "favorite", "favourite"]);

/** Trailing filler, longest first. */
const TRAILING: [string, Hint][] = [
  ["book series", "series"],
  ["novel series", "series"],
  ["books series", "series"],
  ["series books", "series"],
  ["series", "series"],
  ["saga", "series"],
  ["trilogy", "series"],
  ["books", null],
  ["novels", null],
  ["book", null],
  ["novel", null],
  ["stories", null],
];

/** Words that are filler when the whole query is only them ("books") stay: there is nothing else to search. */
function stripOnce(words: string[], hint: Hint): { words: string[]; hint: Hint } {
  // A possessive left over by normalisation: "stephen king's books" is "stephen king s books".
  if (words.length > 2 && words[words.length - 1] === "s") return { words: words.slice(0, -1), hint };
  for (const [phrase, h] of LEADING) {
    const p = phrase.split(" ");
    if (words.length > p.length && p.every((w, i) => words[i] === w)) return { words: words.slice(p.length), hint: hint ?? h };
  }
  for (const [phrase, h] of TRAILING) {
    const p = phrase.split(" ");
    const at = words.length - p.length;
    if (at > 0 && p.every((w, i) => words[at + i] === w)) return { words: words.slice(0, at), hint: hint ?? h };
  }
  return { words, hint };
}

/**
 * What a shopper's query asks for: the words to match without filler, its candidate entity keys and a hint.
 * "books by ursula k le guin" → core "ursula k le guin", hint author; "the wheel of time series" → "the wheel of
 * time", hint series; "zombie novels" → "zombie" (keys: zombie); "sci-fi books" → "sci fi" (keys: science fiction).
 */
export function understandQuery(q: string): QueryIntent {
  // A possessive before filler or at the end is the name's ("stephen king's books"): apostrophes join words, so
  // it would otherwise become "kings".
  const typed = normPhrase(q.replace(/['’]s(?=\s+(?:books?|novels?|series|stories|saga|trilogy)\s*$|\s*$)/iu, ""));
  let words = typed.split(" ").filter(Boolean);
  let hint: Hint = null;
  // Two passes: "books by X series" is rare, "the X series books" is not.
  for (let pass = 0; pass < 3; pass++) ({ words, hint } = stripOnce(words, hint));
  const core = words.join(" ");
  const keys = new Set<string>();
  if (core !== "") {
    keys.add(core);
    keys.add(singularKey(core));
  }
  // Some names end in a filler word ("graphic novels", "short stories"): the phrase as typed is a candidate too.
  if (typed !== core && typed !== "") keys.add(singularKey(typed));
  // "best fantasy books" names the subject fantasy; the text match keeps every word ("The Best of …" stays found).
  if (words.length > 1 && PRAISE.has(words[0] ?? "")) keys.add(singularKey(words.slice(1).join(" ")));
  return { core: core === "" ? q : core, keys: [...keys], hint };
}
