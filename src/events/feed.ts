import { and, asc, eq, inArray, isNull, or } from "drizzle-orm";
import type { Queryable } from "../db/client.js";
import { eventDeliveries, eventSubscriptions, ledgerEntries, tenants, tickets } from "../db/schema/index.js";
import { errorMessage } from "../jobs/classify.js";
import { enqueueJobs, type NewJob } from "../jobs/queue.js";
import type { JobHandler } from "../jobs/types.js";
import { decryptSecret } from "../lib/secrets.js";
import { eventJobPriority, eventRuleOf } from "./catalog.js";
import { type FeedEvent, senders } from "./delivery.js";

type LedgerRow = typeof ledgerEntries.$inferSelect;
export type SubscriptionRow = typeof eventSubscriptions.$inferSelect;

/** The `webhook-id` of a ledger event: its ledger sequence, so it is the same on every attempt and re-send. */
export const eventIdOf = (sequence: number) => `evt_${sequence}`;
export const sequenceOfEventId = (eventId: string) => Number(eventId.slice("evt_".length));

/** Queues one delivery of `event` to `subscription`. */
export function deliveryJob(subscription: SubscriptionRow, event: FeedEvent): NewJob {
  return {
    kind: "event.deliver",
    // The job's tenant decides who sees its dead letter and its failure ledger entries: a provider
    // subscription's deliveries (provider data, provider URL) stay the provider's even when limited to a tenant.
    tenantId: subscription.audience === "tenant" ? subscription.tenantId : null,
    priority: eventJobPriority,
    payload: { subscriptionId: subscription.id, event },
  };
}

/**
 * The deliveries a ledger event makes: one per enabled subscription that asked for its type and may see it
 * (every tenant's, or this tenant's), with the data that subscription's audience may read. `only` narrows
 * the subscriptions (re-sends).
 */
export async function deliveriesOf(
  db: Queryable,
  entry: LedgerRow,
  only: (subscription: SubscriptionRow) => boolean = () => true,
): Promise<NewJob[]> {
  const rule = eventRuleOf(entry);
  if (!rule) return [];
  const candidates = await db
    .select()
    .from(eventSubscriptions)
    .where(
      and(
        eq(eventSubscriptions.enabled, true),
        entry.tenantId === null
          ? isNull(eventSubscriptions.tenantId)
          : or(isNull(eventSubscriptions.tenantId), eq(eventSubscriptions.tenantId, entry.tenantId)),
      ),
    )
    .orderBy(asc(eventSubscriptions.id));
  const matching = candidates.filter((s) => s.eventTypes.includes(rule.type) && only(s));
  if (matching.length === 0) return [];
  const [ticket] = entry.ticketId
    ? await db
        .select({ id: tickets.id, title: tickets.title, priority: tickets.priority, status: tickets.status })
        .from(tickets)
        .where(eq(tickets.id, entry.ticketId))
    : [];
  const [tenant] = entry.tenantId
    ? await db
        .select({ id: tenants.id, name: tenants.name })
        .from(tenants)
        .where(eq(tenants.id, entry.tenantId))
    : [];
  const common = { tenant: tenant ?? null, ticket: ticket ?? null };
  const jobs: NewJob[] = [];
  for (const subscription of matching) {
    const specific =
      subscription.audience === "tenant"
        ? rule.tenantData(entry.detail, entry)
        : rule.data(entry.detail, entry);
    if (specific === null) continue;
    jobs.push(
      deliveryJob(subscription, {
        id: eventIdOf(entry.sequence),
        type: rule.type,
        timestamp: entry.occurredAt.toISOString(),
        data: { ...common, ...specific },
      }),
    );
  }
  return jobs;
}

/** Turns the events of one ledger append into deliveries, committed with the job's completion (once). */
export const eventFanout: JobHandler = {
  periodic: false,
  run: async (ctx, job) => {
    const sequences = (job.payload["sequences"] as number[] | undefined) ?? [];
    const entries =
      sequences.length === 0
        ? []
        : await ctx.db
            .select()
            .from(ledgerEntries)
            .where(inArray(ledgerEntries.sequence, sequences))
            .orderBy(asc(ledgerEntries.sequence));
    const deliveries: NewJob[] = [];
    for (const entry of entries) deliveries.push(...(await deliveriesOf(ctx.db, entry)));
    return { outcome: "done", commit: (tx) => enqueueJobs(tx, deliveries) };
  },
};

/**
 * Sends one event to one subscription and logs the attempt. A failure is thrown to the job system, which
 * retries (5xx, 408/409/429, network) or dead-letters (other 4xx) it; the `webhook-id` stays the event's.
 */
export const eventDeliver: JobHandler = {
  periodic: false,
  run: async (ctx, job) => {
    const event = job.payload["event"] as FeedEvent;
    const subscriptionId = String(job.payload["subscriptionId"]);
    const [subscription] = await ctx.db
      .select()
      .from(eventSubscriptions)
      .where(eq(eventSubscriptions.id, subscriptionId));
    if (!subscription) return { outcome: "skipped", reason: "subscription deleted" };
    if (!subscription.enabled) return { outcome: "skipped", reason: "subscription disabled" };
    const attemptedAt = ctx.now();
    const started = performance.now();
    const log = (outcome: "delivered" | "failed", httpStatus: number | null, error: string | null) =>
      ctx.db.insert(eventDeliveries).values({
        subscriptionId,
        eventId: event.id,
        eventType: event.type,
        jobId: job.id,
        attempt: job.attempts,
        outcome,
        httpStatus,
        latencyMs: Math.round(performance.now() - started),
        error,
        attemptedAt,
      });
    let status: number | null;
    try {
      status = await senders[subscription.format](
        ctx,
        {
          target: decryptSecret(ctx.engine.secretsKey, subscription.targetEncrypted),
          secret: decryptSecret(ctx.engine.secretsKey, subscription.secretEncrypted),
        },
        event,
      );
    } catch (error) {
      const httpStatus = (error as { status?: unknown }).status;
      await log(
        "failed",
        typeof httpStatus === "number" ? httpStatus : null,
        errorMessage(error).slice(0, 500),
      );
      throw error;
    }
    await log("delivered", status, null);
    return { outcome: "done" };
  },
};
