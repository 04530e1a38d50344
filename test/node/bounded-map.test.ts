/** The module-level memo every per-isolate cache uses: a size cap and an age cap. */
import { describe, expect, it } from "vitest";
import { BoundedMap } from "../../workers/platform/bounded-map";

describe("BoundedMap", () => {
  it("never holds more than its size cap: the oldest entry goes first", () => {
    const m = new BoundedMap<number, string>(3, 60_000);
    for (let i = 0; i < 10_000; i++) m.set(i, `v${i}`);
    expect(m.size).toBe(3);
    expect([m.get(9_997), m.get(9_998), m.get(9_999)]).toEqual(["v9997", "v9998", "v9999"]);
    expect(m.get(0)).toBeUndefined();
  });

  it("forgets entries older than its age cap, and a set refreshes an entry's age and place", () => {
    let now = 1_000;
    const m = new BoundedMap<string, number>(2, 500, () => now);
    m.set("a", 1);
    m.set("b", 2);
    now += 400;
    m.set("a", 10); // refreshed: now the newest
    m.set("c", 3); // evicts b, the oldest
    expect(m.get("b")).toBeUndefined();
    expect(m.get("a")).toBe(10);
    now += 499;
    expect(m.get("a")).toBe(10);
    now += 1;
    expect(m.get("a")).toBeUndefined();
    expect(m.size).toBe(1);
  });

  it("getOrSet computes once per live entry", () => {
    const m = new BoundedMap<string, number>(4, 60_000);
    let calls = 0;
    const make = (): number => ++calls;
    expect(m.getOrSet("k", make)).toBe(1);
    expect(m.getOrSet("k", make)).toBe(1);
    expect(calls).toBe(1);
  });

  it("refuses caps that would make it unbounded", () => {
    expect(() => new BoundedMap(0, 1000)).toThrow();
    expect(() => new BoundedMap(10, 0)).toThrow();
  });
});
