/**
 * The subject vocabulary's word rules, shared by the builder of the subject data (tools/build-subjects.ts) and by
 * query understanding: a shelf name and a shopper's words reach the same key ("Sci-Fi", "scifi", "sf" → science
 * fiction; "zombies", "zombie" → zombie).
 */

/** Whole-phrase synonyms, applied after hyphens become spaces. */
const PHRASES: Record<string, string> = {
  "sci fi": "science fiction",
  scifi: "science fiction",
  sf: "science fiction",
  sciencefiction: "science fiction",
  "science fiction fantasy": "science fiction fantasy",
  "sci fi fantasy": "science fiction fantasy",
  "scifi fantasy": "science fiction fantasy",
  "sf fantasy": "science fiction fantasy",
  "fantasy sci fi": "science fiction fantasy",
  "fantasy scifi": "science fiction fantasy",
  sff: "science fiction fantasy",
  ya: "young adult",
  "ya fiction": "young adult",
  "young adult fiction": "young adult",
  youngadult: "young adult",
  "y a": "young adult",
  teen: "young adult",
  "teen fiction": "young adult",
  ww2: "world war ii",
  wwii: "world war ii",
  "ww ii": "world war ii",
  "world war 2": "world war ii",
  "world war two": "world war ii",
  "second world war": "world war ii",
  ww1: "world war i",
  wwi: "world war i",
  "world war 1": "world war i",
  "world war one": "world war i",
  "first world war": "world war i",
  "world war i": "world war i",
  "picture books": "picture book",
  "picture book": "picture book",
  "childrens picture books": "picture book",
  "children s picture books": "picture book",
  nonfiction: "non fiction",
  "non fic": "non fiction",
  nonfic: "non fiction",
  nf: "non fiction",
  "chick lit": "chick lit",
  chicklit: "chick lit",
  "chic lit": "chick lit",
  pnr: "paranormal romance",
  uf: "urban fantasy",
  "graphic novel": "graphic novel",
  graphicnovels: "graphic novel",
  "graphic novels comics": "graphic novel",
  comics: "comic",
  "comic books": "comic",
  "comic book": "comic",
  "historical fic": "historical fiction",
  historicalfiction: "historical fiction",
  "historic fiction": "historical fiction",
  "self improvement": "self help",
  selfhelp: "self help",
  "personal development": "self help",
  humour: "humor",
  vamps: "vampire",
  vamp: "vampire",
  "vampire books": "vampire",
  "vampire fiction": "vampire",
  "paranormal vampires": "vampire",
  distopia: "dystopia",
  dystopian: "dystopia",
  dystopias: "dystopia",
  "dystopian fiction": "dystopia",
  "post apocalypse": "post apocalyptic",
  apocalyptic: "post apocalyptic",
  "end of the world": "post apocalyptic",
  "shape shifters": "shapeshifter",
  shifters: "shapeshifter",
  shifter: "shapeshifter",
  weres: "werewolf",
  faeries: "fairy",
  faerie: "fairy",
  fae: "fairy",
  fey: "fairy",
  fairytales: "fairy tale",
  fairytale: "fairy tale",
  "fairy tales": "fairy tale",
  "fairy tale retellings": "fairy tale retelling",
  "fairytale retellings": "fairy tale retelling",
  retellings: "fairy tale retelling",
  "mystery thriller": "mystery thriller",
  mysteries: "mystery",
  "murder mystery": "murder mystery",
  "cozy mysteries": "cozy mystery",
  "true crime": "true crime",
  "time travel": "time travel",
  cookbook: "cookbook",
  cooking: "cookbook",
  recipes: "cookbook",
  biographies: "biography",
  bio: "biography",
  bios: "biography",
  autobiography: "memoir",
  memoirs: "memoir",
  "biography memoir": "memoir",
  "memoir biography": "memoir",
  childrens: "children",
  "children s": "children",
  kids: "children",
  "children s books": "children",
  "childrens books": "children",
  "kids books": "children",
  "middle grades": "middle grade",
  mg: "middle grade",
  lgbtq: "lgbt",
  glbt: "lgbt",
  lgbtqia: "lgbt",
  queer: "lgbt",
  "pop science": "popular science",
  "popular science": "popular science",
  "super heroes": "superhero",
  superheroes: "superhero",
  "sword and sorcery": "sword and sorcery",
  "space opera": "space opera",
  "classic literature": "classic",
  "classic lit": "classic",
  "the classics": "classic",
  classics: "classic",
  "military fiction": "military",
  war: "war",
  "spy novels": "spy",
  "spy fiction": "spy",
  espionage: "spy",
  spies: "spy",
  "serial killers": "serial killer",
  witches: "witch",
  "angels demons": "angels and demons",
  "angels and demons": "angels and demons",
  mythology: "mythology",
  myths: "mythology",
  myth: "mythology",
  "greek mythology": "greek mythology",
  "magical realism": "magical realism",
  "magic realism": "magical realism",
  "steampunk": "steampunk",
  "cyberpunk": "cyberpunk",
};

