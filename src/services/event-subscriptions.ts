import { randomBytes } from "node:crypto";
import { and, asc, desc, eq, gt, inArray, lt } from "drizzle-orm";
import {
  type CreateEventSubscription,
  type EventFormat,
  type EventType,
  targetProblem,
  type UpdateEventSubscription,
} from "../../schemas/event.js";
import { actorOf, canAccessTenant, type Principal, sideOf, tenantScope } from "../auth/principal.js";
import type { Tx } from "../db/client.js";
import { eventDeliveries, eventSubscriptions, ledgerEntries, tenants } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import { eventRuleOf } from "../events/catalog.js";
import { deliveriesOf, deliveryJob, type SubscriptionRow, sequenceOfEventId } from "../events/feed.js";
import { enqueueJobs } from "../jobs/queue.js";
import { appendLedger } from "../ledger/append.js";
import { decodeCursor, page } from "../lib/cursor.js";
import { newId } from "../lib/ids.js";
import { encryptSecret } from "../lib/secrets.js";
import { assertReachableBaseUrl } from "../sync/url-guard.js";
import type { ServiceContext } from "./context.js";

function subscriptionToApi(row: SubscriptionRow) {
  return {
    id: row.id,
    url: row.targetDisplay,
    eventTypes: row.eventTypes as EventType[],
    tenantId: row.tenantId,
    audience: row.audience,
    format: row.format,
    description: row.description,
    enabled: row.enabled,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** What the API shows of a target: no query (tokens), and nothing of a Slack URL past its origin. */
function displayedTarget(format: EventFormat, target: string): string {
  const url = new URL(target);
  if (format === "email") return `mailto:${decodeURIComponent(url.pathname)}`;
  return format === "slack" ? `${url.origin}/…` : `${url.origin}${url.pathname}`;
}

/** A Standard Webhooks secret: `whsec_` and 24 random bytes in base64 (the HMAC key). */
function newSigningSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

/** Whether the principal may see and manage this subscription (tenant keys: only the ones they made). */
function mayManage(principal: Principal, row: SubscriptionRow): boolean {
  if (principal.kind === "tenant") return row.audience === "tenant" && row.tenantId === principal.tenantId;
  return row.tenantId === null ? tenantScope(principal) === null : canAccessTenant(principal, row.tenantId);
}

async function visibleSubscription(ctx: ServiceContext, id: string) {
  const [row] = await ctx.db.select().from(eventSubscriptions).where(eq(eventSubscriptions.id, id));
  if (!row || !mayManage(ctx.principal, row))
    throw new GatewayError("NOT_FOUND", `Event subscription ${id} was not found.`);
  return row;
}

/** Refuses a target the format cannot use, an internal address (SSRF) and email without SMTP_URL. */
async function assertDeliverable(ctx: ServiceContext, format: EventFormat, target: string) {
  const problem = targetProblem(format, target);
  if (problem)
    throw new GatewayError("VALIDATION_FAILED", `The url ${problem}.`, {
      errors: [{ path: "url", message: problem }],
    });
  if (format === "email") {
    if (ctx.engine.sync.smtp.url === null)
      throw new GatewayError("VALIDATION_FAILED", "Email subscriptions need SMTP_URL, which is not set.", {
        errors: [{ path: "format", message: "email is off: SMTP_URL is not set" }],
      });
    return;
  }
  await assertReachableBaseUrl(target, ctx.engine.sync, "url", ctx.engine.resolve, "event subscription");
}

async function ledgerChange(ctx: ServiceContext, tx: Tx, row: SubscriptionRow, change: string, detail = {}) {
  await appendLedger(tx, [
    {
      tenantId: row.tenantId,
      direction: "internal",
      kind: `event_subscription.${change}`,
      actor: actorOf(ctx.principal),
      side: sideOf(ctx.principal),
      detail: { subscriptionId: row.id, ...detail },
    },
  ]);
}

/** The tenant a new subscription is for: a tenant key's own; for the provider, the one named (or all). */
async function subscriptionTenant(
  ctx: ServiceContext,
  requested: string | undefined,
): Promise<string | null> {
  const principal = ctx.principal;
  const tenantId = principal.kind === "tenant" ? principal.tenantId : (requested ?? null);
  if (tenantId === null) {
    if (tenantScope(principal) !== null)
      throw new GatewayError("VALIDATION_FAILED", "This key is limited to some tenants: name one.", {
        errors: [{ path: "tenantId", message: "required for a key limited to tenants" }],
      });
    return null;
  }
  if (requested !== undefined && requested !== tenantId)
    throw new GatewayError("NOT_FOUND", `Tenant ${requested} was not found.`);
  const [tenant] = await ctx.db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant || !canAccessTenant(principal, tenantId))
    throw new GatewayError("NOT_FOUND", `Tenant ${tenantId} was not found.`);
  return tenantId;
}

export async function createEventSubscription(ctx: ServiceContext, input: CreateEventSubscription) {
  const tenantId = await subscriptionTenant(ctx, input.tenantId);
  await assertDeliverable(ctx, input.format, input.url);
  const secret = newSigningSecret();
  return ctx.db.transaction(async (tx) => {
    const now = ctx.now();
    const [row] = await tx
      .insert(eventSubscriptions)
      .values({
        id: newId("eventSubscription"),
        tenantId,
        audience: ctx.principal.kind === "tenant" ? "tenant" : "provider",
        format: input.format,
        targetEncrypted: encryptSecret(ctx.engine.secretsKey, input.url),
        targetDisplay: displayedTarget(input.format, input.url),
        eventTypes: input.eventTypes,
        secretEncrypted: encryptSecret(ctx.engine.secretsKey, secret),
        enabled: input.enabled,
        description: input.description ?? null,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    await ledgerChange(ctx, tx, row!, "created", { format: input.format, eventTypes: input.eventTypes });
    return { ...subscriptionToApi(row!), secret };
  });
}

export async function listEventSubscriptions(ctx: ServiceContext, query: { limit: number; cursor?: string }) {
  const after = decodeCursor<string>(query.cursor, "string");
  const principal = ctx.principal;
  const scope = tenantScope(principal);
  const rows = await ctx.db
    .select()
    .from(eventSubscriptions)
    .where(
      and(
        after ? gt(eventSubscriptions.id, after) : undefined,
        principal.kind === "tenant" ? eq(eventSubscriptions.audience, "tenant") : undefined,
        // A key limited to tenants sees theirs, never the all-tenant ones (`in` does not match null).
        scope === null ? undefined : inArray(eventSubscriptions.tenantId, scope),
      ),
    )
    .orderBy(asc(eventSubscriptions.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (r) => r.id);
  return { items: result.items.map(subscriptionToApi), nextCursor: result.nextCursor };
}

export async function getEventSubscription(ctx: ServiceContext, id: string) {
  return subscriptionToApi(await visibleSubscription(ctx, id));
}

export async function updateEventSubscription(
  ctx: ServiceContext,
  id: string,
  input: UpdateEventSubscription,
) {
  const current = await visibleSubscription(ctx, id);
  const format = input.format ?? current.format;
  const changes: Partial<SubscriptionRow> = { updatedAt: ctx.now() };
  if (input.url !== undefined || input.format !== undefined) {
    if (input.url === undefined)
      throw new GatewayError("VALIDATION_FAILED", "Changing the format needs the url for it.", {
        errors: [{ path: "url", message: "required with format" }],
      });
    await assertDeliverable(ctx, format, input.url);
    changes.format = format;
    changes.targetEncrypted = encryptSecret(ctx.engine.secretsKey, input.url);
    changes.targetDisplay = displayedTarget(format, input.url);
  }
  if (input.eventTypes !== undefined) changes.eventTypes = input.eventTypes;
  if (input.enabled !== undefined) changes.enabled = input.enabled;
  if (input.description !== undefined) changes.description = input.description;
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .update(eventSubscriptions)
      .set(changes)
      .where(eq(eventSubscriptions.id, id))
      .returning();
    if (!row) throw new GatewayError("NOT_FOUND", `Event subscription ${id} was not found.`);
    await ledgerChange(ctx, tx, row, "updated", { fields: Object.keys(input).sort() });
    return subscriptionToApi(row);
  });
}

export async function deleteEventSubscription(ctx: ServiceContext, id: string) {
  const current = await visibleSubscription(ctx, id);
  await ctx.db.transaction(async (tx) => {
    // Its queued deliveries find it gone and are skipped; its delivery log goes with it.
    await tx.delete(eventSubscriptions).where(eq(eventSubscriptions.id, id));
    await ledgerChange(ctx, tx, current, "deleted");
  });
}

export async function rotateEventSubscriptionSecret(ctx: ServiceContext, id: string) {
  await visibleSubscription(ctx, id);
  const secret = newSigningSecret();
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .update(eventSubscriptions)
      .set({ secretEncrypted: encryptSecret(ctx.engine.secretsKey, secret), updatedAt: ctx.now() })
      .where(eq(eventSubscriptions.id, id))
      .returning();
    if (!row) throw new GatewayError("NOT_FOUND", `Event subscription ${id} was not found.`);
    await ledgerChange(ctx, tx, row, "secret_rotated");
    return { ...subscriptionToApi(row), secret };
  });
}

