import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { WebhookPayloadError } from "../../sdk/index.js";
import { ZendeskSettings } from "../config.js";
import { isOwnChange, parseZendeskWebhook, verifyZendeskWebhook } from "../webhook.js";
import { fixture } from "./fixtures/index.js";

const webhookSecret = "dGhpcyBpcyBhIHNpZ25pbmcgc2VjcmV0";
const settings = ZendeskSettings.parse({
  baseUrl: "https://acme.zendesk.com",
  auth: { type: "basic", username: "sync@acme.example/token", password: "api-token-secret" },
  integrationUserId: 9001,
  webhookSecret,
});
const now = new Date("2024-05-01T10:00:00Z");
const encode = (value: unknown) =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

/** A ticket event subscription body, shaped as on Zendesk's ticket events page. */
const eventBody = {
  type: "zen:event-type:ticket.status_changed",
  account_id: 12514403,
  id: "01HZX3Q7B7N4Y1F1T9M3K8S2RZ",
  time: "2024-05-01T09:59:58.254571515Z",
  zendesk_event_version: "2022-11-06",
  subject: "zen:ticket:35436",
  detail: {
    id: "35436",
    actor_id: "9002",
    status: "OPEN",
    updated_at: "2024-05-01T09:59:58Z",
    via: { channel: "web_form" },
  },
  event: { current: "OPEN", previous: "NEW", meta: { sequence: { id: "b1", position: 1 } } },
};
/** The JSON body our trigger posts (docs/connectors/zendesk.md), as Zendesk renders the placeholders. */
const triggerBody = {
  ticket_id: "35436",
  updated_at: "2024-05-01T09:59Z",
  external_id: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
  actor_id: "9002",
};

function signed(body: Uint8Array, options: { secret?: string; timestamp?: string } = {}): Headers {
  const timestamp = options.timestamp ?? "2024-05-01T09:59:59Z";
  const signature = createHmac("sha256", options.secret ?? webhookSecret)
    .update(timestamp)
    .update(body)
    .digest("base64");
  return new Headers({
    "content-type": "application/json",
    "x-zendesk-webhook-signature": signature,
    "x-zendesk-webhook-signature-timestamp": timestamp,
  });
}

describe.each([
  ["an event subscription body", encode(eventBody)],
  ["a trigger body", encode(triggerBody)],
])("verifyZendeskWebhook with %s", (_kind, rawBody) => {
  it("accepts a valid signature", () => {
    expect(verifyZendeskWebhook({ headers: signed(rawBody), rawBody }, settings, now)).toEqual({ ok: true });
  });

  it("rejects a tampered body", () => {
    const tampered = encode(new TextDecoder().decode(rawBody).replace("35436", "35437"));
    expect(verifyZendeskWebhook({ headers: signed(rawBody), rawBody: tampered }, settings, now)).toEqual({
      ok: false,
      reason: "signature does not match",
    });
  });

  it("rejects a signature made with another secret", () => {
    const headers = signed(rawBody, { secret: "another-signing-secret" });
    expect(verifyZendeskWebhook({ headers, rawBody }, settings, now)).toEqual({
      ok: false,
      reason: "signature does not match",
    });
  });

  it("rejects a replayed delivery whose timestamp is outside the window", () => {
    const headers = signed(rawBody, { timestamp: "2024-05-01T09:54:59Z" });
    expect(verifyZendeskWebhook({ headers, rawBody }, settings, now)).toEqual({
      ok: false,
      reason: "signature timestamp is outside the allowed window",
    });
    const lenient = { ...settings, webhookToleranceSeconds: 600 };
    expect(verifyZendeskWebhook({ headers, rawBody }, lenient, now)).toEqual({ ok: true });
  });

  it("rejects a re-timestamped delivery: the timestamp is signed too", () => {
    const headers = signed(rawBody, { timestamp: "2024-05-01T09:50:00Z" });
    headers.set("x-zendesk-webhook-signature-timestamp", "2024-05-01T09:59:59Z");
    expect(verifyZendeskWebhook({ headers, rawBody }, settings, now).ok).toBe(false);
  });

  it.each([
    ["x-zendesk-webhook-signature", "signature header missing"],
    ["x-zendesk-webhook-signature-timestamp", "signature timestamp header missing"],
  ])("rejects a delivery without %s", (header, reason) => {
    const headers = signed(rawBody);
    headers.delete(header);
    expect(verifyZendeskWebhook({ headers, rawBody }, settings, now)).toEqual({ ok: false, reason });
  });

  it("rejects everything when no secret is configured", () => {
    const { webhookSecret: _unset, ...withoutSecret } = settings;
    expect(verifyZendeskWebhook({ headers: signed(rawBody), rawBody }, withoutSecret, now)).toEqual({
      ok: false,
      reason: "webhooks are off: no webhookSecret is configured",
    });
  });
});