/** Words that stay as they are although they end in s. */
const NOT_PLURAL = new Set([
  "series", "politics", "economics", "physics", "mathematics", "ethics", "news", "comics", "classics", "gas", "christmas",
  "us", "bus", "plus", "chaos", "atlas", "texas", "paris", "arts", "wellness", "business", "success",
  "happiness", "loneliness", "madness", "illness", "wilderness", "darkness", "kindness", "consciousness", "genesis",
  "psychosis", "analysis", "crisis", "thesis", "basis", "oasis", "tennis", "jesus", "lewis", "dickens", "holmes",
  "narnia", "athens", "mars", "venus", "aliens", "adventures", "sports", "thanksgiving",
]);

/** Plurals of words ending in -ie (zombies → zombie, not zomby). */
const IE_PLURALS = new Set(["zombies", "movies", "cookies", "pixies", "hippies", "rookies", "brownies", "selfies", "indies", "calories", "genies", "goalies", "hoodies", "aussies", "newbies", "yuppies", "sweeties", "lies", "ties", "pies", "dies"]);

/** One word in the singular (the last word of a subject key): zombies → zombie, fairies → fairy, wolves → wolf. */
export function singularWord(w: string): string {
  if (w.length <= 3 || /^\d/.test(w) || NOT_PLURAL.has(w) || w.endsWith("ss") || w.endsWith("us") || w.endsWith("is")) {
    return w === "aliens" ? "alien" : w === "adventures" ? "adventure" : w === "sports" ? "sport" : w;
  }
  if (w.endsWith("ies")) return IE_PLURALS.has(w) ? w.slice(0, -1) : `${w.slice(0, -3)}y`;
  if (w.endsWith("ves") && (w === "wolves" || w === "elves" || w === "dwarves" || w === "thieves" || w === "lives" || w === "wives")) {
    return w === "lives" ? "life" : w === "wives" ? "wife" : `${w.slice(0, -3)}f`;
  }
  if (/(ches|shes|xes|sses)$/.test(w)) return w.slice(0, -2);
  if (w.endsWith("s") && !w.endsWith("'s")) return w.slice(0, -1);
  return w;
}

/**
 * Lower case, unaccented words joined by single spaces: how shelf names and queries are compared, and the same
 * words as the Postgres side's `search_norm` split on non-alphanumerics (an apostrophe joins: "salem's" is
 * "salems" on both sides, as shoppers type it).
 */
