import { setTimeout as sleep } from "node:timers/promises";
import type { z } from "@hono/zod-openapi";
import pRetry, { AbortError } from "p-retry";
import {
  HttpError,
  InvalidResponseError,
  PermanentHttpError,
  TransientHttpError,
  truncateBody,
} from "./errors.js";
import { createOAuth2TokenProvider, type OAuth2TokenProvider } from "./oauth2.js";
import {
  BodyTooLargeError,
  defaultMaxResponseBytes,
  OutboundBlockedError,
  ResponseTooLargeError,
  readTextCapped,
} from "./outbound.js";
import type { AuthSettings } from "./settings.js";

/** How transient failures are retried. */
export interface RetryPolicy {
  /** Retries after the first attempt; `retries: 3` means at most 4 attempts. */
  retries: number;
  /** Wait before the first retry; doubles on each further retry. */
  minTimeoutMs: number;
  /** Upper bound of any single wait, including one asked for by Retry-After. */
  maxTimeoutMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { retries: 3, minTimeoutMs: 500, maxTimeoutMs: 30_000 };
export const defaultTimeoutMs = 15_000;

/** Options of {@link createHttpClient}. */
export interface HttpClientOptions {
  /** Vendor base URL; request paths are appended to it. */
  baseUrl: string;
  auth: AuthSettings;
  /**
   * Defaults to the global `fetch`, looked up on each request (so msw and test doubles apply). The engine
   * passes {@link createGuardedFetch}'s, which refuses internal destinations.
   */
  fetch?: typeof fetch;
  /** Per attempt, covering the response body as well as the headers. */
  timeoutMs: number;
  /** Largest response body read; a larger one fails with {@link ResponseTooLargeError}. Default {@link defaultMaxResponseBytes}. */
  maxResponseBytes?: number;
  retry: RetryPolicy;
  /** Clock for Retry-After HTTP-dates and OAuth2 token expiry. */
  now?: () => Date;
}

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type QueryValue = string | number | boolean | undefined;

/** One request. The response body is parsed with `schema`; a mismatch is an {@link InvalidResponseError}. */
export interface HttpRequest<T> {
  method: HttpMethod;
  /** Path below `baseUrl`, e.g. `/api/now/table/incident`. */
  path: string;
  /** Query parameters; `undefined` values are left out. */
  query?: Record<string, QueryValue>;
  /** JSON request body. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Parses the JSON response body; an empty body is passed as `undefined`. */
  schema: z.ZodType<T>;
  /**
   * Whether replaying the request after an ambiguous failure (timeout, connection reset,
   * 500/502/504) is harmless. Defaults to true for GET, PUT and DELETE and false for POST
   * and PATCH. Non-idempotent requests are still retried after 408, 429 and 503, which
   * mean the vendor did not apply them.
   */
  idempotent?: boolean;
}

/** A successful, parsed response. */
export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  data: T;
  /** Attempts made, including the first. */
  attempts: number;
  /** Milliseconds from the first attempt's start to the parsed response. */
  latencyMs: number;
}

/** A vendor HTTP client with auth, timeouts, retries and response validation built in. */
export interface HttpClient {
  /**
   * Sends `request`, retrying transient failures per the {@link RetryPolicy}.
   * @throws {PermanentHttpError} at once for 4xx other than 408/429 (and for a 401 that
   *   persists after one OAuth2 token refresh).
   * @throws {InvalidResponseError} when a 2xx body does not match `schema`.
   * @throws {OutboundBlockedError} at once when the destination (or a redirect's) is a blocked address.
   * @throws {ResponseTooLargeError} at once when a body exceeds `maxResponseBytes`.
   * @throws {TransientHttpError} when retries are exhausted, or at once for a
   *   non-idempotent request that may have been applied (`maybeProcessed`).
   */
  request<T>(request: HttpRequest<T>): Promise<HttpResponse<T>>;
  /** The absolute URL a request to `path` with `query` would use. */
  url(path: string, query?: Record<string, QueryValue>): string;
}

/** Why one attempt failed; converted to a public {@link HttpError} once retrying stops. */
class AttemptFailure extends Error {
  constructor(
    readonly kind: "permanent" | "transient" | "invalid" | "tooLarge",
    message: string,
    readonly status: number | null,
    readonly responseBody: string | null,
    readonly maybeProcessed: boolean,
    readonly retryAfterMs: number | null,
    readonly failureCause?: unknown,
    /** Set when another endpoint failed on the request's behalf (the OAuth2 token endpoint). */
    readonly failedAt?: { method: string; url: string },
    /** Thrown as is: a refused destination keeps its own class and origin-only URL. */
    readonly final?: OutboundBlockedError,
  ) {
    super(message);
  }

