/** The caps' customer keys: IPv6 addresses count by their /64, so one subscriber cannot rotate through its prefix. */
import { describe, expect, it } from "vitest";
import { customerKeys, ipBucket } from "../../workers/checkout/customer";

describe("ipBucket", () => {
  it("keeps IPv4 as it is and IPv6 as its /64, however it is written", () => {
    expect(ipBucket("203.0.113.7")).toBe("203.0.113.7");
    expect(ipBucket("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2");
    expect(ipBucket("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2");
    expect(ipBucket("2001:db8::1")).toBe("2001:db8:0:0");
    expect(ipBucket("::1")).toBe("0:0:0:0");
  });

  it("gives one IP key to all of a /64 and to every guest cart behind it; accounts are keyed by user", async () => {
    const a = await customerKeys("s".repeat(32), null, "g-1", "2001:db8:1:2::10");
    const b = await customerKeys("s".repeat(32), null, "g-2", "2001:db8:1:2:ffff::99");
    expect(a.ip).toBe(b.ip);
    expect(a.customer).not.toBe(b.customer);
    expect(a.ip).not.toContain("2001");
    expect((await customerKeys("s".repeat(32), "user-1", "u-user-1", "203.0.113.7")).customer).toBe("u:user-1");
  });
});