/** Queues a `test` event to the subscription, through the same delivery job as real events. */
export async function sendTestEvent(ctx: ServiceContext, id: string) {
  const row = await visibleSubscription(ctx, id);
  const eventId = newId("testEvent");
  await enqueueJobs(ctx.db, [
    deliveryJob(row, {
      id: eventId,
      type: "test",
      timestamp: ctx.now().toISOString(),
      data: {
        subscriptionId: row.id,
        tenant: row.tenantId ? { id: row.tenantId } : null,
        message: "A test event.",
      },
    }),
  ]);
  return { eventId, deliveries: 1 };
}

export async function listEventDeliveries(
  ctx: ServiceContext,
  id: string,
  query: { limit: number; cursor?: string },
) {
  await visibleSubscription(ctx, id);
  const before = decodeCursor<number>(query.cursor, "number");
  const rows = await ctx.db
    .select()
    .from(eventDeliveries)
    .where(and(eq(eventDeliveries.subscriptionId, id), before ? lt(eventDeliveries.id, before) : undefined))
    .orderBy(desc(eventDeliveries.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (r) => r.id);
  return {
    items: result.items.map((r) => ({
      id: r.id,
      eventId: r.eventId,
      eventType: r.eventType,
      jobId: r.jobId,
      attempt: r.attempt,
      outcome: r.outcome,
      httpStatus: r.httpStatus,
      latencyMs: r.latencyMs,
      error: r.error,
      attemptedAt: r.attemptedAt.toISOString(),
    })),
    nextCursor: result.nextCursor,
  };
}

/**
 * Re-sends a ledger event, rebuilt from its entry, under its own `webhook-id`: to every subscription of the
 * caller that matches it now, or to one.
 */
export async function resendEvent(ctx: ServiceContext, eventId: string, subscriptionId: string | undefined) {
  const notFound = () => new GatewayError("NOT_FOUND", `Event ${eventId} was not found.`);
  const [entry] = await ctx.db
    .select()
    .from(ledgerEntries)
    .where(eq(ledgerEntries.sequence, sequenceOfEventId(eventId)));
  if (!entry || eventRuleOf(entry) === null) throw notFound();
  if (
    entry.tenantId === null
      ? tenantScope(ctx.principal) !== null
      : !canAccessTenant(ctx.principal, entry.tenantId)
  )
    throw notFound();
  if (subscriptionId !== undefined) await visibleSubscription(ctx, subscriptionId);
  const deliveries = await deliveriesOf(
    ctx.db,
    entry,
    (s) => mayManage(ctx.principal, s) && (subscriptionId === undefined || s.id === subscriptionId),
  );
  await enqueueJobs(ctx.db, deliveries);
  return { eventId, deliveries: deliveries.length };
}
