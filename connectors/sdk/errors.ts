/**
 * Errors thrown by the SDK HTTP client. The sync engine classifies failures with
 * `error instanceof HttpError && error.retryable`, never by parsing messages.
 *
 * None of these errors ever carries request headers, so credentials cannot leak
 * through logs or the ledger.
 */

/** Longest response body excerpt kept on an error, in characters. */
export const maxErrorBodyChars = 2_000;

/** Details shared by every HTTP failure. */
export interface HttpErrorDetails {
  /** HTTP method of the failed request. */
  method: string;
  /** Request URL (query included; auth never travels in the URL). */
  url: string;
  /** Response status, or `null` when no response arrived (network error, timeout). */
  status: number | null;
  /** How many attempts were made, including the first. */
  attempts: number;
  /** Milliseconds from the first attempt's start to the final failure. */
  latencyMs: number;
  /** Response body text, truncated to {@link maxErrorBodyChars}; `null` when there was none. */
  responseBody: string | null;
  /** The underlying error (network failure, zod issue), when there is one. */
  cause?: unknown;
}

/**
 * Base class of every failure from {@link createHttpClient}'s `request`.
 * `retryable` tells the sync engine whether running the operation again later can succeed.
 */
export abstract class HttpError extends Error {
  /** True when a later attempt may succeed (5xx, 429, timeouts, network errors). */
  abstract readonly retryable: boolean;
  readonly method: string;
  readonly url: string;
  readonly status: number | null;
  readonly attempts: number;
  readonly latencyMs: number;
  readonly responseBody: string | null;

  constructor(message: string, details: HttpErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.method = details.method;
    this.url = details.url;
    this.status = details.status;
    this.attempts = details.attempts;
    this.latencyMs = details.latencyMs;
    this.responseBody = details.responseBody;
  }
}

/**
 * A failure that retrying the same request cannot fix: a 4xx other than 408/429, or a
 * token endpoint refusing the credentials. Thrown at once, without retries.
 */
export class PermanentHttpError extends HttpError {
  readonly retryable = false;
}

/** A 2xx response whose body did not match the caller's zod schema (a contract change at the vendor). */
export class InvalidResponseError extends PermanentHttpError {}

/** Details of a transient failure. */
export interface TransientHttpErrorDetails extends HttpErrorDetails {
  /**
   * True when the vendor may have applied the request even though we saw no success
   * (timeout, connection reset, 500/502/504). Non-idempotent requests in this state are
   * not replayed by the HTTP client; the operation that issued them must re-check first.
   */
  maybeProcessed: boolean;
  /** Server-requested wait (Retry-After) in milliseconds, when it sent one. */
  retryAfterMs: number | null;
}

/**
 * A failure that may succeed later: network error, timeout, 5xx, 408 or 429.
 * Thrown after the retry budget is spent, or at once for a non-idempotent request
 * that may already have been applied (see `maybeProcessed`).
 */
export class TransientHttpError extends HttpError {
  readonly retryable = true;
  readonly maybeProcessed: boolean;
  readonly retryAfterMs: number | null;

  constructor(message: string, details: TransientHttpErrorDetails) {
    super(message, details);
    this.maybeProcessed = details.maybeProcessed;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** Thrown by a connector's `parseWebhook` when the body is not the documented shape. */
export class WebhookPayloadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WebhookPayloadError";
  }
}

/** Truncates a response body for an error, marking the cut. */
export function truncateBody(body: string): string {
  return body.length <= maxErrorBodyChars ? body : `${body.slice(0, maxErrorBodyChars)}…[truncated]`;
}

/**
 * An error as a dead letter shows it: the message and, for an {@link HttpError}, the vendor's answer (already
 * capped at {@link maxErrorBodyChars}), with every given secret value replaced, so the cause is readable without
 * a debugger and credentials a vendor echoes never land in the database. Not for logs, which carry no bodies.
 */
export function failureText(error: unknown, secrets: readonly string[] = []): string {
  const message = error instanceof Error ? error.message : String(error);
  const body = error instanceof HttpError && error.responseBody ? error.responseBody.trim() : "";
  return redactSecretValues(body === "" ? message : `${message}: ${truncateBody(body)}`, secrets);
}

/**
 * `text` with every given secret value (4 characters or more) replaced by `[redacted]`, longest first so a
 * secret containing another is replaced whole. Used by {@link failureText} and for any stored failure message.
 */
export function redactSecretValues(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length))
    out = out.split(secret).join("[redacted]");
  return out;
}
