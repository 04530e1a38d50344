/**
 * Query understanding (issue 13): the pure parts (filler, hints, subject keys, author name keys) and what they do
 * through the Postgres engine on the `--small` seed — filler never required, typo-corrected author names, the
 * "did you mean" of a weak match, typed suggestions with subjects, "&" read as "and". The engine contract suite
 * (search-contract.test.ts) checks the same behaviour on both engines with invented documents.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { understandQuery } from "../../workers/search/query-understanding";
import { authorKeys } from "../../workers/search/entities";
import { parseSeries, seriesKey } from "../../workers/search/documents";
import { singularKey, subjectKeyOfTag } from "../../workers/search/subject-words";
import type { PostgresSearchEngine } from "../../workers/search/postgres-engine";
import { toSearchRequest } from "../../workers/search/request";
import { searchQuerySchema } from "../../workers/search/schemas";
import { openPostgresEngine } from "./search-support";

describe("understandQuery", () => {
  it.each([
    ["books by Ursula K. Le Guin", "ursula k le guin", "author"],
    ["novels by stephen king", "stephen king", "author"],
    ["stephen king novels", "stephen king", null],
    ["Stephen King's books", "stephen king", null],
    ["the wheel of time series", "the wheel of time", "series"],
    ["books in the wheel of time series", "wheel of time", "series"],
    ["the hunger games trilogy", "the hunger games", "series"],
    ["zombie novels", "zombie", null],
    ["books about pirates", "pirates", "subject"],
    ["the book thief", "the book thief", null],
    ["novels", "novels", null],
  ])("%s → core %s, hint %s", (q, core, hint) => {
    const u = understandQuery(q);
    expect(u.core).toBe(core);
    expect(u.hint).toBe(hint);
  });

  it("offers subject keys in the singular with synonyms folded, and the typed phrase when it ends in a filler word", () => {
    expect(understandQuery("pirate books").keys).toContain("pirate");
    expect(understandQuery("zombies").keys).toContain("zombie");
    expect(understandQuery("sci-fi books").keys).toContain("science fiction");
    expect(understandQuery("YA novels").keys).toContain("young adult");
    expect(understandQuery("ww2 novels").keys).toContain("world war ii");
    expect(understandQuery("graphic novels").keys).toContain("graphic novel");
  });
});

describe("entity keys", () => {
  it("reads an author's name with initials apart, together or left out", () => {
    expect(authorKeys("J.K. Rowling").keys).toEqual(expect.arrayContaining(["j k rowling", "jk rowling"]));
    expect(authorKeys("J.R.R. Tolkien").keys).toContain("jrr tolkien");
    expect(authorKeys("Ursula K. Le Guin").keys).toEqual(expect.arrayContaining(["ursula k le guin", "ursula le guin"]));
    expect(authorKeys("Kurt Vonnegut Jr.").keys).toContain("kurt vonnegut");
    // A surname alone is a partial match only (it may be a title word): never a whole key.
    expect(authorKeys("Stephen King").keys).not.toContain("king");
    expect(authorKeys("Stephen King").tail).toBe("king");
  });

  it("reads every series of a book and flags in-between volumes", () => {
    expect(parseSeries("Discworld, #1; Rincewind #1").names).toEqual(["Discworld", "Rincewind"]);
    expect(parseSeries("The Hunger Games, #1")).toEqual({ names: ["The Hunger Games"], minor: false });
    expect(parseSeries("Wheel of Time, #1-8").minor).toBe(true);
    expect(parseSeries("Throne of Glass, #0.5").minor).toBe(true);
    expect(seriesKey("The Wheel of Time")).toBe("wheel of time");
  });

  it("folds shelf names into subjects and drops shelves about the reader", () => {
    expect(subjectKeyOfTag("zombies")).toBe("zombie");
    expect(subjectKeyOfTag("sci-fi")).toBe("science fiction");
    expect(subjectKeyOfTag("world-war-ii")).toBe("world war ii");
    for (const noise of ["to-read", "owned", "read-in-2015", "favorites", "kindle", "book-club", "currently-reading", "5-stars"]) {
      expect(subjectKeyOfTag(noise), noise).toBeNull();
    }
    expect(singularKey("fairies")).toBe("fairy");
    expect(singularKey("wolves")).toBe("wolf");
  });
});

describe("through the Postgres engine (--small seed)", () => {
  let pool: pg.Pool;
  let engine: PostgresSearchEngine;
  beforeAll(async () => {
    ({ pool, engine } = await openPostgresEngine());
  });
  afterAll(async () => {
    await pool.end();
  });
  const top = async (q: string, n = 3): Promise<string[]> =>
    (await engine.search(toSearchRequest(searchQuerySchema.parse({ q, limit: "10" })))).hits.slice(0, n).map((h) => h.slug);

  it("never requires the filler: the author's most read books, whatever the phrasing or a typo in the name", async () => {
    const expected = ["the-hunger-games", "catching-fire", "mockingjay"];
    for (const q of ["suzanne collins", "books by suzanne collins", "suzanne collins novels", "suzane collins", "suzanne colins books"]) {
      expect(await top(q), q).toEqual(expected);
    }
  });

  it("puts a series' books first, the most read first", async () => {
    expect(await top("the hunger games series")).toEqual(["the-hunger-games", "catching-fire", "mockingjay"]);
  });

  it("offers the corrected words when a typed word is not in the dictionary, and nothing when every word is", async () => {
    const weak = await engine.search(toSearchRequest(searchQuerySchema.parse({ q: "tolkeen hobit" })));
    expect(weak.didYouMean).toBe("tolkien hobbit");
    const good = await engine.search(toSearchRequest(searchQuerySchema.parse({ q: "the hobbit" })));
    expect(good.didYouMean).toBeUndefined();
  });

  it("reads & as and", async () => {
    const withAnd = await top("pride and prejudice", 1);
    expect(await top("pride & prejudice", 1)).toEqual(withAnd);
  });

  it("suggests typed entities, subjects included, at most two subjects", async () => {
    const s = await engine.suggest("vamp", 10);
    expect(s.some((x) => x.kind === "subject" && x.text === "Vampires")).toBe(true);
    expect(s.some((x) => x.kind === "title")).toBe(true);
    expect(s.filter((x) => x.kind === "subject").length).toBeLessThanOrEqual(2);
    expect((await engine.suggest("suzanne c", 5))[0]).toMatchObject({ kind: "author", text: "Suzanne Collins" });
  });
});
