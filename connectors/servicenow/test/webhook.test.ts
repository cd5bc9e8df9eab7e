import { describe, expect, it } from "vitest";
import { WebhookPayloadError } from "../../sdk/index.js";
import { ServiceNowSettings } from "../config.js";
import { parseServiceNowWebhook, verifyServiceNowWebhook } from "../webhook.js";

const webhookSecret = "whsec-4f9a1c2b7d3e8f60";
const settings = ServiceNowSettings.parse({
  baseUrl: "https://acme.service-now.com",
  auth: { type: "basic", username: "svc.ticketsync", password: "secret-password" },
  webhookSecret,
});
const now = new Date("2024-05-01T10:00:00Z");
const encode = (value: unknown) =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
const body = encode({
  sys_id: "a9e30c7dc61122760116894de7bcc7bd",
  number: "INC0000046",
  sys_updated_on: "2015-11-01 22:37:27",
  sys_mod_count: "4",
  operation: "update",
});

describe("verifyServiceNowWebhook", () => {
  it("accepts the configured bearer secret", () => {
    const headers = new Headers({ authorization: `Bearer ${webhookSecret}` });
    expect(verifyServiceNowWebhook({ headers, rawBody: body }, settings, now)).toEqual({ ok: true });
  });

  it("accepts a lower-case scheme", () => {
    const headers = new Headers({ authorization: `bearer ${webhookSecret}` });
    expect(verifyServiceNowWebhook({ headers, rawBody: body }, settings, now)).toEqual({ ok: true });
  });

  it.each([
    ["a wrong secret", `Bearer ${webhookSecret}x`, "secret does not match"],
    ["a prefix of the secret", `Bearer ${webhookSecret.slice(0, 8)}`, "secret does not match"],
    [
      "Basic auth",
      `Basic ${Buffer.from(`svc:${webhookSecret}`).toString("base64")}`,
      "Authorization header is not a Bearer token",
    ],
  ])("rejects %s", (_case, authorization, reason) => {
    const result = verifyServiceNowWebhook(
      { headers: new Headers({ authorization }), rawBody: body },
      settings,
      now,
    );
    expect(result).toEqual({ ok: false, reason });
  });

  it("rejects a missing Authorization header", () => {
    expect(verifyServiceNowWebhook({ headers: new Headers(), rawBody: body }, settings, now)).toEqual({
      ok: false,
      reason: "Authorization header missing",
    });
  });

  it("accepts the secret from the URL path when no header is sent, and checks it", () => {
    const headers = new Headers();
    expect(
      verifyServiceNowWebhook({ headers, rawBody: body, pathSecret: webhookSecret }, settings, now),
    ).toEqual({ ok: true });
    expect(verifyServiceNowWebhook({ headers, rawBody: body, pathSecret: "guess" }, settings, now).ok).toBe(
      false,
    );
  });

  it("rejects everything when no secret is configured", () => {
    const { webhookSecret: _unset, ...withoutSecret } = settings;
    const headers = new Headers({ authorization: "Bearer anything" });
    const result = verifyServiceNowWebhook({ headers, rawBody: body }, withoutSecret, now);
    expect(result).toEqual({ ok: false, reason: "webhooks are off: no webhookSecret is configured" });
  });
});

describe("parseServiceNowWebhook", () => {
  it("reads the business rule's JSON", () => {
    expect(parseServiceNowWebhook(body, new Headers())).toEqual([
      {
        externalId: "a9e30c7dc61122760116894de7bcc7bd",
        deliveryId: "a9e30c7dc61122760116894de7bcc7bd:4",
        occurredAt: "2015-11-01T22:37:27Z",
        operation: "update",
      },
    ]);
  });

  it("reads an array and the minimal {sys_id}", () => {
    const notices = parseServiceNowWebhook(
      encode([
        { sys_id: "a9e30c7dc61122760116894de7bcc7bd" },
        { sys_id: "c537bae64f411200adf9f8e18110c76e", operation: "insert" },
      ]),
      new Headers(),
    );
    expect(notices).toEqual([
      { externalId: "a9e30c7dc61122760116894de7bcc7bd" },
      { externalId: "c537bae64f411200adf9f8e18110c76e", operation: "insert" },
    ]);
  });

  it("gives a delete its own delivery id so it is not taken for the last update", () => {
    const [notice] = parseServiceNowWebhook(
      encode({ sys_id: "a9e30c7dc61122760116894de7bcc7bd", sys_mod_count: 4, operation: "delete" }),
      new Headers(),
    );
    expect(notice?.deliveryId).toBe("a9e30c7dc61122760116894de7bcc7bd:delete");
  });

  it.each([
    ["not JSON", "sys_id=a9e30c7dc61122760116894de7bcc7bd"],
    ["truncated JSON", '{"sys_id":"a9e30c7dc611'],
    ["no sys_id", { number: "INC0000046" }],
    ["a sys_id that is not 32 hex", { sys_id: "INC0000046" }],
    [
      "a display-value date",
      { sys_id: "a9e30c7dc61122760116894de7bcc7bd", sys_updated_on: "11/01/2015 10:37:27 PM" },
    ],
    ["an unknown operation", { sys_id: "a9e30c7dc61122760116894de7bcc7bd", operation: "merge" }],
    ["an empty array", []],
    ["a JSON string", '"a9e30c7dc61122760116894de7bcc7bd"'],
  ])("rejects %s with WebhookPayloadError", (_case, payload) => {
    expect(() => parseServiceNowWebhook(encode(payload), new Headers())).toThrow(WebhookPayloadError);
  });

  it("rejects bytes that are not UTF-8", () => {
    expect(() => parseServiceNowWebhook(new Uint8Array([0x7b, 0xff, 0x7d]), new Headers())).toThrow(
      WebhookPayloadError,
    );
  });
});