export function normPhrase(s: string): string {
  return s
    .replace(/&/g, " and ")
    .replace(/['’]/g, "")
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .join(" ");
}

/** A phrase's subject key: synonyms folded, the last word singular. */
export function singularKey(phrase: string): string {
  const p = normPhrase(phrase);
  const folded = PHRASES[p] ?? p;
  const words = folded.split(" ");
  const last = words.pop() ?? "";
  const key = [...words, singularWord(last)].join(" ");
  return PHRASES[key] ?? key;
}

/** Shelves about the reader, not the book: never subjects. */
const NOISE = [
  /\bread\b/, /reads?$/, /^read/, /reading/, /\bown/, /owned/, /\bmine\b/, /favou?rite/, /\bfav/, /faves/, /kindle/, /e ?books?/, /\baudio/,
  /audible/, /library/, /librar/, /\bbuy/, /bought/, /purchas/, /wish/, /want/, /\bbook ?club/, /bookclub/, /book group/, /bookgroup/,
  /default/, /currently/, /re ?read/, /\bdnf\b/, /did n ?t finish/, /didn t/, /not finish/, /couldn t/, /could not/, /abandon/, /unfinished/,
  /finished/, /gave up/, /stopped/, /dropped/, /paused/, /on hold/, /lost interest/, /not interested/, /never/, /\bstars?\b/,
  /\bshel(f|ves)\b/, /bookshelf/, /\bmaybe\b/, /borrow/, /\bhave\b/, /\btbr\b/, /challenge/, /\b(19|20)\d\d\b/, /\bsequels?\b/,
  /first in/, /1st in/, /stand ?alones?/, /paperback/, /hardcover/, /hardback/, /hard copy/, /calibre/, /\bnook\b/, /\bkobo\b/, /overdrive/,
  /netgalley/, /\barcs?\b/, /scanned/, /signed/, /\bpdf\b/, /\bepub\b/, /ibooks/, /download/, /donated/, /\bfree/, /giveaway/, /\bsub\b/,
  /english$/, /^in english/, /\blol\b/, /\bmeh\b/, /awesome/, /amazing/, /\bgood\b/, /\bbest\b/, /\bloved?\b/, /made me/, /recommend/,
  /\bseries\b/, /trilog/, /complete/, /\bnext\b/, /\bpriority\b/, /\bmisc/, /\bother\b/, /\bgeneral\b/, /\bunsorted\b/, /\bbooks?$/,
  /^books?\b/, /\bnovels?$/, /^(fiction|novels?|literature|lit|stories|general fiction|adult|adult fiction|drama|modern|literary)$/,
  /\bschool\b/, /\bclass(room)?\b/, /\bgrade\b/, /\buni(versity)?\b/, /\bcollege\b/, /\bfor (the )?(kids|class|school|review|fun)\b/,
  /\bwork\b/, /\bhome\b/, /\bpersonal\b/, /\bprivate\b/, /\bcollection\b/, /rory gilmore/, /gilmore/, /1001/, /\bguardian\b/, /bbc/,
  /\boprah/, /\btime 100\b/, /\btop 100\b/, /modern library/, /\bpenguin\b/, /\bfirst reads\b/, /\bedrd\b/, /\bmovies?\b/, /\bfilm\b/,
  /saw the/, /\bto\b/, /\bmy\b/, /\bi\b/, /\bm f\b/, /^mf$/, /^[a-z]$/, /^\d+$/, /\bhq\b/, /\bkeepers?\b/, /\bdone\b/, /\bcompleted\b/,
  /\bbio\b ?memoir/, /\bshorts\b/, /\bcover/, /\bbeautiful\b/, /\binteresting\b/, /\bcute\b/, /\bsweet\b/, /\bhot\b/, /\bsexy\b/,
  /\bfun\b/, /\bfunny\b/, /\bhilarious\b/, /\bsad\b/, /\bemotional\b/, /tear ?jerker/, /\bweird\b/, /guilty/, /brain candy/, /\bfluff/,
  /\bkids? read/, /\bread aloud/, /\bstorytime\b/, /\bbook boyfriends?\b/, /\bbookish\b/, /\bamazon\b/, /\bgoodreads\b/, /\bkiddos?\b/,
];

/**
 * The subject key of a shelf name, or null when the shelf says something about the reader (to-read, owned,
 * read-in-2015, favourites, book club …) rather than about the book.
 */
export function subjectKeyOfTag(tag: string): string | null {
  const p = normPhrase(tag.replace(/[-_]+/g, " "));
  if (p.length < 2 || p.length > 40 || !/[a-z]/.test(p) || /^\d+ [a-z]/.test(p)) return null;
  if (PHRASES[p] === undefined && NOISE.some((re) => re.test(p))) return null;
  return singularKey(p);
}

/**
 * A title's key as both engines compare it: its words without articles, "and" and "of" ("game thrones" for "A
 * Game of Thrones", "angels demons" for "Angels & Demons"), as the Postgres engine's `title_key`.
 */
export function bareTitle(words: string): string {
  return normPhrase(words)
    .split(" ")
    .filter((w) => w !== "" && !TITLE_FILLER.has(w))
    .join(" ");
}

const TITLE_FILLER = new Set(["the", "a", "an", "and", "of"]);

/**
 * Levenshtein distance, or `max + 1` as soon as it is certainly above `max` (the lengths alone can tell): typo
 * tolerance in the Typesense engine and the author-name check of the subject builder.
 */
export function editDistance(a: string, b: string, max = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length] ?? max + 1;
}