  toHttpError(method: string, url: string, attempts: number, latencyMs: number): HttpError {
    if (this.final !== undefined) return this.final;
    const details = {
      method: this.failedAt?.method ?? method,
      url: this.failedAt?.url ?? url,
      status: this.status,
      attempts,
      latencyMs,
      responseBody: this.responseBody === null ? null : truncateBody(this.responseBody),
      cause: this.failureCause,
    };
    switch (this.kind) {
      case "permanent":
        return new PermanentHttpError(this.message, details);
      case "invalid":
        return new InvalidResponseError(this.message, details);
      case "tooLarge":
        return new ResponseTooLargeError(this.message, details);
      case "transient":
        return new TransientHttpError(this.message, {
          ...details,
          maybeProcessed: this.maybeProcessed,
          retryAfterMs: this.retryAfterMs,
        });
    }
  }
}

/** Statuses after which the vendor has not applied the request, so any method may be replayed. */
const notAppliedStatuses = new Set([408, 429, 503]);
/** Network error codes raised before the request left this host. */
const notSentErrorCodes = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * Creates an HTTP client on `fetch` with a per-attempt `AbortSignal.timeout`, p-retry for
 * transient failures (network errors, timeouts, 5xx, 408, 429 honouring Retry-After in
 * seconds or as an HTTP-date), and Basic, bearer or OAuth2 auth. A 401 under OAuth2
 * drops the cached token and retries once with a fresh one.
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const now = options.now ?? (() => new Date());
  const { auth, retry } = options;
  const maxResponseBytes = options.maxResponseBytes ?? defaultMaxResponseBytes;
  const tokens: OAuth2TokenProvider | null =
    auth.type === "oauth2"
      ? createOAuth2TokenProvider({
          settings: auth,
          fetch: options.fetch,
          timeoutMs: options.timeoutMs,
          now: options.now,
          maxResponseBytes,
        })
      : null;

  function url(path: string, query?: Record<string, QueryValue>): string {
    const target = new URL(baseUrl + (path.startsWith("/") ? path : `/${path}`));
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) target.searchParams.set(key, String(value));
    }
    return target.toString();
  }

  async function credentials(): Promise<{ header: string; oauthToken: string | null }> {
    switch (auth.type) {
      case "basic":
        return {
          header: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`,
          oauthToken: null,
        };
      case "bearer":
        return { header: `Bearer ${auth.token}`, oauthToken: null };
      case "oauth2": {
        const token = await tokens!.getAccessToken();
        return { header: `Bearer ${token}`, oauthToken: token };
      }
    }
  }

  async function send(
    target: string,
    request: HttpRequest<unknown>,
  ): Promise<{ response: Response; text: string; oauthToken: string | null }> {
    const { header, oauthToken } = await credentials();
    const headers = new Headers(request.headers);
    headers.set("accept", "application/json");
    headers.set("authorization", header);
    if (request.body !== undefined) headers.set("content-type", "application/json");
    const fetchImpl = options.fetch ?? globalThis.fetch;
    try {
      const response = await fetchImpl(target, {
        method: request.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const text = await readTextCapped(response, maxResponseBytes);
      return { response, text, oauthToken };
    } catch (error) {
      if (error instanceof OutboundBlockedError) throw toAttemptFailure(error);
      if (error instanceof BodyTooLargeError) {
        throw new AttemptFailure(
          "tooLarge",
          `${request.method} ${request.path} answered with a body over ${error.maxBytes} bytes`,
          null,
          null,
          false,
          null,
          error,
        );
      }
      const timedOut =
        error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      const code = errorCode(error);
      throw new AttemptFailure(
        "transient",
        timedOut
          ? `${request.method} ${request.path} timed out after ${options.timeoutMs} ms`
          : `${request.method} ${request.path} failed: ${code ?? (error instanceof Error ? error.message : "network error")}`,
        null,
        null,
        !(code !== null && notSentErrorCodes.has(code)),
        null,
        error,
      );
    }
  }

  async function attemptOnce<T>(
    target: string,
    request: HttpRequest<T>,
  ): Promise<Omit<HttpResponse<T>, "attempts" | "latencyMs">> {
    let { response, text, oauthToken } = await send(target, request);
    if (response.status === 401 && oauthToken !== null) {
      tokens!.invalidate(oauthToken);
      ({ response, text } = await send(target, request));
    }

    if (response.ok) {
      let json: unknown;
      try {
        json = text === "" ? undefined : JSON.parse(text);
      } catch (error) {
        throw new AttemptFailure(
          "invalid",
          `${request.method} ${request.path} answered ${response.status} with a body that is not JSON`,
          response.status,
          text,
          false,
          null,
          error,
        );
      }
      const parsed = request.schema.safeParse(json);
      if (!parsed.success) {
        throw new AttemptFailure(
          "invalid",
          `${request.method} ${request.path} answered ${response.status} with an unexpected body: ${parsed.error.issues
            .slice(0, 3)
            .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
            .join("; ")}`,
          response.status,
          text,
          false,
          null,
          parsed.error,
        );
      }
      return { status: response.status, headers: response.headers, data: parsed.data };
    }

    const message = `${request.method} ${request.path} answered ${response.status}`;
    const transient = response.status >= 500 || response.status === 408 || response.status === 429;
    if (!transient) throw new AttemptFailure("permanent", message, response.status, text, false, null);
    throw new AttemptFailure(
      "transient",
      message,
      response.status,
      text,
      !notAppliedStatuses.has(response.status),
      parseRetryAfter(response.headers.get("retry-after"), now()),
    );
  }

  function waitBeforeRetryMs(retryNumber: number, retryAfterMs: number | null): number {
    const backoffMs = Math.min(retry.minTimeoutMs * 2 ** (retryNumber - 1), retry.maxTimeoutMs);
    if (retryAfterMs === null) return backoffMs;
    return Math.max(backoffMs, Math.min(retryAfterMs, retry.maxTimeoutMs));
  }

  async function request<T>(request: HttpRequest<T>): Promise<HttpResponse<T>> {
    const target = url(request.path, request.query);
    const idempotent = request.idempotent ?? !(request.method === "POST" || request.method === "PATCH");
    const started = performance.now();
    let attempts = 0;
    try {
      const result = await pRetry(
        async (attemptNumber) => {
          attempts = attemptNumber;
          try {
            return await attemptOnce(target, request);
          } catch (error) {
            const failure = toAttemptFailure(error);
            if (failure === null)
              throw new AbortError(error instanceof Error ? error : new Error(String(error)));
            const replayable = failure.kind === "transient" && (idempotent || !failure.maybeProcessed);
            throw replayable ? failure : new AbortError(failure);
          }
        },
        {
          retries: retry.retries,
          // Waiting happens in onFailedAttempt, where Retry-After is known; p-retry's own delay stays 0.
          minTimeout: 0,
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
            if (retriesLeft === 0) return;
            const retryAfterMs = error instanceof AttemptFailure ? error.retryAfterMs : null;
            await sleep(waitBeforeRetryMs(attemptNumber, retryAfterMs));
          },
        },
      );
      return { ...result, attempts, latencyMs: Math.round(performance.now() - started) };
    } catch (error) {
      if (error instanceof AttemptFailure) {
        throw error.toHttpError(request.method, target, attempts, Math.round(performance.now() - started));
      }
      throw error;
    }
  }

  return { request, url };
}

/** Errors from the OAuth2 token provider keep their classification and URL; `null` for anything else (a bug, not retried). */
function toAttemptFailure(error: unknown): AttemptFailure | null {
  if (error instanceof AttemptFailure) return error;
  if (error instanceof OutboundBlockedError) {
    return new AttemptFailure("permanent", error.message, null, null, false, null, error, undefined, error);
  }
  if (!(error instanceof HttpError)) return null;
  const kind =
    error instanceof TransientHttpError
      ? "transient"
      : error instanceof InvalidResponseError
        ? "invalid"
        : "permanent";
  const retryAfterMs = error instanceof TransientHttpError ? error.retryAfterMs : null;
  return new AttemptFailure(
    kind,
    error.message,
    error.status,
    error.responseBody,
    false,
    retryAfterMs,
    error,
    {
      method: error.method,
      url: error.url,
    },
  );
}

function errorCode(error: unknown): string | null {
  const cause = error instanceof Error ? error.cause : undefined;
  if (typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string") {
    return cause.code;
  }
  return null;
}

/**
 * Parses a Retry-After header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
 * Returns milliseconds to wait, or `null` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: Date): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now.getTime());
}

/**
 * Parses an RFC 8288 Link header into `rel -> URL`, e.g. ServiceNow's
 * `<https://…?sysparm_offset=40>;rel="next"`. Commas inside `<…>` are kept.
 */
export function parseLinkHeader(header: string | null): Record<string, string> {
  const links: Record<string, string> = {};
  if (header === null) return links;
  for (const match of header.matchAll(/<([^>]*)>\s*;\s*rel="?([^",;]+)"?/g)) {
    const [, target, rel] = match;
    if (target !== undefined && rel !== undefined) links[rel] = target;
  }
  return links;
}
