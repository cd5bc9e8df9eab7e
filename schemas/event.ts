import { z } from "@hono/zod-openapi";
import { Instant, idOf, text } from "./common.js";

/** Every event type a subscription can ask for (docs/events.md describes each payload). */
export const eventTypes = [
  "sla.at_risk",
  "sla.breached",
  "sla.met",
  "sla.update_due",
  "ticket.created",
  "ticket.status_changed",
  "comment.created",
  "delegation.status_changed",
  "carrier.ola_breached",
  "dead_letter.created",
  "connection.health_changed",
] as const;
export type EventType = (typeof eventTypes)[number];

export const eventFormats = ["standard", "slack", "email"] as const;
export type EventFormat = (typeof eventFormats)[number];

const mailbox = z.email();

/**
 * Why `target` cannot receive `format`, or null. `standard` and `slack` post to an http(s) URL; `email`
 * sends to the address of a `mailto:` URL.
 */
export function targetProblem(format: EventFormat, target: string): string | null {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return "must be an absolute URL";
  }
  if (format === "email") {
    if (url.protocol !== "mailto:") return "an email subscription's url must be mailto:<address>";
    const address = decodeURIComponent(url.pathname);
    return url.search === "" && mailbox.safeParse(address).success ? null : "must be mailto:<one address>";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an http(s) URL";
  if (url.username !== "" || url.password !== "") return "must not carry credentials";
  return null;
}

const EventTypeList = z
  .array(z.enum(eventTypes))
  .min(1)
  .max(eventTypes.length)
  .refine((types) => new Set(types).size === types.length, "must not repeat a type");

const targetUrl = text().min(1).max(2048).openapi({
  description:
    "Where events go: an http(s) URL (`standard`, `slack`), or `mailto:<address>` (`email`). Checked against the outbound guard (no internal addresses in production).",
  example: "https://hooks.example.com/gateway",
});

export const CreateEventSubscription = z
  .strictObject({
    url: targetUrl,
    eventTypes: EventTypeList,
    tenantId: idOf("tenant").optional().openapi({
      description: "Only this tenant's events. Provider keys only; a tenant key always gets its own.",
    }),
    format: z.enum(eventFormats).default("standard").openapi({
      description:
        "`standard`: Standard Webhooks JSON, signed. `slack`: a Slack incoming-webhook message (unsigned; the URL is the secret). `email`: a plain-text email through SMTP_URL.",
    }),
    description: text().max(200).optional(),
    enabled: z.boolean().default(true),
  })
  .superRefine((value, ctx) => {
    const problem = targetProblem(value.format, value.url);
    if (problem) ctx.addIssue({ code: "custom", path: ["url"], message: problem });
  });
export type CreateEventSubscription = z.infer<typeof CreateEventSubscription>;

export const UpdateEventSubscription = z.strictObject({
  url: targetUrl.optional(),
  eventTypes: EventTypeList.optional(),
  format: z.enum(eventFormats).optional(),
  description: text().max(200).nullable().optional(),
  enabled: z.boolean().optional(),
});
export type UpdateEventSubscription = z.infer<typeof UpdateEventSubscription>;

export const EventSubscription = z
  .object({
    id: text(),
    url: text().openapi({
      description: "The target as shown: origin and path (query dropped); a Slack URL's origin only.",
    }),
    eventTypes: z.array(z.enum(eventTypes)),
    tenantId: text().nullable(),
    audience: z.enum(["provider", "tenant"]).openapi({
      description: "`tenant`: created by a tenant key; provider-internal content is never sent to it.",
    }),
    format: z.enum(eventFormats),
    description: text().nullable(),
    enabled: z.boolean(),
    createdAt: Instant,
    updatedAt: Instant,
  })
  .openapi("EventSubscription");

export const EventSubscriptionWithSecret = EventSubscription.extend({
  secret: text().openapi({
    description: "`whsec_` + base64 signing key. Shown only here; store it now.",
    example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  }),
}).openapi("EventSubscriptionWithSecret");

export const EventDelivery = z
  .object({
    id: z.number().int(),
    eventId: text().openapi({ description: "The `webhook-id` sent (the same on retries and re-sends)." }),
    eventType: text(),
    jobId: z.number().int(),
    attempt: z.number().int(),
    outcome: z.enum(["delivered", "failed"]),
    httpStatus: z.number().int().nullable(),
    latencyMs: z.number().int(),
    error: text().nullable(),
    attemptedAt: Instant,
  })
  .openapi("EventDelivery");

export const EventQueued = z
  .object({
    eventId: text(),
    deliveries: z
      .number()
      .int()
      .openapi({ description: "Deliveries queued (one per matching subscription)." }),
  })
  .openapi("EventQueued");

export const ResendEvent = z.strictObject({
  subscriptionId: idOf("eventSubscription").optional().openapi({
    description: "Only to this subscription (default: every subscription the event matches now).",
  }),
});

export const eventIdParam = z.object({
  eventId: z
    .string()
    .regex(/^evt_[1-9][0-9]{0,15}$/, "must be an evt_ id")
    .openapi({ example: "evt_1024" }),
});
