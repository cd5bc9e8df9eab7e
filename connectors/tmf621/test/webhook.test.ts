import { describe, expect, it } from "vitest";
import { WebhookPayloadError } from "../../sdk/index.js";
import { troubleTicketEventNames } from "../api-types.js";
import { Tmf621Settings } from "../config.js";
import { tmf621 } from "../index.js";
import { type FixtureName, fixture, fixtureBytes } from "./fixtures/index.js";

const webhookSecret = "tmf-path-secret-0123456789abcdef";
const settings = Tmf621Settings.parse({
  baseUrl: "https://carrier.example/tmf-api/troubleTicket/v5",
  auth: { type: "bearer", token: "carrier-token" },
  version: "v5",
  webhookSecret,
});
const headers = new Headers({ "content-type": "application/json" });
const now = new Date("2026-01-05T10:00:00Z");
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("verifyWebhook (secret in the callback path)", () => {
  const rawBody = fixtureBytes("v5-event-troubleTicketStatusChangeEvent");
  const subPath = "listener/troubleTicketStatusChangeEvent";

  it("accepts the connection's secret", () => {
    expect(
      tmf621.verifyWebhook({ headers, rawBody, pathSecret: webhookSecret, subPath }, settings, now),
    ).toEqual({
      ok: true,
    });
  });

  it.each([
    ["a wrong secret", "tmf-path-secret-0123456789abcdeX", "secret does not match"],
    ["a prefix of the secret", webhookSecret.slice(0, 16), "secret does not match"],
    ["an empty secret", "", "no secret presented"],
    ["no secret", undefined, "no secret presented"],
  ])("rejects %s", (_name, pathSecret, reason) => {
    const input =
      pathSecret === undefined ? { headers, rawBody, subPath } : { headers, rawBody, pathSecret, subPath };
    expect(tmf621.verifyWebhook(input, settings, now)).toEqual({ ok: false, reason });
  });

  it("rejects everything when the connection has no webhook secret", () => {
    const { webhookSecret: _secret, ...withoutSecret } = settings;
    const verdict = tmf621.verifyWebhook(
      { headers, rawBody, pathSecret: webhookSecret, subPath },
      withoutSecret,
      now,
    );
    expect(verdict).toEqual({ ok: false, reason: "events are off: no webhookSecret is configured" });
  });
});

describe("parseWebhook", () => {
  const official: [FixtureName, string, "insert" | "update"][] = [
    ["v5-event-troubleTicketCreateEvent", "troubleTicketCreateEvent", "insert"],
    ["v5-event-troubleTicketAttributeValueChangeEvent", "troubleTicketAttributeValueChangeEvent", "update"],
    ["v5-event-troubleTicketStatusChangeEvent", "troubleTicketStatusChangeEvent", "update"],
    ["v5-event-troubleTicketResolvedEvent", "troubleTicketResolvedEvent", "update"],
    ["v5-event-troubleTicketInformationRequiredEvent", "troubleTicketInformationRequiredEvent", "update"],
    ["v4-event-troubleTicketStatusChangeEvent", "troubleTicketStatusChangeEvent", "update"],
  ];

  it.each(official)("%s -> the ticket id, eventId and eventTime", (name, eventName, operation) => {
    const body = fixture<{ eventId: string; eventTime: string }>(name);
    const notices = tmf621.parseWebhook(fixtureBytes(name), headers, `listener/${eventName}`);
    expect(notices).toEqual([
      { externalId: "3180", deliveryId: body.eventId, occurredAt: body.eventTime, operation },
    ]);
  });

  it("accepts a partial ticket: only its id is needed, the engine reads the rest", () => {
    const body = {
      eventId: "e-1",
      eventTime: "2026-01-05T11:00:00+01:00",
      eventType: "TroubleTicketStatusChangeEvent",
      event: { troubleTicket: { id: "77" } },
    };
    expect(tmf621.parseWebhook(encode(body), headers, "/listener/troubleTicketStatusChangeEvent")).toEqual([
      { externalId: "77", deliveryId: "e-1", occurredAt: "2026-01-05T10:00:00.000Z", operation: "update" },
    ]);
  });

  it("gives no delivery id when the carrier sends no eventId (two changes in one second look alike)", () => {
    const body = { eventTime: "2026-01-05T10:00:00Z", event: { troubleTicket: { id: "77" } } };
    expect(tmf621.parseWebhook(encode(body), headers, "listener/troubleTicketDeleteEvent")).toEqual([
      {
        externalId: "77",
        occurredAt: "2026-01-05T10:00:00.000Z",
        operation: "delete",
      },
    ]);
  });

  it("accepts every trouble ticket event name of the spec", () => {
    const body = encode({ eventId: "e", event: { troubleTicket: { id: "1" } } });
    for (const name of troubleTicketEventNames) {
      expect(tmf621.parseWebhook(body, headers, `listener/${name}`), name).toHaveLength(1);
    }
  });

  it("ignores v5 specification events, which name no ticket", () => {
    const body = encode({ eventId: "e", event: { troubleTicketSpecification: { id: "1" } } });
    expect(tmf621.parseWebhook(body, headers, "listener/troubleTicketSpecificationCreateEvent")).toEqual([]);
  });

  it.each([
    ["an unknown event name", "listener/troubleTicketExplodedEvent"],
    ["the event type's spelling instead of the listener path's", "listener/TroubleTicketStatusChangeEvent"],
    ["no listener segment", "troubleTicketStatusChangeEvent"],
    ["an empty sub-path", ""],
    ["a path escaping the listener", "listener/../hub"],
  ])("rejects %s", (_name, subPath) => {
    const body = fixtureBytes("v5-event-troubleTicketStatusChangeEvent");
    expect(() => tmf621.parseWebhook(body, headers, subPath)).toThrow(WebhookPayloadError);
  });

  it.each([
    ["not JSON", new TextEncoder().encode("{eventId: 1")],
    ["not UTF-8", new Uint8Array([0xff, 0xfe, 0x7b, 0x7d])],
    ["no event", encode({ eventId: "e", eventType: "TroubleTicketStatusChangeEvent" })],
    ["no ticket id", encode({ eventId: "e", event: { troubleTicket: { status: "resolved" } } })],
    ["an empty ticket id", encode({ event: { troubleTicket: { id: "" } } })],
    ["a JSON array", encode([{ event: { troubleTicket: { id: "1" } } }])],
  ])("rejects a malformed body: %s", (_name, rawBody) => {
    let thrown: unknown;
    try {
      tmf621.parseWebhook(rawBody, headers, "listener/troubleTicketStatusChangeEvent");
    } catch (error) {
      thrown = error;
    }
    expect(thrown, new TextDecoder().decode(rawBody)).toBeInstanceOf(WebhookPayloadError);
  });
});
