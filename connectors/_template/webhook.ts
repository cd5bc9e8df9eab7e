import { z } from "@hono/zod-openapi";
import {
  type InboundNotice,
  parseJsonWebhook,
  type VerifyResult,
  verifyBearerOrPathSecret,
  type WebhookInput,
} from "../sdk/index.js";
import type { TemplateSettings } from "./config.js";
import { toUtcIso } from "./mapping.js";

// EXAMPLE: the made-up vendor posts `{record_id, event_id?, event?, updated_at?}` with
// `Authorization: Bearer <webhookSecret>`, or to `/webhooks/<connectionId>/<webhookSecret>` when the admin
// cannot add headers. TODO: the vendor's doc URL, how it authenticates, and its body.
//
// TODO: if the vendor signs its webhooks, verify the signature instead of a shared secret, on the raw bytes:
//   verifyHmacSignature({ secret: settings.webhookSecret, rawBody: input.rawBody,
//     signature: input.headers.get("x-vendor-signature"), encoding: "hex", algorithm: "sha256",
//     prefix: "sha256=", timestamp: input.headers.get("x-vendor-timestamp"), toleranceSeconds: 300, now })
// and keep the replay window: a signed timestamp within `toleranceSeconds` of `now`.

/** One notification. Not strict: vendors add fields. Identifiers only; the engine re-reads the record. */
const Notification = z.object({
  record_id: z.string().min(1),
  /** Unique per change and stable across the vendor's redeliveries: the inbox de-duplicates on it. */
  event_id: z.string().min(1).optional(),
  event: z.enum(["created", "updated", "deleted"]).optional(),
  updated_at: z.iso.datetime({ offset: true }).optional(),
});
const NotificationBody = z.union([Notification, z.array(Notification).min(1).max(1_000)]);

const operations = { created: "insert", updated: "update", deleted: "delete" } as const;

/**
 * Accepts `Authorization: Bearer <webhookSecret>`, or the secret as a URL path segment for vendors that
 * cannot send headers; both compared in constant time. Never throws.
 */
export function verifyTemplateWebhook(
  input: WebhookInput,
  settings: TemplateSettings,
  _now: Date,
): VerifyResult {
  return verifyBearerOrPathSecret(input, settings.webhookSecret);
}

/** Parses a verified body into notices. @throws {WebhookPayloadError} when it is not the documented shape. */
export function parseTemplateWebhook(rawBody: Uint8Array, _headers: Headers): InboundNotice[] {
  const body = parseJsonWebhook(
    rawBody,
    NotificationBody,
    "webhook body",
    "{record_id, event_id?, event?, updated_at?}",
  );
  const notifications = Array.isArray(body) ? body : [body];
  return notifications.map((notification) => {
    const notice: InboundNotice = { externalId: notification.record_id };
    if (notification.event_id !== undefined) notice.deliveryId = notification.event_id;
    if (notification.updated_at !== undefined) notice.occurredAt = toUtcIso(notification.updated_at);
    if (notification.event !== undefined) notice.operation = operations[notification.event];
    return notice;
  });
}
