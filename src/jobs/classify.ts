import { ZodError } from "zod";
import { HttpError } from "../../connectors/sdk/index.js";
import { sqlState } from "../db/client.js";
import { describeDatabaseError, isDatabaseError } from "../db/errors.js";

/** What the engine does with a failed attempt. */
export interface FailureClass {
  /** Retried with backoff (until the attempt or age limit) rather than dead-lettered now. */
  retry: boolean;
  /** A short, stable reason for logs, the ledger and the dead-letter view. */
  reason: string;
  httpStatus: number | null;
  /** The vendor asked for this wait (429, 503 with Retry-After): the whole connection holds until then. */
  retryAfterMs: number | null;
  /** The connection cannot work at all (its settings no longer parse): pause it with this reason. */
  pauseConnection: string | null;
}

/** Vendor 4xx answers that say "later", not "never". */
const retryableClientStatuses = new Set([408, 409, 423, 425, 429]);

/** Whether an HTTP error status is worth retrying: 5xx, and the 4xx answers that mean "later". */
export function isRetryableHttpStatus(status: number): boolean {
  return status >= 500 || retryableClientStatuses.has(status);
}

/**
 * PostgreSQL errors that heal by retrying: connection exceptions (08), insufficient resources (53), the server
 * shutting down or restarting (57P01-57P03), serialization failures and deadlocks.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  // postgres.js reports a lost socket by name, not SQLSTATE ("EPIPE" even looks like one); drizzle's query
  // error carries it as its cause.
  for (let e: unknown = error; e && typeof e === "object"; e = (e as { cause?: unknown }).cause) {
    const name = (e as { code?: unknown }).code;
    if (typeof name === "string" && /^(CONNECTION_|ECONNRESET|ECONNREFUSED|EPIPE)/.test(name)) return true;
  }
  const code = sqlState(error);
  if (code === undefined) return false;
  return (
    code.startsWith("08") ||
    code.startsWith("53") ||
    code === "57P01" ||
    code === "57P02" ||
    code === "57P03" ||
    code === "40001" ||
    code === "40P01"
  );
}

/** A connection whose stored settings no longer satisfy its connector's schema. */
export class ConnectionSettingsError extends Error {
  readonly retryable = false;
}

/** The one place a failure is classified (issue: vendor 4xx permanent except 408/409/423/425/429, and so on). */
export function classifyFailure(error: unknown): FailureClass {
  const base = { httpStatus: null, retryAfterMs: null, pauseConnection: null };
  if (error instanceof ConnectionSettingsError) {
    return { ...base, retry: true, reason: "settings_invalid", pauseConnection: error.message };
  }
  if (error instanceof HttpError) {
    const status = error.status;
    const retryAfterMs =
      "retryAfterMs" in error && typeof error.retryAfterMs === "number" ? error.retryAfterMs : null;
    if (status === null) return { ...base, retry: error.retryable, reason: "network" };
    const retry = isRetryableHttpStatus(status) || (status < 400 && error.retryable);
    return {
      ...base,
      retry,
      reason: retry ? `http_${status}` : `http_${status}_permanent`,
      httpStatus: status,
      retryAfterMs: status === 429 || status === 503 ? retryAfterMs : null,
    };
  }
  if (isTransientDatabaseError(error)) return { ...base, retry: true, reason: "database_transient" };
  if (error instanceof ZodError) return { ...base, retry: false, reason: "validation" };
  const flagged = (error as { retryable?: unknown } | null)?.retryable;
  if (flagged === true) return { ...base, retry: true, reason: "retryable" };
  if (flagged === false) return { ...base, retry: false, reason: "permanent" };
  // Timeouts and socket errors outside the SDK client (a fetch the engine makes itself).
  if (error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError")) {
    return { ...base, retry: true, reason: "timeout" };
  }
  return { ...base, retry: false, reason: "error" };
}

/**
 * A failure as the ledger, logs and dead letters may show it. A database error's message and its drizzle
 * wrapper quote the statement's parameters (bodies, key hashes): only its SQLSTATE and statement name go out.
 */
export function errorMessage(error: unknown): string {
  if (isDatabaseError(error)) {
    const described = describeDatabaseError(error);
    return `database error ${String(described["sqlState"] ?? described["driverCode"] ?? "unknown")} in ${String(described["statement"] ?? "a query")}`;
  }
  return (error instanceof Error ? error.message : String(error)).slice(0, 1000);
}
