import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** Outcome of a webhook check. Verification never throws; a bad request is `{ok: false}`. */
export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** Input of {@link verifyHmacSignature}. */
export interface HmacSignatureInput {
  secret: string | Uint8Array;
  /** The request body exactly as received. Never a re-serialised JSON value. */
  rawBody: Uint8Array;
  /** The signature header value as presented, or null/undefined when the header is missing. */
  signature: string | null | undefined;
  encoding: "hex" | "base64";
  algorithm: "sha256";
  /** Stripped from the presented signature when present, e.g. `sha256=`. */
  prefix?: string;
  /**
   * The vendor's signed timestamp header, when it signs one. The signed bytes are then
   * `timestamp + timestampSeparator + rawBody`, and the timestamp must lie within
   * `toleranceSeconds` of `now`. Unix seconds, unix milliseconds and ISO-8601 are accepted.
   */
  timestamp?: string | null;
  /** Between the timestamp and the body in the signed bytes. Default `""` (Zendesk); Stripe uses `"."`. */
  timestampSeparator?: string;
  /** Allowed clock distance for `timestamp`. Default 300. */
  toleranceSeconds?: number;
  now: Date;
}

/**
 * Verifies an HMAC signature over the raw request bytes: recompute with node:crypto,
 * compare lengths, then compare in constant time with `timingSafeEqual`.
 */
export function verifyHmacSignature(input: HmacSignatureInput): VerifyResult {
  if (input.signature === null || input.signature === undefined || input.signature.trim() === "") {
    return { ok: false, reason: "signature header missing" };
  }
  let presentedText = input.signature.trim();
  if (input.prefix !== undefined) {
    if (!presentedText.startsWith(input.prefix))
      return { ok: false, reason: `signature lacks the "${input.prefix}" prefix` };
    presentedText = presentedText.slice(input.prefix.length);
  }
  const presented = decodeSignature(presentedText, input.encoding);
  if (presented === null) return { ok: false, reason: `signature is not valid ${input.encoding}` };

  const hmac = createHmac(input.algorithm, input.secret);
  if (input.timestamp !== undefined) {
    if (input.timestamp === null || input.timestamp.trim() === "") {
      return { ok: false, reason: "signature timestamp header missing" };
    }
    const signedAtMs = parseTimestamp(input.timestamp.trim());
    if (signedAtMs === null) return { ok: false, reason: "signature timestamp is unreadable" };
    const toleranceMs = (input.toleranceSeconds ?? 300) * 1000;
    if (Math.abs(input.now.getTime() - signedAtMs) > toleranceMs) {
      return { ok: false, reason: "signature timestamp is outside the allowed window" };
    }
    hmac.update(input.timestamp.trim() + (input.timestampSeparator ?? ""), "utf8");
  }
  hmac.update(input.rawBody);
  const expected = hmac.digest();

  if (presented.length !== expected.length) return { ok: false, reason: "signature has the wrong length" };
  return timingSafeEqual(presented, expected)
    ? { ok: true }
    : { ok: false, reason: "signature does not match" };
}

/**
 * Compares a presented shared secret (bearer token, path secret) with the expected one in
 * constant time. Both are hashed with SHA-256 first so the comparison neither fails on
 * nor leaks a length difference.
 */
export function verifySharedSecret(expected: string, presented: string | null | undefined): VerifyResult {
  if (expected === "") return { ok: false, reason: "no secret is configured" };
  if (presented === null || presented === undefined || presented === "") {
    return { ok: false, reason: "no secret presented" };
  }
  const expectedDigest = createHash("sha256").update(expected, "utf8").digest();
  const presentedDigest = createHash("sha256").update(presented, "utf8").digest();
  return timingSafeEqual(expectedDigest, presentedDigest)
    ? { ok: true }
    : { ok: false, reason: "secret does not match" };
}

/**
 * Reads `Authorization: Bearer <token>` (scheme case-insensitive). Returns null when the
 * header is missing or uses another scheme.
 */
export function bearerToken(headers: Headers): string | null {
  const value = headers.get("authorization");
  const match = value === null ? null : /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1] ?? null;
}

/**
 * The header-secret check of vendors that cannot sign: `Authorization: Bearer <webhookSecret>`, or the secret as
 * a webhook URL path segment for setups that cannot add headers; compared in constant time. Refuses everything
 * when no secret is configured. A shared secret does not cover the body: the engine re-reads the record.
 */
export function verifyBearerOrPathSecret(
  input: { headers: Headers; pathSecret?: string },
  webhookSecret: string | undefined,
): VerifyResult {
  if (webhookSecret === undefined)
    return { ok: false, reason: "webhooks are off: no webhookSecret is configured" };
  const presented = bearerToken(input.headers);
  if (presented !== null) return verifySharedSecret(webhookSecret, presented);
  if (input.pathSecret !== undefined) return verifySharedSecret(webhookSecret, input.pathSecret);
  return {
    ok: false,
    reason: input.headers.has("authorization")
      ? "Authorization header is not a Bearer token"
      : "Authorization header missing",
  };
}

function decodeSignature(text: string, encoding: "hex" | "base64"): Buffer | null {
  if (encoding === "hex") {
    return /^(?:[0-9a-fA-F]{2})+$/.test(text) ? Buffer.from(text, "hex") : null;
  }
  // Buffer.from(…, "base64") skips invalid characters instead of failing, so check first.
  return /^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.length % 4 === 0 ? Buffer.from(text, "base64") : null;
}

function parseTimestamp(value: string): number | null {
  if (/^\d+$/.test(value)) {
    const number = Number(value);
    // Ten digits are seconds until the year 2286; thirteen are milliseconds.
    return value.length >= 13 ? number : number * 1000;
  }
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : parsed;
}
