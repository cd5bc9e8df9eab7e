import { bigint, bigserial, boolean, index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { tenants } from "./access.js";
import { instant, timestamps } from "./columns.js";

/**
 * Where events are sent. `tenantId` null: every tenant's events (provider subscriptions only). `audience`
 * is who created it: a tenant's subscription never gets provider-internal content, whatever it asks for.
 */
export const eventSubscriptions = pgTable(
  "event_subscriptions",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").references(() => tenants.id),
    audience: text("audience", { enum: ["provider", "tenant"] }).notNull(),
    format: text("format", { enum: ["standard", "slack", "email"] }).notNull(),
    /** The URL (or `mailto:`), encrypted: Slack webhook URLs and some receivers' URLs carry a secret. */
    targetEncrypted: text("target_encrypted").notNull(),
    /** What the API shows of the target: origin and path, a Slack URL's origin only, the email address. */
    targetDisplay: text("target_display").notNull(),
    eventTypes: jsonb("event_types").$type<string[]>().notNull(),
    /** The `whsec_` signing secret, encrypted (SECRETS_KEY). */
    secretEncrypted: text("secret_encrypted").notNull(),
    enabled: boolean("enabled").notNull().default(true),
    description: text("description"),
    ...timestamps,
  },
  (t) => [index("event_subscriptions_tenant_idx").on(t.tenantId)],
);

/** One row per delivery attempt: the delivery log a subscriber reads. */
export const eventDeliveries = pgTable(
  "event_deliveries",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    subscriptionId: text("subscription_id")
      .notNull()
      .references(() => eventSubscriptions.id, { onDelete: "cascade" }),
    /** The `webhook-id`: `evt_<ledger sequence>`, the same on every attempt and re-send. */
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    jobId: bigint("job_id", { mode: "number" }).notNull(),
    attempt: integer("attempt").notNull(),
    outcome: text("outcome", { enum: ["delivered", "failed"] }).notNull(),
    httpStatus: integer("http_status"),
    latencyMs: integer("latency_ms").notNull(),
    error: text("error"),
    attemptedAt: instant("attempted_at").notNull(),
  },
  (t) => [
    // The delivery log pages one subscription's attempts newest first.
    index("event_deliveries_subscription_idx").on(t.subscriptionId, t.id),
    // Retention prunes attempts by age.
    index("event_deliveries_attempted_idx").on(t.attemptedAt),
  ],
);
