/** Cache admission for search: a key is worth caching on its second sight within the window, never its first. */
import { beforeEach, describe, expect, it } from "vitest";
import { lastKnownIndexVersion, noteIndexVersion, resetDoorkeeper, seenBefore } from "../../workers/search/doorkeeper";

beforeEach(() => resetDoorkeeper());

describe("search doorkeeper", () => {
  it("admits a key on its second sight within ten minutes", () => {
    const t = 1_000_000;
    expect(seenBefore("a", t)).toBe(false);
    expect(seenBefore("a", t + 1)).toBe(true);
    expect(seenBefore("b", t + 2)).toBe(false);
    // A sighting older than the window no longer counts, and restarts it.
    expect(seenBefore("c", t)).toBe(false);
    expect(seenBefore("c", t + 10 * 60_000)).toBe(false);
    expect(seenBefore("c", t + 10 * 60_000 + 1)).toBe(true);
  });

  it("remembers at most 20,000 keys, forgetting the oldest first", () => {
    for (let i = 0; i <= 20_000; i++) seenBefore(`k${i}`, 1);
    expect(seenBefore("k0", 2)).toBe(false);
    expect(seenBefore("k20000", 2)).toBe(true);
  });

  it("keeps the newest index version read from Redis", () => {
    expect(lastKnownIndexVersion()).toBeNull();
    noteIndexVersion(7);
    noteIndexVersion(null);
    noteIndexVersion(5);
    expect(lastKnownIndexVersion()).toBe(7);
  });
});
