import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { bearerToken, type HmacSignatureInput, verifyHmacSignature, verifySharedSecret } from "../index.js";

const secret = "it-is-a-secret-to-everybody";
const rawBody = new TextEncoder().encode('{"issue": {"key": "SUP-1"},  "note": "spacing kept"}');
const now = new Date("2024-05-01T10:00:00Z");

const sign = (payload: string | Uint8Array, encoding: "hex" | "base64") =>
  createHmac("sha256", secret).update(payload).digest(encoding);

function verify(overrides: Partial<HmacSignatureInput>) {
  return verifyHmacSignature({
    secret,
    rawBody,
    signature: sign(rawBody, "hex"),
    encoding: "hex",
    algorithm: "sha256",
    now,
    ...overrides,
  });
}

describe("verifyHmacSignature", () => {
  it("accepts a hex signature over the raw bytes", () => {
    expect(verify({})).toEqual({ ok: true });
  });

  it("accepts a prefixed signature (X-Hub-Signature style)", () => {
    expect(verify({ signature: `sha256=${sign(rawBody, "hex")}`, prefix: "sha256=" })).toEqual({ ok: true });
  });

  it("accepts a base64 signature over timestamp + body (Zendesk style)", () => {
    const timestamp = "2024-05-01T09:58:00Z";
    const signature = sign(Buffer.concat([Buffer.from(timestamp), rawBody]), "base64");
    expect(verify({ signature, encoding: "base64", timestamp })).toEqual({ ok: true });
  });

  it("accepts unix-seconds timestamps joined with a separator (Stripe style)", () => {
    const timestamp = String(now.getTime() / 1000 - 10);
    const signature = sign(Buffer.concat([Buffer.from(`${timestamp}.`), rawBody]), "hex");
    expect(verify({ signature, timestamp, timestampSeparator: "." })).toEqual({ ok: true });
  });

  it.each([
    [
      "a body re-serialised from the same JSON",
      { rawBody: new TextEncoder().encode(JSON.stringify(JSON.parse(new TextDecoder().decode(rawBody)))) },
      "signature does not match",
    ],
    [
      "a tampered body",
      { rawBody: new TextEncoder().encode('{"issue": {"key": "SUP-2"}}') },
      "signature does not match",
    ],
    ["another secret", { secret: "guess" }, "signature does not match"],
    [
      "a truncated signature",
      { signature: sign(rawBody, "hex").slice(0, 32) },
      "signature has the wrong length",
    ],
    ["a non-hex signature", { signature: "zz".repeat(32) }, "signature is not valid hex"],
    ["invalid base64", { signature: "%%%", encoding: "base64" as const }, "signature is not valid base64"],
    ["a missing prefix", { prefix: "sha256=" }, 'signature lacks the "sha256=" prefix'],
    ["a missing header", { signature: null }, "signature header missing"],
    ["an empty header", { signature: "  " }, "signature header missing"],
  ])("rejects %s", (_case, overrides, reason) => {
    expect(verify(overrides)).toEqual({ ok: false, reason });
  });

  it.each([
    ["stale", "2024-05-01T09:54:59Z"],
    ["from the future", "2024-05-01T10:05:01Z"],
  ])("rejects a %s timestamp even with a valid signature", (_case, timestamp) => {
    const signature = sign(Buffer.concat([Buffer.from(timestamp), rawBody]), "hex");
    expect(verify({ signature, timestamp })).toEqual({
      ok: false,
      reason: "signature timestamp is outside the allowed window",
    });
  });

  it("rejects a missing or unreadable timestamp when one is expected", () => {
    expect(verify({ timestamp: null })).toEqual({ ok: false, reason: "signature timestamp header missing" });
    expect(verify({ timestamp: "yesterday" })).toEqual({
      ok: false,
      reason: "signature timestamp is unreadable",
    });
  });
});

describe("verifySharedSecret", () => {
  it.each([
    ["the same secret", secret, { ok: true }],
    [
      "another secret of the same length",
      `${secret.slice(0, -1)}X`,
      { ok: false, reason: "secret does not match" },
    ],
    ["a prefix of the secret", secret.slice(0, 5), { ok: false, reason: "secret does not match" }],
    ["a longer value", `${secret}-and-more`, { ok: false, reason: "secret does not match" }],
    ["nothing", null, { ok: false, reason: "no secret presented" }],
    ["an empty string", "", { ok: false, reason: "no secret presented" }],
  ])("with %s", (_case, presented, expected) => {
    expect(verifySharedSecret(secret, presented)).toEqual(expected);
  });

  it("refuses when nothing is configured", () => {
    expect(verifySharedSecret("", "")).toEqual({ ok: false, reason: "no secret is configured" });
  });
});

describe("bearerToken", () => {
  it.each([
    ["Bearer abc", "abc"],
    ["bearer   abc ", "abc"],
    ["Basic abc", null],
    ["Bearer a b", null],
  ])("reads %j as %j", (authorization, expected) => {
    expect(bearerToken(new Headers({ authorization }))).toBe(expected);
  });

  it("is null without the header", () => {
    expect(bearerToken(new Headers())).toBeNull();
  });
});
