import { describe, expect, it } from "vitest";
import { WebhookPayloadError } from "../../sdk/index.js";
import { troubleTicketEventTypes } from "../api-types.js";
import { MefSonataSettings } from "../config.js";
import { listenerEventType, parseMefSonataWebhook, verifyMefSonataWebhook } from "../webhook.js";
import { contractErrors, notification } from "./contract.js";
import { fixture, fixtureTicketId } from "./fixtures/index.js";

const webhookSecret = "whsec-7d3e8f604f9a1c2b";
const settings = MefSonataSettings.parse({
  baseUrl: "https://seller.example/mefApi/sonata/troubleTicket/v4",
  auth: { type: "bearer", token: "buyer-token" },
  webhookSecret,
  reporterContact: { emailAddress: "noc@provider.example", number: "+44 20 7946 0000" },
});
const now = new Date("2024-05-01T10:00:00Z");
const encode = (value: unknown) =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
const resolvedEvent = fixture("event-troubleTicketResolvedEvent");
const resolvedPath = "mefApi/sonata/troubleTicketNotification/v4/listener/troubleTicketResolvedEvent";

describe("verifyMefSonataWebhook (secret in the callback path)", () => {
  const verify = (pathSecret: string | undefined, configured = settings) =>
    verifyMefSonataWebhook(
      { headers: new Headers(), rawBody: encode(resolvedEvent), pathSecret, subPath: resolvedPath },
      configured,
      now,
    );

  it("accepts the connection's secret", () => {
    expect(verify(webhookSecret)).toEqual({ ok: true });
  });

  it.each([
    ["a wrong secret", `${webhookSecret}x`, "secret does not match"],
    ["a prefix of the secret", webhookSecret.slice(0, 8), "secret does not match"],
    ["an empty segment", "", "no secret presented"],
    ["no segment", undefined, "no secret presented"],
  ])("rejects %s", (_case, pathSecret, reason) => {
    expect(verify(pathSecret)).toEqual({ ok: false, reason });
  });

  it("rejects everything when no secret is configured", () => {
    const { webhookSecret: _unset, ...withoutSecret } = settings;
    expect(verify(webhookSecret, withoutSecret)).toEqual({
      ok: false,
      reason: "notifications are off: no webhookSecret is configured",
    });
  });
});

describe("parseMefSonataWebhook", () => {
  it("the developer guide's event is what the notification spec accepts", () => {
    const result = notification.validateRequest({
      method: "POST",
      path: "/listener/troubleTicketResolvedEvent",
      body: resolvedEvent,
    });
    expect(result, contractErrors(result)).toEqual({ ok: true });
  });

  it("reads the ticket id, event id and time (the body carries nothing else)", () => {
    expect(parseMefSonataWebhook(encode(resolvedEvent), new Headers(), resolvedPath)).toEqual([
      {
        externalId: fixtureTicketId,
        deliveryId: "event-001",
        occurredAt: "2021-06-03T15:56:08.559Z",
        operation: "update",
      },
    ]);
  });

  it.each(troubleTicketEventTypes)(
    "accepts the %s listener path, with or without the base path",
    (eventType) => {
      const body = encode({ ...resolvedEvent, eventType });
      for (const subPath of [
        `mefApi/sonata/troubleTicketNotification/v4/listener/${eventType}`,
        `listener/${eventType}`,
        `/listener/${eventType}/`,
      ]) {
        expect(parseMefSonataWebhook(body, new Headers(), subPath), subPath).toHaveLength(1);
      }
    },
  );

  it("acknowledges incident events without a notice: delegations track tickets only", () => {
    const body = encode({ ...resolvedEvent, eventType: "incidentStatusChangeEvent" });
    expect(parseMefSonataWebhook(body, new Headers(), "listener/incidentStatusChangeEvent")).toEqual([]);
  });

  it.each([
    ["a TMF event name", "listener/TroubleTicketResolvedEvent"],
    ["an event the spec does not define", "listener/troubleTicketCreateEvent"],
    ["another API version", "mefApi/sonata/troubleTicketNotification/v2/listener/troubleTicketResolvedEvent"],
    ["no listener segment", "troubleTicketResolvedEvent"],
    ["an empty path", ""],
  ])("rejects %s as the listener path", (_case, subPath) => {
    expect(() => parseMefSonataWebhook(encode(resolvedEvent), new Headers(), subPath)).toThrow(
      WebhookPayloadError,
    );
  });

  it.each([
    ["not JSON", "eventId=1"],
    ["not UTF-8", new Uint8Array([0xff, 0xfe, 0x00])],
    ["no event id", { ...resolvedEvent, eventId: undefined }],
    ["no ticket id", { ...resolvedEvent, event: {} }],
    ["an eventTime that is not a date-time", { ...resolvedEvent, eventTime: "yesterday" }],
  ])("rejects a body with %s", (_case, body) => {
    const raw = body instanceof Uint8Array ? body : encode(body);
    expect(() => parseMefSonataWebhook(raw, new Headers(), resolvedPath)).toThrow(WebhookPayloadError);
  });

  it("rejects an event whose eventType differs from its listener path", () => {
    const body = encode({ ...resolvedEvent, eventType: "troubleTicketStatusChangeEvent" });
    expect(() => parseMefSonataWebhook(body, new Headers(), resolvedPath)).toThrow(
      /arrived at the troubleTicketResolvedEvent/,
    );
  });

  it("names the listener path's event type", () => {
    expect(listenerEventType(resolvedPath)).toBe("troubleTicketResolvedEvent");
  });
});
