import {
  type InboundNotice,
  parseJsonWebhook,
  type VerifyResult,
  verifySharedSecret,
  type WebhookInput,
  WebhookPayloadError,
} from "../sdk/index.js";
import {
  TmfEventEnvelope,
  type TroubleTicketEventName,
  troubleTicketEventNames,
  troubleTicketSpecificationEventNames,
} from "./api-types.js";
import type { Tmf621Settings } from "./config.js";
import { toUtcIso } from "./mapping.js";

// TMF621 events: the carrier POSTs to `<callback>/listener/<eventName>` for the callback registered with
// `POST /hub` (v4.0.0 and v5.0.1 `/listener/*` paths). The spec defines no signature, so the callback URL
// carries the connection's secret as a path segment: `/webhooks/<connectionId>/<secret>`.
// https://github.com/tmforum-apis/TMF621_TroubleTicket

const operations: Record<TroubleTicketEventName, InboundNotice["operation"]> = {
  troubleTicketCreateEvent: "insert",
  troubleTicketAttributeValueChangeEvent: "update",
  troubleTicketStatusChangeEvent: "update",
  troubleTicketResolvedEvent: "update",
  troubleTicketInformationRequiredEvent: "update",
  troubleTicketDeleteEvent: "delete",
};

const ticketEvents: ReadonlySet<string> = new Set(troubleTicketEventNames);
const specificationEvents: ReadonlySet<string> = new Set(troubleTicketSpecificationEventNames);

function isTicketEvent(name: string): name is TroubleTicketEventName {
  return ticketEvents.has(name);
}

/** Checks the secret the callback URL carries, in constant time. */
export function verifyTmf621Webhook(input: WebhookInput, settings: Tmf621Settings, _now: Date): VerifyResult {
  if (settings.webhookSecret === undefined) {
    return { ok: false, reason: "events are off: no webhookSecret is configured" };
  }
  return verifySharedSecret(settings.webhookSecret, input.pathSecret);
}

/** The event name of a `listener/<eventName>` sub-path, or a payload error for anything the spec does not name. */
export function eventNameOf(subPath: string): string {
  const name = /^\/?listener\/([A-Za-z]+)\/?$/.exec(subPath)?.[1];
  if (name === undefined || !(isTicketEvent(name) || specificationEvents.has(name))) {
    throw new WebhookPayloadError(
      `TMF621 event path ${JSON.stringify(subPath)} is not listener/<eventName> with a TMF621 event name`,
    );
  }
  return name;
}

/**
 * Parses an event into the ticket to re-read. Events may carry a partial ticket (only `id` is needed), so
 * the engine always fetches the whole ticket with `getTicket`.
 */
export function parseTmf621Webhook(rawBody: Uint8Array, _headers: Headers, subPath: string): InboundNotice[] {
  const name = eventNameOf(subPath);
  // Specification events are about the carrier's catalogue, not a ticket of ours.
  if (!isTicketEvent(name)) return [];

  const envelope = parseJsonWebhook(
    rawBody,
    TmfEventEnvelope,
    "TMF621 event body",
    "{eventId?, eventTime?, eventType?, event: {troubleTicket: {id}}}",
  );
  const ticketId = envelope.event.troubleTicket.id;
  const occurredAt = toUtcIso(envelope.eventTime);
  const notice: InboundNotice = { externalId: ticketId };
  // eventId is unique per event. Without one there is no delivery id: ticket + event + time would be the same
  // for two changes within the carrier's (often whole-second) clock, and the second would be dropped.
  if (envelope.eventId !== null && envelope.eventId !== undefined && envelope.eventId !== "") {
    notice.deliveryId = envelope.eventId;
  }
  if (occurredAt !== null) notice.occurredAt = occurredAt;
  notice.operation = operations[name];
  return [notice];
}
