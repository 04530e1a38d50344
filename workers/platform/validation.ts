/**
 * zValidator with the project's error envelope: a failed check answers 400 with a precise code
 * (UNKNOWN_PARAMETER for keys a strict schema does not know, or a code the route maps to a field) and the zod
 * issues as details. Nothing after the validator runs on bad input.
 */
import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { z } from "zod";
import { AppError } from "./errors";

/** Maps a top-level field to an error code, either for any issue or per zod issue code. */
export type FieldCodes = Record<string, string | Partial<Record<string, string>>>;

export interface IssueDetail {
  path: string;
  code: string;
  message: string;
}

/** Converts zod issues to envelope details and picks the most specific error code. */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  target: keyof ValidationTargets,
  fieldCodes: FieldCodes = {},
): { code: string; details: IssueDetail[] } {
  const details: IssueDetail[] = [];
  let code: string | null = null;
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        details.push({ path: [...issue.path, key].join("."), code: "unrecognized_key", message: `Unknown ${target === "query" ? "query parameter" : "field"} '${key}'` });
      }
      code ??= target === "query" ? "UNKNOWN_PARAMETER" : "UNKNOWN_FIELD";
      continue;
    }
    const field = String(issue.path[0] ?? "");
    details.push({ path: issue.path.join("."), code: issue.code, message: issue.message });
    const mapped = fieldCodes[field];
    const specific = typeof mapped === "string" ? mapped : mapped?.[issue.code];
    if (specific) code ??= specific;
  }
  return { code: code ?? "VALIDATION_FAILED", details };
}

/** A zValidator whose failures become AppErrors in the envelope. */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
  fieldCodes: FieldCodes = {},
) {
  return zValidator(target, schema, (result) => {
    if (!result.success) {
      const { code, details } = describeIssues(result.error.issues, target, fieldCodes);
      const what = target === "query" ? "query parameters" : target === "param" ? "path" : "request body";
      throw new AppError(400, code, `Invalid ${what}: ${details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join("; ")}`, details);
    }
  });
}
