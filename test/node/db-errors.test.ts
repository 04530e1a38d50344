import { describe, expect, it } from "vitest";
import { isConnectTimeout, isConnectionError } from "../../workers/platform/db-errors";

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

describe("isConnectionError", () => {
  it("treats connection-class SQLSTATEs and endpoint failures as outages", () => {
    expect(isConnectionError(withCode("terminating connection", "57P01"))).toBe(true);
    expect(isConnectionError(withCode("connection failure", "08006"))).toBe(true);
    expect(isConnectionError(withCode("too many connections", "53300"))).toBe(true);
    expect(isConnectionError(withCode("canceling statement due to conflict with recovery", "40001"))).toBe(true);
    expect(isConnectionError(withCode("127.0.0.1:1 is not an allowed target", ""))).toBe(true);
    expect(isConnectionError(new Error("Server error (HTTP status 500): error connecting to server"))).toBe(true);
    expect(isConnectionError(new Error("fetch failed"))).toBe(true);
    expect(isConnectionError({ type: "error" })).toBe(true);
  });

  it("treats statement errors and bugs as errors, not outages", () => {
    expect(isConnectionError(withCode('relation "nope" does not exist', "42P01"))).toBe(false);
    expect(isConnectionError(withCode("invalid input syntax", "22P02"))).toBe(false);
    expect(isConnectionError(new TypeError("Cannot read properties of undefined"))).toBe(false);
  });

  it("looks through drizzle's wrapper to the driver error", () => {
    const wrapped = new Error("Failed query: select 1", { cause: withCode("syntax error", "42601") });
    expect(isConnectionError(wrapped)).toBe(false);
    const outage = new Error("Failed query: select 1", { cause: withCode("admin shutdown", "57P01") });
    expect(isConnectionError(outage)).toBe(true);
  });
});

describe("isConnectTimeout", () => {
  it("is true only when connecting took too long (nothing was sent), through drizzle's wrapper too", () => {
    expect(isConnectTimeout(new Error("Connection terminated due to connection timeout"))).toBe(true);
    expect(isConnectTimeout(new Error("timeout exceeded when trying to connect"))).toBe(true);
    expect(isConnectTimeout(new Error("Failed query: begin", { cause: new Error("Connection terminated due to connection timeout") }))).toBe(true);
    // A connection lost mid-statement may have applied the statement: never retried blindly.
    expect(isConnectTimeout(new Error("Connection terminated unexpectedly"))).toBe(false);
    expect(isConnectTimeout(withCode("canceling statement due to statement timeout", "57014"))).toBe(false);
    expect(isConnectTimeout({ type: "error" })).toBe(false);
  });
});
