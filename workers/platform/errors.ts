/**
 * The one error envelope: `{ "error": { "code", "message", "details", "request_id" } }`.
 * Services throw AppError with a registered code; the registry (error-codes.ts) gives its status, and the app's
 * onError turns anything into the envelope.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ERROR_CODES } from "./error-codes";
import type { ErrorCode } from "./error-codes";

export type { ErrorCode } from "./error-codes";

/** An error meant for the client: a registered code (which fixes the HTTP status) and a human message. */
export class AppError extends Error {
  readonly status: ContentfulStatusCode;
  constructor(
    readonly code: ErrorCode,
    message: string = ERROR_CODES[code].message,
    readonly details: unknown = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "AppError";
    this.status = ERROR_CODES[code].status;
  }
}

export const notFound = (what: string, details: unknown = null): AppError => new AppError("NOT_FOUND", `${what} was not found`, details);

/** Builds the envelope response; the status is the code's, the request id comes from the request-context middleware. */
export function errorResponse(
  c: Context,
  code: ErrorCode,
  message: string = ERROR_CODES[code].message,
  details: unknown = null,
  headers: Record<string, string> = {},
): Response {
  const requestId = (c.get("requestId") as string | undefined) ?? null;
  for (const [k, v] of Object.entries(headers)) c.header(k, v);
  c.header("Cache-Control", "no-store");
  return c.json({ error: { code, message, details, request_id: requestId } }, ERROR_CODES[code].status);
}
