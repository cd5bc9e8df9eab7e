import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import type { AppEnv } from "../app-env.js";
import { isDatabaseUnavailable } from "../db/errors.js";
import { type FieldError, formatIssuePath, GatewayError, problemCodes, problemType } from "../errors.js";

type Issue = ZodError["issues"][number];

/** How far a union branch is from the input's shape: its unknown or missing top-level fields. */
function mismatch(branch: readonly Issue[]): number {
  let count = 0;
  for (const issue of branch) {
    if (issue.path.length === 0 && issue.code === "unrecognized_keys") count += issue.keys.length;
    else if (
      issue.path.length === 1 &&
      issue.code === "invalid_type" &&
      /received undefined/.test(issue.message)
    )
      count++;
  }
  return count;
}

export function zodFieldErrors(error: ZodError): FieldError[] {
  return issuesToFieldErrors(error.issues, []);
}

export function issuesToFieldErrors(issues: readonly Issue[], prefix: PropertyKey[]): FieldError[] {
  const out: FieldError[] = [];
  for (const raw of issues) {
    const issue = { ...raw, path: [...prefix, ...raw.path] } as Issue;
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      // Report the branch the input came closest to, so paths point into it rather than at the union.
      const closest = [...issue.errors].sort((a, b) => mismatch(a) - mismatch(b) || a.length - b.length)[0]!;
      out.push(...issuesToFieldErrors(closest, issue.path));
      continue;
    }
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        out.push({ path: formatIssuePath([...issue.path, key]), message: "unknown field" });
      }
    } else {
      out.push({ path: formatIssuePath(issue.path), message: issue.message });
    }
  }
  return out;
}

export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof HTTPException) {
    if (error.status === 400 && /malformed json/i.test(error.message)) {
      return new GatewayError("MALFORMED_JSON", "The request body is not valid JSON.");
    }
    const code = (Object.keys(problemCodes) as (keyof typeof problemCodes)[]).find(
      (c) => problemCodes[c].status === error.status,
    );
    return new GatewayError(code ?? "BAD_REQUEST", error.message || "Bad request.");
  }
  if (isDatabaseUnavailable(error)) {
    return new GatewayError("UNAVAILABLE", "The database is not reachable; retry shortly.", {
      cause: error,
    });
  }
  return new GatewayError(
    "INTERNAL",
    "An unexpected error occurred; the request id identifies it in the logs.",
    {
      cause: error,
    },
  );
}

/** How long a client should wait before retrying a 503 (a reconnect or a failover takes seconds). */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** The one place errors become HTTP responses: RFC 9457 problem+json. */
export function renderProblem(c: Context<AppEnv>, error: GatewayError): Response {
  const body = {
    type: problemType(error.code),
    title: problemCodes[error.code].title,
    status: error.status,
    detail: error.message,
    instance: c.req.path,
    requestId: c.get("requestId"),
    ...(error.errors ? { errors: error.errors } : {}),
    ...(error.extra ?? {}),
  };
  const headers: Record<string, string> = { "content-type": "application/problem+json" };
  if (error.code === "UNAVAILABLE") headers["retry-after"] = String(UNAVAILABLE_RETRY_AFTER_SECONDS);
  return c.body(JSON.stringify(body), error.status as 400, headers);
}
