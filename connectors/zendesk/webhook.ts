import { z } from "@hono/zod-openapi";
import {
  type InboundNotice,
  readJsonWebhookBody,
  type VerifyResult,
  verifyHmacSignature,
  type WebhookInput,
  WebhookPayloadError,
} from "../sdk/index.js";
import type { ZendeskSettings } from "./config.js";
import { toUtcSeconds } from "./mapping.js";

// Zendesk signs every webhook request: base64(HMAC-SHA256(signing secret, timestamp + raw body)).
// https://developer.zendesk.com/documentation/webhooks/verifying/
export const signatureHeader = "x-zendesk-webhook-signature";
export const signatureTimestampHeader = "x-zendesk-webhook-signature-timestamp";
/** Per delivery; the only delivery id a trigger-based webhook has. */
export const invocationIdHeader = "x-zendesk-webhook-invocation-id";

/** A {@link InboundNotice} that also names who made the change, for echo suppression. */
export interface ZendeskInboundNotice extends InboundNotice {
  /**
   * The Zendesk user id of the actor (event `detail.actor_id`, or the trigger body's
   * `actor_id`); equal to `integrationUserOf(settings)` for our own writes.
   */
  actorId?: string;
}

const numericId = z.union([z.number().int().positive(), z.string().regex(/^\d+$/)]).transform(String);
/** A placeholder Zendesk rendered empty ("") is treated as absent. */
const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === "" ? undefined : value.trim()));
/** `{{ticket.updated_at_with_timestamp}}` renders ISO-8601 UTC, sometimes without seconds. */
const isoInstant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const instantText = optionalText.refine(
  (value) => value === undefined || (isoInstant.test(value) && !Number.isNaN(Date.parse(value))),
  "not an ISO-8601 instant",
);

/**
 * The body of a ticket event subscription (`zen:event-type:ticket.*`):
 * https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/
 * Only the envelope and the ids are read; the engine re-reads the ticket.
 */
const TicketEventBody = z.object({
  type: z.string().startsWith("zen:event-type:ticket."),
  id: z.string().min(1),
  time: instantText,
  subject: z.string().regex(/^zen:ticket:\d+$/),
  detail: z.object({ id: numericId.optional(), actor_id: numericId.optional().catch(undefined) }).optional(),
});

/**
 * The JSON body of our trigger's "Notify webhook" action (docs/connectors/zendesk.md):
 * `{"ticket_id": "{{ticket.id}}", "updated_at": "{{ticket.updated_at_with_timestamp}}",
 *   "external_id": "{{ticket.external_id}}", "actor_id": "{{current_user.id}}"}`.
 */
const TriggerBody = z.object({
  ticket_id: numericId,
  updated_at: instantText,
  external_id: optionalText,
  actor_id: z.union([numericId, z.literal("")]).optional(),
});

/** Verifies `X-Zendesk-Webhook-Signature` over the raw bytes, within `webhookToleranceSeconds` of now. */
export function verifyZendeskWebhook(
  input: WebhookInput,
  settings: ZendeskSettings,
  now: Date,
): VerifyResult {
  if (settings.webhookSecret === undefined) {
    return { ok: false, reason: "webhooks are off: no webhookSecret is configured" };
  }
  return verifyHmacSignature({
    secret: settings.webhookSecret,
    rawBody: input.rawBody,
    signature: input.headers.get(signatureHeader),
    encoding: "base64",
    algorithm: "sha256",
    timestamp: input.headers.get(signatureTimestampHeader),
    timestampSeparator: "",
    toleranceSeconds: settings.webhookToleranceSeconds,
    now,
  });
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.join(".") || "(root)"} ${issue?.message ?? ""}`.trim();
}

/** Parses an event-subscription body or our trigger body into one notice. */
export function parseZendeskWebhook(rawBody: Uint8Array, headers: Headers): ZendeskInboundNotice[] {
  const json = readJsonWebhookBody(rawBody, "Zendesk webhook body");
  const isEvent = typeof json === "object" && json !== null && "type" in json;

  if (isEvent) {
    const parsed = TicketEventBody.safeParse(json);
    if (!parsed.success) {
      throw new WebhookPayloadError(
        `Zendesk webhook body is not a ticket event: ${describeIssue(parsed.error)}`,
        { cause: parsed.error },
      );
    }
    const event = parsed.data;
    const notice: ZendeskInboundNotice = {
      externalId: event.subject.slice("zen:ticket:".length),
      // The event id is unique per change and stays the same when Zendesk retries the delivery.
      deliveryId: event.id,
    };
    if (event.time !== undefined) notice.occurredAt = toUtcSeconds(event.time);
    const action = event.type.slice("zen:event-type:ticket.".length);
    if (action === "created") notice.operation = "insert";
    else if (action === "soft_deleted" || action === "permanently_deleted") notice.operation = "delete";
    else notice.operation = "update";
    if (event.detail?.actor_id !== undefined) notice.actorId = event.detail.actor_id;
    return [notice];
  }

  const parsed = TriggerBody.safeParse(json);
  if (!parsed.success) {
    throw new WebhookPayloadError(
      `Zendesk webhook body is neither a ticket event nor {ticket_id, updated_at?, external_id?, actor_id?}: ${describeIssue(parsed.error)}`,
      { cause: parsed.error },
    );
  }
  const trigger = parsed.data;
  const notice: ZendeskInboundNotice = { externalId: trigger.ticket_id, operation: "update" };
  if (trigger.updated_at !== undefined) notice.occurredAt = toUtcSeconds(trigger.updated_at);
  // Triggers have no event id. ticket + updated_at is no substitute: the placeholder may be
  // minute-precise, and two changes in one minute must not be de-duplicated into one.
  const invocationId = headers.get(invocationIdHeader)?.trim();
  if (invocationId) notice.deliveryId = invocationId;
  if (trigger.actor_id !== undefined && trigger.actor_id !== "") notice.actorId = trigger.actor_id;
  return [notice];
}

/** True when the notice reports a change made by the integration user: our own write coming back. */
export function isOwnChange(notice: ZendeskInboundNotice, settings: ZendeskSettings): boolean {
  return notice.actorId === String(settings.integrationUserId);
}
