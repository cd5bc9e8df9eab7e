import nodemailer from "nodemailer";
import { Webhook } from "standardwebhooks";
import {
  HttpError,
  PermanentHttpError,
  parseRetryAfter,
  readTextCapped,
  TransientHttpError,
} from "../../connectors/sdk/index.js";
import type { EventFormat, EventType } from "../../schemas/event.js";
import { isRetryableHttpStatus } from "../jobs/classify.js";
import type { JobContext } from "../jobs/types.js";
import { outboundFetchFor } from "../sync/clients.js";

/** What is sent: the body's `{type, timestamp, data}` and the `webhook-id`. */
export interface FeedEvent {
  id: string;
  type: EventType | "test";
  timestamp: string;
  data: Record<string, unknown>;
}

/** A subscription's decrypted destination and signing secret. */
export interface Destination {
  target: string;
  secret: string;
}

/** What an attempt got back, for the delivery log: the HTTP status, or null (email). */
export type Sender = (ctx: JobContext, destination: Destination, event: FeedEvent) => Promise<number | null>;

const titles: Record<FeedEvent["type"], string> = {
  "sla.at_risk": "SLA at risk",
  "sla.breached": "SLA breached",
  "sla.met": "SLA met",
  "sla.update_due": "Status update due",
  "ticket.created": "Ticket created",
  "ticket.status_changed": "Ticket status changed",
  "comment.created": "Comment added",
  "delegation.status_changed": "Delegation status changed",
  "carrier.ola_breached": "Carrier OLA breached",
  "dead_letter.created": "Job dead-lettered",
  "connection.health_changed": "Connection health changed",
  test: "Test event",
};

/** One line for people (Slack, email subjects): what happened, to which ticket of which tenant. */
export function eventSummary(event: FeedEvent): string {
  const ticket = event.data["ticket"] as { id: string; title: string; priority: string } | null | undefined;
  const tenant = event.data["tenant"] as { name: string } | null | undefined;
  const parts = [titles[event.type]];
  if (ticket) parts.push(`${ticket.priority} ${ticket.id} "${ticket.title}"`);
  if (tenant) parts.push(`(${tenant.name})`);
  const clock = event.data["clock"];
  if (typeof clock === "string") parts.push(`- ${clock} clock`);
  const due = event.data["dueAt"];
  if (typeof due === "string") parts.push(`due ${due}`);
  const to = event.data["to"];
  if (typeof to === "string") parts.push(`-> ${to}`);
  return parts.join(" ");
}

/** The event's scalar fields, one `key: value` line each (nested objects flattened one level). */
function detailLines(event: FeedEvent): string[] {
  return Object.entries(event.data).flatMap(([key, value]) =>
    value !== null && typeof value === "object"
      ? Object.entries(value as Record<string, unknown>).map(([k, v]) => `${key}.${k}: ${String(v)}`)
      : [`${key}: ${String(value)}`],
  );
}

async function post(ctx: JobContext, target: string, body: string, headers: Record<string, string>) {
  const origin = new URL(target).origin;
  const started = performance.now();
  const details = (status: number | null, responseBody: string | null, cause?: unknown) => ({
    method: "POST",
    // Origin only: a path or query may carry the receiver's secret (Slack's does).
    url: origin,
    status,
    attempts: 1,
    latencyMs: Math.round(performance.now() - started),
    responseBody,
    cause,
  });
  let response: Response;
  try {
    response = await outboundFetchFor(ctx.engine)(target, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "ticket-sync-gateway", ...headers },
      body,
      signal: AbortSignal.timeout(ctx.engine.sync.httpTimeoutMs),
    });
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new TransientHttpError(`POST ${origin} failed: ${(error as Error).message}`, {
      ...details(null, null, error),
      maybeProcessed: true,
      retryAfterMs: null,
    });
  }
  const text = await readTextCapped(response, 2_000).catch(() => null);
  if (response.ok) return response.status;
  const message = `POST ${origin} answered ${response.status}`;
  if (!isRetryableHttpStatus(response.status)) {
    throw new PermanentHttpError(message, details(response.status, text));
  }
  throw new TransientHttpError(message, {
    ...details(response.status, text),
    maybeProcessed: response.status !== 429 && response.status !== 503,
    retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), ctx.now()),
  });
}

/** An SMTP refusal: 5xx replies are final, the rest (4xx, connection failures) are retried. */
class SmtpError extends Error {
  readonly retryable: boolean;
  constructor(message: string, responseCode: number | undefined) {
    super(message);
    this.retryable = responseCode === undefined || responseCode < 500;
  }
}

/**
 * One sender per format. `standard` is signed per Standard Webhooks (https://www.standardwebhooks.com/):
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the secret's base64 part.
 */
export const senders: Record<EventFormat, Sender> = {
  standard: async (ctx, destination, event) => {
    const body = JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
    const sentAt = ctx.now();
    return post(ctx, destination.target, body, {
      "webhook-id": event.id,
      "webhook-timestamp": String(Math.floor(sentAt.getTime() / 1000)),
      "webhook-signature": new Webhook(destination.secret).sign(event.id, sentAt, body),
    });
  },
  // https://api.slack.com/messaging/webhooks: the URL is the credential, so the message is not signed.
  slack: async (ctx, destination, event) => {
    const summary = eventSummary(event);
    const body = JSON.stringify({
      text: summary,
      blocks: [
        { type: "section", text: { type: "mrkdwn", text: `*${summary}*` } },
        { type: "section", text: { type: "mrkdwn", text: detailLines(event).join("\n") } },
        { type: "context", elements: [{ type: "mrkdwn", text: `${event.type} · ${event.id}` }] },
      ],
    });
    return post(ctx, destination.target, body, {});
  },
  email: async (ctx, destination, event) => {
    const smtp = ctx.engine.sync.smtp;
    if (smtp.url === null)
      throw new SmtpError("SMTP_URL is not set: email subscriptions cannot be sent", 550);
    const transport = nodemailer.createTransport(smtp.url);
    try {
      await transport.sendMail({
        from: smtp.from,
        to: decodeURIComponent(new URL(destination.target).pathname),
        subject: eventSummary(event),
        text: [...detailLines(event), "", `event: ${event.type} ${event.id}`, `at: ${event.timestamp}`].join(
          "\n",
        ),
        headers: { "X-Event-Id": event.id, "X-Event-Type": event.type },
      });
    } catch (error) {
      const code = (error as { responseCode?: number }).responseCode;
      throw new SmtpError(`SMTP send failed: ${(error as Error).message}`.slice(0, 500), code);
    } finally {
      transport.close();
    }
    return null;
  },
};
