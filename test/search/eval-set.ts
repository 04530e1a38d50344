/**
 * The relevance evaluation set: queries a shopper types against the `--small` seed (600 most-rated books), each
 * with the books (slugs) that must appear in the first five results. Groups: exact titles, authors,
 * misspellings, prefixes (half-typed), subjects, ISBNs (with and without hyphens), missing accents and
 * punctuation, series names.
 */
export interface EvalCase {
  kind: "title" | "author" | "typo" | "prefix" | "subject" | "isbn" | "accents" | "series";
  q: string;
  expect: string[];
}

export const EVAL_SET: EvalCase[] = [
  { kind: "title", q: "The Hunger Games", expect: ["the-hunger-games"] },
  { kind: "title", q: "The Hobbit", expect: ["the-hobbit"] },
  { kind: "title", q: "1984", expect: ["1984"] },
  { kind: "title", q: "Jane Eyre", expect: ["jane-eyre"] },
  { kind: "title", q: "Brave New World", expect: ["brave-new-world"] },
  { kind: "title", q: "The Girl on the Train", expect: ["the-girl-on-the-train"] },
  { kind: "title", q: "Watership Down", expect: ["watership-down"] },
  { kind: "title", q: "The Art of War", expect: ["the-art-of-war"] },
  { kind: "title", q: "A Brief History of Time", expect: ["a-brief-history-of-time"] },
  { kind: "author", q: "tolkien", expect: ["the-hobbit"] },
  { kind: "author", q: "suzanne collins", expect: ["the-hunger-games"] },
  { kind: "author", q: "khaled hosseini", expect: ["a-thousand-splendid-suns"] },
  { kind: "author", q: "malcolm gladwell", expect: ["outliers-the-story-of-success", "the-tipping-point-how-little-things-can-make-a-big-difference"] },
  { kind: "author", q: "bram stoker", expect: ["dracula"] },
  { kind: "author", q: "Kathryn Stockett", expect: ["the-help"] },
  { kind: "typo", q: "hary poter deathly hallows", expect: ["harry-potter-and-the-deathly-hallows"] },
  { kind: "typo", q: "tolkein hobit", expect: ["the-hobbit"] },
  { kind: "typo", q: "dracla", expect: ["dracula"] },
  { kind: "typo", q: "watershp down", expect: ["watership-down"] },
  { kind: "typo", q: "hunger gmaes", expect: ["the-hunger-games"] },
  { kind: "typo", q: "artemis fowel", expect: ["artemis-fowl"] },
  { kind: "typo", q: "gulivers travels", expect: ["gullivers-travels"] },
  { kind: "typo", q: "flowers for algernom", expect: ["flowers-for-algernon"] },
  { kind: "typo", q: "the andromeda strian", expect: ["the-andromeda-strain"] },
  { kind: "prefix", q: "the hob", expect: ["the-hobbit"] },
  { kind: "prefix", q: "perfect chem", expect: ["perfect-chemistry"] },
  { kind: "prefix", q: "fellowship of the r", expect: ["the-fellowship-of-the-ring"] },
  { kind: "prefix", q: "gracel", expect: ["graceling"] },
  { kind: "prefix", q: "odd thom", expect: ["odd-thomas"] },
  { kind: "prefix", q: "tuck ever", expect: ["tuck-everlasting"] },
  { kind: "subject", q: "dystopian hunger", expect: ["the-hunger-games"] },
  { kind: "subject", q: "vampires interview", expect: ["interview-with-the-vampire"] },
  { kind: "subject", q: "true crime capote", expect: ["in-cold-blood"] },
  { kind: "isbn", q: "9780439023481", expect: ["the-hunger-games"] },
  { kind: "isbn", q: "978-0-618-26030-0", expect: ["the-hobbit"] },
  { kind: "isbn", q: "0451524934", expect: ["1984"] },
  { kind: "isbn", q: "0-06-092987-1", expect: ["brave-new-world"] },
  { kind: "isbn", q: "038039586X", expect: ["watership-down"] },
  { kind: "accents", q: "les miserables", expect: ["les-miserables"] },
  { kind: "accents", q: "charlotte bronte", expect: ["jane-eyre"] },
  { kind: "accents", q: "suskind perfume", expect: ["perfume-the-story-of-a-murderer"] },
  { kind: "accents", q: "salems lot", expect: ["salems-lot"] },
  { kind: "accents", q: "the wise mans fear", expect: ["the-wise-mans-fear"] },
  { kind: "accents", q: "11 22 63", expect: ["11-22-63"] },
  { kind: "accents", q: "tess of the durbervilles", expect: ["tess-of-the-durbervilles"] },
  { kind: "accents", q: "daughter of smoke and bone", expect: ["daughter-of-smoke-and-bone"] },
  { kind: "series", q: "kingkiller chronicle", expect: ["the-wise-mans-fear"] },
  { kind: "series", q: "chronicles of narnia", expect: ["the-lion-the-witch-and-the-wardrobe"] },
  { kind: "series", q: "black dagger brotherhood", expect: ["dark-lover"] },
  { kind: "series", q: "kay scarpetta", expect: ["postmortem"] },
  { kind: "series", q: "cormoran strike", expect: ["the-cuckoos-calling"] },
  { kind: "series", q: "maze runner", expect: ["the-maze-runner", "the-scorch-trials"] },
  { kind: "series", q: "percy jackson", expect: ["the-sea-of-monsters"] },
];