describe("parseZendeskWebhook", () => {
  it("reads a ticket event with its event id, time and actor", () => {
    expect(parseZendeskWebhook(encode(eventBody), new Headers())).toEqual([
      {
        externalId: "35436",
        deliveryId: eventBody.id,
        occurredAt: "2024-05-01T09:59:58Z",
        operation: "update",
        actorId: "9002",
      },
    ]);
  });

  it.each([
    ["created", "insert"],
    ["comment_added", "update"],
    ["soft_deleted", "delete"],
    ["permanently_deleted", "delete"],
  ])("reads ticket.%s as %s", (type, operation) => {
    const [notice] = parseZendeskWebhook(
      encode({ ...eventBody, type: `zen:event-type:ticket.${type}` }),
      new Headers(),
    );
    expect(notice?.operation).toBe(operation);
  });

  it("reads the trigger body, with the invocation id as delivery id", () => {
    const headers = new Headers({ "x-zendesk-webhook-invocation-id": "8350205582" });
    expect(parseZendeskWebhook(encode(triggerBody), headers)).toEqual([
      {
        externalId: "35436",
        deliveryId: "8350205582",
        occurredAt: "2024-05-01T09:59:00Z",
        operation: "update",
        actorId: "9002",
      },
    ]);
  });

  it("reads a minimal trigger body and leaves out what Zendesk rendered empty", () => {
    expect(
      parseZendeskWebhook(encode({ ticket_id: 35436, external_id: "", actor_id: "" }), new Headers()),
    ).toEqual([{ externalId: "35436", operation: "update" }]);
  });

  it.each([
    ["not JSON", "ticket_id=35436"],
    ["a user event", fixture("webhook-event-user.active_changed")],
    ["a ticket event without a ticket subject", { ...eventBody, subject: "zen:user:1" }],
    ["a trigger body without ticket_id", { updated_at: "2024-05-01T09:59Z" }],
    ["a ticket_id that is not a number", { ticket_id: "{{ticket.id}}" }],
    ["an updated_at that is not an instant", { ticket_id: "35436", updated_at: "May 1, 2024 09:59" }],
    ["a JSON array", [triggerBody]],
  ])("rejects %s with WebhookPayloadError", (_case, payload) => {
    expect(() => parseZendeskWebhook(encode(payload), new Headers())).toThrow(WebhookPayloadError);
  });

  it("rejects bytes that are not UTF-8", () => {
    expect(() => parseZendeskWebhook(new Uint8Array([0x7b, 0xff, 0x7d]), new Headers())).toThrow(
      WebhookPayloadError,
    );
  });

  it("tells our own writes from people's by the actor", () => {
    const [ours] = parseZendeskWebhook(encode({ ...triggerBody, actor_id: "9001" }), new Headers());
    const [theirs] = parseZendeskWebhook(encode(triggerBody), new Headers());
    expect(isOwnChange(ours!, settings)).toBe(true);
    expect(isOwnChange(theirs!, settings)).toBe(false);
  });
});
