import { z } from "@hono/zod-openapi";
import { InvalidResponseError, PermanentHttpError, TransientHttpError, truncateBody } from "./errors.js";
import {
  BodyTooLargeError,
  defaultMaxResponseBytes,
  OutboundBlockedError,
  ResponseTooLargeError,
  readTextCapped,
} from "./outbound.js";
import type { OAuth2AuthSettings } from "./settings.js";

/** Options of {@link createOAuth2TokenProvider}. */
export interface OAuth2TokenProviderOptions {
  settings: OAuth2AuthSettings;
  /** Defaults to the global `fetch`, looked up at call time. */
  fetch?: typeof fetch;
  /** Per token request. */
  timeoutMs: number;
  now?: () => Date;
  /** Refresh this long before the token expires. Default 60 000. */
  expirySkewMs?: number;
  /** Largest token response read. Default {@link defaultMaxResponseBytes}. */
  maxResponseBytes?: number;
}

/** Supplies access tokens, cached until shortly before they expire. */
export interface OAuth2TokenProvider {
  /** A valid access token, fetching one when none is cached or the cached one is about to expire. */
  getAccessToken(): Promise<string>;
  /**
   * Forget `rejectedToken` (the vendor answered 401 with it). Only that token is dropped,
   * so concurrent requests that all saw the 401 cause a single refresh.
   */
  invalidate(rejectedToken: string): void;
}

/** RFC 6749 §5.1 token response. ServiceNow sends `expires_in` as a number; some vendors send a string. */
const TokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.coerce.number().positive().optional(),
  refresh_token: z.string().min(1).optional(),
});

/** Used when the token endpoint omits `expires_in`: short, so a wrong guess costs one extra 401 at most. */
const assumedLifetimeSeconds = 300;

/**
 * OAuth 2.0 token provider for the client-credentials grant, or the refresh-token grant
 * when `settings.refreshToken` is set. A rotated refresh token returned by the endpoint
 * replaces the configured one for the life of this provider.
 */
export function createOAuth2TokenProvider(options: OAuth2TokenProviderOptions): OAuth2TokenProvider {
  const now = options.now ?? (() => new Date());
  const skewMs = options.expirySkewMs ?? 60_000;
  let refreshToken = options.settings.refreshToken;
  let cached: { token: string; expiresAtMs: number } | null = null;
  let inFlight: Promise<string> | null = null;

  async function requestToken(): Promise<string> {
    const { tokenUrl, clientId, clientSecret, scope } = options.settings;
    const form = new URLSearchParams();
    if (refreshToken === undefined) {
      form.set("grant_type", "client_credentials");
    } else {
      form.set("grant_type", "refresh_token");
      form.set("refresh_token", refreshToken);
    }
    // Client credentials in the body (RFC 6749 §2.3.1): ServiceNow's oauth_token.do reads them there.
    form.set("client_id", clientId);
    form.set("client_secret", clientSecret);
    if (scope !== undefined) form.set("scope", scope);

    const started = performance.now();
    const details = (status: number | null, body: string | null, cause?: unknown) => ({
      method: "POST",
      url: tokenUrl,
      status,
      attempts: 1,
      latencyMs: Math.round(performance.now() - started),
      responseBody: body === null ? null : truncateBody(body),
      cause,
    });

    let response: Response;
    let text: string;
    try {
      const fetchImpl = options.fetch ?? globalThis.fetch;
      // RFC 6749 §4.4 (client credentials) and §6 (refreshing an access token).
      response = await fetchImpl(tokenUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: form,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      text = await readTextCapped(response, options.maxResponseBytes ?? defaultMaxResponseBytes);
    } catch (error) {
      if (error instanceof OutboundBlockedError) throw error;
      if (error instanceof BodyTooLargeError)
        throw new ResponseTooLargeError(
          `OAuth2 token response exceeds ${error.maxBytes} bytes`,
          details(null, null),
        );
      throw new TransientHttpError("OAuth2 token request failed before a response arrived", {
        ...details(null, null, error),
        maybeProcessed: false,
        retryAfterMs: null,
      });
    }

    if (!response.ok) {
      const message = `OAuth2 token endpoint answered ${response.status}`;
      if (response.status >= 500 || response.status === 429) {
        throw new TransientHttpError(message, {
          ...details(response.status, text),
          maybeProcessed: false,
          retryAfterMs: null,
        });
      }
      throw new PermanentHttpError(message, details(response.status, text));
    }

    let parsed: z.infer<typeof TokenResponse>;
    try {
      parsed = TokenResponse.parse(JSON.parse(text));
    } catch (error) {
      // The body holds a token when it is valid JSON, so never keep it on the error.
      throw new InvalidResponseError(
        "OAuth2 token response is not a valid token",
        details(response.status, null, error),
      );
    }
    if (parsed.refresh_token !== undefined && refreshToken !== undefined) refreshToken = parsed.refresh_token;
    const lifetimeMs = (parsed.expires_in ?? assumedLifetimeSeconds) * 1000;
    // A token shorter-lived than twice the skew would otherwise never be reused.
    const reuseMs = Math.max(lifetimeMs - skewMs, lifetimeMs / 2);
    cached = { token: parsed.access_token, expiresAtMs: now().getTime() + reuseMs };
    return parsed.access_token;
  }

  return {
    async getAccessToken() {
      if (cached !== null && now().getTime() < cached.expiresAtMs) return cached.token;
      inFlight ??= requestToken().finally(() => {
        inFlight = null;
      });
      return inFlight;
    },
    invalidate(rejectedToken) {
      if (cached?.token === rejectedToken) cached = null;
    },
  };
}
