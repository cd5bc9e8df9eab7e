import { describe, expect, it } from "vitest";
import { WebhookPayloadError } from "../../sdk/index.js";
import { TemplateSettings } from "../config.js";
import { parseTemplateWebhook, verifyTemplateWebhook } from "../webhook.js";

// TODO: the vendor's own authentication. Tests sign or authenticate their own payloads; for an HMAC vendor,
// add cases for a tampered body, a wrong key, a stale and a future timestamp, and a missing header.

const webhookSecret = "whsec-4f9a1c2b7d3e8f60";
const settings = TemplateSettings.parse({
  baseUrl: "https://acme.vendor.example",
  auth: { type: "basic", username: "svc.ticketsync", password: "secret-password" },
  webhookSecret,
});
const now = new Date("2024-05-01T10:00:00Z");
const encode = (value: unknown) =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
const body = encode({
  record_id: "7f3c2a91d4e05b68",
  event_id: "7f3c2a91d4e05b68:5",
  event: "updated",
  updated_at: "2024-05-01T11:59:58+02:00",
});

describe("verifyTemplateWebhook", () => {
  it("accepts the configured bearer secret", () => {
    const headers = new Headers({ authorization: `Bearer ${webhookSecret}` });
    expect(verifyTemplateWebhook({ headers, rawBody: body }, settings, now)).toEqual({ ok: true });
  });

  it.each([
    ["a wrong secret", `Bearer ${webhookSecret}x`, "secret does not match"],
    ["a prefix of the secret", `Bearer ${webhookSecret.slice(0, 8)}`, "secret does not match"],
    [
      "another scheme",
      `Basic ${Buffer.from(`svc:${webhookSecret}`).toString("base64")}`,
      "Authorization header is not a Bearer token",
    ],
  ])("rejects %s", (_case, authorization, reason) => {
    const result = verifyTemplateWebhook(
      { headers: new Headers({ authorization }), rawBody: body },
      settings,
      now,
    );
    expect(result).toEqual({ ok: false, reason });
  });

  it("rejects a request without credentials", () => {
    expect(verifyTemplateWebhook({ headers: new Headers(), rawBody: body }, settings, now)).toEqual({
      ok: false,
      reason: "Authorization header missing",
    });
  });

  it("accepts the secret as a URL path segment, and checks it", () => {
    const headers = new Headers();
    expect(
      verifyTemplateWebhook({ headers, rawBody: body, pathSecret: webhookSecret }, settings, now),
    ).toEqual({
      ok: true,
    });
    expect(verifyTemplateWebhook({ headers, rawBody: body, pathSecret: "guess" }, settings, now)).toEqual({
      ok: false,
      reason: "secret does not match",
    });
  });

  it("rejects everything when no secret is configured", () => {
    const { webhookSecret: _unset, ...withoutSecret } = settings;
    const headers = new Headers({ authorization: "Bearer anything" });
    expect(verifyTemplateWebhook({ headers, rawBody: body }, withoutSecret, now)).toEqual({
      ok: false,
      reason: "webhooks are off: no webhookSecret is configured",
    });
  });
});

describe("parseTemplateWebhook", () => {
  it("reads a notification into a notice with its delivery id", () => {
    expect(parseTemplateWebhook(body, new Headers())).toEqual([
      {
        externalId: "7f3c2a91d4e05b68",
        deliveryId: "7f3c2a91d4e05b68:5",
        occurredAt: "2024-05-01T09:59:58Z",
        operation: "update",
      },
    ]);
  });

  it("reads an array and the minimal {record_id}", () => {
    expect(
      parseTemplateWebhook(encode([{ record_id: "a" }, { record_id: "b", event: "created" }]), new Headers()),
    ).toEqual([{ externalId: "a" }, { externalId: "b", operation: "insert" }]);
  });

  it.each([
    ["not JSON", "record_id=7f3c2a91d4e05b68"],
    ["truncated JSON", '{"record_id":"7f3c'],
    ["no record_id", { event: "updated" }],
    ["an unknown event", { record_id: "a", event: "merged" }],
    ["a date that is not ISO-8601", { record_id: "a", updated_at: "05/01/2024 10:00" }],
    ["an empty array", []],
  ])("rejects %s with WebhookPayloadError", (_case, payload) => {
    expect(() => parseTemplateWebhook(encode(payload), new Headers())).toThrow(WebhookPayloadError);
  });

  it("rejects bytes that are not UTF-8", () => {
    expect(() => parseTemplateWebhook(new Uint8Array([0x7b, 0xff, 0x7d]), new Headers())).toThrow(
      WebhookPayloadError,
    );
  });
});
