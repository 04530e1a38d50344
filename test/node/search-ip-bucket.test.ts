/** Rate-limit buckets of client addresses (search): IPv6 counts per /64, so rotating addresses gains nothing. */
import { describe, expect, it } from "vitest";
import { ipBucket } from "../../workers/search/ip-bucket";

describe("ipBucket", () => {
  it("keeps IPv4 addresses and the unknown bucket as they are", () => {
    expect(ipBucket("198.18.0.1")).toBe("198.18.0.1");
    expect(ipBucket("unknown")).toBe("unknown");
  });

  it("puts every address of one IPv6 /64 in one bucket, however it is written", () => {
    const a = ipBucket("2001:db8:85a3:12::1");
    expect(a).toBe("2001:db8:85a3:12::/64");
    for (const other of ["2001:db8:85a3:12:ffff:ffff:ffff:fffe", "2001:0DB8:85A3:0012:0:0:0:9", "[2001:db8:85a3:12::abcd]", "2001:db8:85a3:12::1%eth0"]) {
      expect(ipBucket(other)).toBe(a);
    }
    expect(ipBucket("2001:db8:85a3:13::1")).not.toBe(a);
    expect(ipBucket("::1")).toBe("0:0:0:0::/64");
    expect(ipBucket("2001:db8::")).toBe("2001:db8:0:0::/64");
  });

  it("treats an IPv4-mapped IPv6 address as its IPv4 address", () => {
    expect(ipBucket("::ffff:198.18.0.1")).toBe("198.18.0.1");
  });
});
