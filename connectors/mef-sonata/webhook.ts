import {
  type InboundNotice,
  parseJsonWebhook,
  type VerifyResult,
  verifySharedSecret,
  type WebhookInput,
  WebhookPayloadError,
} from "../sdk/index.js";
import {
  type EventType,
  incidentEventTypes,
  NotificationEvent,
  troubleTicketEventTypes,
} from "./api-types.js";
import type { MefSonataSettings } from "./config.js";
import { notificationBasePath } from "./config.js";
import { isoUtc } from "./mapping.js";

// MEF 124 notifications (troubleTicketNotification.api v4, §6.10) are unsigned: the spec has no
// security scheme and MEF 128 leaves callbacks to onboarding. The hub callback we register
// therefore carries the connection's unguessable webhookSecret as a path segment, and the seller
// appends `/mefApi/sonata/troubleTicketNotification/v4/listener/<eventType>` to it.

const knownEventTypes: ReadonlySet<string> = new Set<EventType>([
  ...troubleTicketEventTypes,
  ...incidentEventTypes,
]);
const incidentEvents: ReadonlySet<string> = new Set<string>(incidentEventTypes);
const listenerPrefix = `${notificationBasePath.slice(1)}/listener/`;

/** Checks the secret from the callback path in constant time. The body is not signed. */
export function verifyMefSonataWebhook(
  input: WebhookInput,
  settings: MefSonataSettings,
  _now: Date,
): VerifyResult {
  if (settings.webhookSecret === undefined) {
    return { ok: false, reason: "notifications are off: no webhookSecret is configured" };
  }
  return verifySharedSecret(settings.webhookSecret, input.pathSecret);
}

/**
 * The event type a listener path names: `listener/<eventType>`, with or without the notification
 * API's base path in front (the seller appends both to our callback).
 * @throws {WebhookPayloadError} for a path the notification spec does not define.
 */
export function listenerEventType(subPath: string): EventType {
  const path = subPath.replace(/^\/+|\/+$/g, "");
  const rest = path.startsWith(listenerPrefix)
    ? path.slice(listenerPrefix.length)
    : path.startsWith("listener/")
      ? path.slice("listener/".length)
      : null;
  if (rest === null || !knownEventTypes.has(rest)) {
    throw new WebhookPayloadError(
      `not a MEF 124 v4 listener path: ${JSON.stringify(subPath)} (expected ${listenerPrefix}<eventType>)`,
    );
  }
  return rest as EventType;
}

/**
 * A notification carries only the ticket id (MEF 124 §6.10); the engine fetches the ticket.
 * Incident events (seller-raised, read-only) return no notice: delegations track tickets only.
 */
export function parseMefSonataWebhook(
  rawBody: Uint8Array,
  _headers: Headers,
  subPath: string,
): InboundNotice[] {
  const pathEventType = listenerEventType(subPath);
  const event = parseJsonWebhook(
    rawBody,
    NotificationEvent,
    "MEF notification body",
    "{eventId, eventTime, eventType, event: {id}}",
  );
  if (event.eventType !== pathEventType) {
    throw new WebhookPayloadError(
      `MEF notification eventType ${JSON.stringify(event.eventType)} arrived at the ${pathEventType} listener`,
    );
  }
  if (incidentEvents.has(event.eventType)) return [];
  const notice: InboundNotice = {
    externalId: event.event.id,
    deliveryId: event.eventId,
    operation: "update",
  };
  const occurredAt = isoUtc(event.eventTime);
  if (occurredAt !== null) notice.occurredAt = occurredAt;
  return [notice];
}
