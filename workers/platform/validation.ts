/**
 * Validation failures in the project's error envelope (the routes' validation hook in openapi.ts uses these): a
 * failed check answers 400 with a precise code (UNKNOWN_PARAMETER for keys a strict schema does not know, or a code
 * the route maps to a field) and the zod issues as details. Nothing after the validator runs on bad input.
 *
 * Also the one rule for free text: no control characters (Postgres refuses NUL, logs and emails mangle the rest).
 */
import type { ValidationTargets } from "hono";
import { z } from "zod";
import { AppError } from "./errors";
import type { ErrorCode } from "./error-codes";

/** Maps a top-level field to an error code, either for any issue or per zod issue code. */
export type FieldCodes = Record<string, ErrorCode | Partial<Record<string, ErrorCode>>>;
/** Field codes per request part, as a route declares them. */
export type TargetCodes = Partial<Record<"query" | "param" | "json" | "form" | "header", FieldCodes>>;

export interface IssueDetail {
  path: string;
  code: string;
  message: string;
}

/** At most this many issues are described; a request with thousands of bad keys gets a bounded answer. */
export const MAX_ISSUE_DETAILS = 20;
/** Issues named in the human message (the details carry the rest). */
const MAX_MESSAGE_ISSUES = 5;
/** A client-chosen key or path is echoed at most this long. */
const MAX_PATH_CHARS = 100;

// Single-line text: no C0/C1 controls at all (tab and newline included) and no lone surrogates.
const SINGLE_LINE = /^[^\p{Cc}\p{Cs}]*$/u;
// Multi-line text (notes): tab and line feed are allowed, every other control is not.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const MULTI_LINE = /^[^\p{Cs}\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$/u;
export const CONTROL_CHARACTER_MESSAGE = "must not contain control characters";

/**
 * A string that rejects control characters (NUL, ESC, DEL, C1 …) and lone surrogates, checked before anything else.
 * `multiline` allows `\n` and `\t` for fields where line breaks are legitimate. Chain `.trim()`, `.max()` … after it.
 */
export function safeText(opts: { multiline?: boolean } = {}): z.ZodString {
  return z.string().regex(opts.multiline ? MULTI_LINE : SINGLE_LINE, CONTROL_CHARACTER_MESSAGE);
}

const clip = (s: string): string => (s.length > MAX_PATH_CHARS ? `${s.slice(0, MAX_PATH_CHARS)}…` : s);

/** Converts zod issues to envelope details (at most MAX_ISSUE_DETAILS) and picks the most specific error code. */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  target: keyof ValidationTargets,
  fieldCodes: FieldCodes = {},
): { code: ErrorCode; details: IssueDetail[]; omitted: number } {
  const details: IssueDetail[] = [];
  let omitted = 0;
  let code: ErrorCode | null = null;
  const push = (d: IssueDetail): void => {
    if (details.length < MAX_ISSUE_DETAILS) details.push(d);
    else omitted++;
  };
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        push({ path: clip([...issue.path, key].join(".")), code: "unrecognized_key", message: `Unknown ${target === "query" ? "query parameter" : "field"} '${clip(key)}'` });
      }
      code ??= target === "query" ? "UNKNOWN_PARAMETER" : "UNKNOWN_FIELD";
      continue;
    }
    const field = String(issue.path[0] ?? "");
    push({ path: clip(issue.path.join(".")), code: issue.code, message: issue.message });
    const mapped = fieldCodes[field];
    const specific = typeof mapped === "string" ? mapped : mapped?.[issue.code];
    if (specific) code ??= specific;
  }
  return { code: code ?? "VALIDATION_FAILED", details, omitted };
}

/** The human summary of a failed validation: the first few issues and how many more the details hold. */
function summarise(what: string, details: IssueDetail[], omitted: number): string {
  const shown = details.slice(0, MAX_MESSAGE_ISSUES).map((d) => (d.path ? `${d.path}: ${d.message}` : d.message));
  const more = details.length - shown.length + omitted;
  return `Invalid ${what}: ${shown.join("; ")}${more > 0 ? ` (and ${more} more)` : ""}`;
}

/** The AppError for a failed validation of one request part: the most specific code, the issues as details. */
export function validationError(issues: readonly z.core.$ZodIssue[], target: keyof ValidationTargets, fieldCodes: FieldCodes = {}): AppError {
  const { code, details, omitted } = describeIssues(issues, target, fieldCodes);
  const what = target === "query" ? "query parameters" : target === "param" ? "path" : target === "header" ? "headers" : "request body";
  const message = summarise(what, details, omitted);
  if (omitted > 0) details.push({ path: "", code: "truncated", message: `${omitted} more issues not shown` });
  return new AppError(code, message, details);
}

const intText = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a non-negative integer")
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

interface QueryIntOptions {
  min: number;
  max: number;
  description?: string;
}

const intMeta = (o: QueryIntOptions) => ({ type: "integer" as const, minimum: o.min, maximum: o.max, ...(o.description ? { description: o.description } : {}) });

const intWithDefault = (o: QueryIntOptions & { default: number }) =>
  intText(o.min, o.max).default(o.default).meta({ ...intMeta(o), default: o.default });
const optionalInt = (o: QueryIntOptions) => intText(o.min, o.max).optional().meta(intMeta(o));

/**
 * An integer query parameter: digits only (no signs, exponents or spaces), then bounded; optional, or with a
 * default. Documented as an integer with its bounds and default (the string form it travels in is an HTTP detail).
 */
export function queryInt(opts: QueryIntOptions & { default: number }): ReturnType<typeof intWithDefault>;
export function queryInt(opts: QueryIntOptions): ReturnType<typeof optionalInt>;
export function queryInt(opts: QueryIntOptions & { default?: number }): ReturnType<typeof intWithDefault> | ReturnType<typeof optionalInt> {
  return opts.default === undefined ? optionalInt(opts) : intWithDefault({ ...opts, default: opts.default });
}
