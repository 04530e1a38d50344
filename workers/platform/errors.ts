/**
 * The one error envelope: `{ "error": { "code", "message", "details", "request_id" } }`.
 * Services throw AppError; the app's onError turns anything into the envelope.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** An error meant for the client: an HTTP status, a stable machine code and a human message. */
export class AppError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const notFound = (what: string, details: unknown = null): AppError =>
  new AppError(404, "NOT_FOUND", `${what} was not found`, details);

/** Builds the envelope response; the request id comes from the request-context middleware. */
export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  details: unknown = null,
  headers: Record<string, string> = {},
): Response {
  const requestId = (c.get("requestId") as string | undefined) ?? null;
  for (const [k, v] of Object.entries(headers)) c.header(k, v);
  c.header("Cache-Control", "no-store");
  return c.json({ error: { code, message, details, request_id: requestId } }, status);
}
