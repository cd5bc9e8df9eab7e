/**
 * Read-only counts for the console's overview and lists, each limited to the principal's tenants the way
 * the services limit their queries (tenantScope). Jobs without a tenant (carrier work) are the provider's.
 */
import { and, count, desc, eq, gte, inArray, isNotNull, isNull, min, type SQL, sql } from "drizzle-orm";
import { openStatuses } from "../../schemas/ticket.js";
import { isProvider, tenantScope } from "../auth/principal.js";
import type { Queryable } from "../db/client.js";
import { externalLinks, jobs, ledgerEntries, slaClocks, tenants, tickets } from "../db/schema/index.js";
import type { ServiceContext } from "../services/context.js";

type Column = Parameters<typeof inArray>[0];

/** The principal's tenant condition on a column; jobs with no tenant count for the provider only. */
function scoped(ctx: ServiceContext, column: Column, nullable: boolean): SQL | undefined {
  const scope = tenantScope(ctx.principal);
  if (scope === null) return undefined;
  const within = inArray(column, scope);
  return nullable && isProvider(ctx.principal) ? sql`(${within} or ${column} is null)` : within;
}

export async function openTicketCounts(ctx: ServiceContext) {
  return ctx.db
    .select({ status: tickets.status, priority: tickets.priority, count: count() })
    .from(tickets)
    .where(and(inArray(tickets.status, [...openStatuses]), scoped(ctx, tickets.tenantId, false)))
    .groupBy(tickets.status, tickets.priority);
}

/** Running clocks that recorded an at-risk warning or a breach, on open tickets. */
export async function clocksAtRisk(ctx: ServiceContext) {
  const [row] = await ctx.db
    .select({
      atRisk: sql<number>`count(*) filter (where ${slaClocks.breachedAt} is null and ${slaClocks.atRiskRecordedAt} is not null)`,
      breached: sql<number>`count(*) filter (where ${slaClocks.breachedAt} is not null)`,
    })
    .from(slaClocks)
    .innerJoin(tickets, eq(tickets.id, slaClocks.ticketId))
    .where(
      and(
        isNull(slaClocks.metAt),
        isNull(slaClocks.stoppedAt),
        inArray(tickets.status, [...openStatuses]),
        scoped(ctx, slaClocks.tenantId, false),
      ),
    );
  return { atRisk: Number(row?.atRisk ?? 0), breached: Number(row?.breached ?? 0) };
}

export async function jobFacts(ctx: ServiceContext) {
  const [dead] = await ctx.db
    .select({ count: count() })
    .from(jobs)
    .where(and(eq(jobs.status, "dead"), scoped(ctx, jobs.tenantId, true)));
  const [oldest] = await ctx.db
    .select({ at: min(jobs.createdAt) })
    .from(jobs)
    .where(and(eq(jobs.status, "pending"), scoped(ctx, jobs.tenantId, true)));
  return { deadLetters: dead?.count ?? 0, oldestPendingAt: oldest?.at ?? null };
}

/** Per connection: jobs waiting, dead letters open and the newest recorded error. */
export async function connectionJobFacts(db: Queryable, connectionIds: string[]) {
  if (connectionIds.length === 0) return new Map<string, ConnectionJobFacts>();
  const rows = await db
    .select({
      connectionId: jobs.connectionId,
      backlog: sql<number>`count(*) filter (where ${jobs.status} = 'pending')`,
      dead: sql<number>`count(*) filter (where ${jobs.status} = 'dead')`,
      lastSuccessAt: sql<Date | null>`max(${jobs.finishedAt}) filter (where ${jobs.status} = 'done')`,
    })
    .from(jobs)
    .where(inArray(jobs.connectionId, connectionIds))
    .groupBy(jobs.connectionId);
  const failures = await db
    .selectDistinctOn([jobs.connectionId], {
      connectionId: jobs.connectionId,
      lastError: jobs.lastError,
      at: sql<Date>`coalesce(${jobs.deadAt}, ${jobs.finishedAt}, ${jobs.createdAt})`,
    })
    .from(jobs)
    .where(and(inArray(jobs.connectionId, connectionIds), isNotNull(jobs.lastError)))
    .orderBy(jobs.connectionId, desc(jobs.id));
  const facts = new Map<string, ConnectionJobFacts>();
  for (const id of connectionIds) {
    const row = rows.find((r) => r.connectionId === id);
    const failure = failures.find((f) => f.connectionId === id);
    facts.set(id, {
      backlog: Number(row?.backlog ?? 0),
      deadLetters: Number(row?.dead ?? 0),
      lastSuccessAt: row?.lastSuccessAt ? new Date(row.lastSuccessAt) : null,
      lastFailureAt: failure ? new Date(failure.at) : null,
      lastFailureReason: failure?.lastError ?? null,
    });
  }
  return facts;
}

export interface ConnectionJobFacts {
  backlog: number;
  deadLetters: number;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  lastFailureReason: string | null;
}

/** Resolution clocks started in the window, met or breached, per plan and priority. */
export async function slaOutcomes(ctx: ServiceContext, since: Date) {
  return ctx.db
    .select({
      plan: tenants.plan,
      priority: tickets.priority,
      met: sql<number>`count(*) filter (where ${slaClocks.metAt} is not null and ${slaClocks.breachedAt} is null)`,
      breached: sql<number>`count(*) filter (where ${slaClocks.breachedAt} is not null)`,
    })
    .from(slaClocks)
    .innerJoin(tickets, eq(tickets.id, slaClocks.ticketId))
    .innerJoin(tenants, eq(tenants.id, tickets.tenantId))
    .where(
      and(
        eq(slaClocks.clock, "resolution"),
        gte(slaClocks.startedAt, since),
        scoped(ctx, slaClocks.tenantId, false),
      ),
    )
    .groupBy(tenants.plan, tickets.priority)
    .orderBy(tenants.plan, tickets.priority);
}

/** Outbound ledger entries (writes to vendors and carriers) per hour since `since`. */
export async function deliveriesPerHour(ctx: ServiceContext, since: Date) {
  const hour = sql<string>`to_char(date_trunc('hour', ${ledgerEntries.occurredAt} at time zone 'UTC'), 'YYYY-MM-DD"T"HH24:00:00"Z"')`;
  const rows = await ctx.db
    .select({ hour, count: count() })
    .from(ledgerEntries)
    .where(
      and(
        eq(ledgerEntries.direction, "outbound"),
        gte(ledgerEntries.occurredAt, since),
        scoped(ctx, ledgerEntries.tenantId, true),
      ),
    )
    .groupBy(hour)
    .orderBy(hour);
  return rows.map((r) => ({ hour: r.hour, count: Number(r.count) }));
}

/** The ticket a vendor key names (INC0010001, HELP-1, a Zendesk number), among the principal's tenants. */
export async function ticketIdByVendorKey(ctx: ServiceContext, key: string): Promise<string | null> {
  const [row] = await ctx.db
    .select({ id: tickets.id })
    .from(externalLinks)
    .innerJoin(tickets, eq(tickets.id, externalLinks.ticketId))
    .where(
      and(
        sql`(${externalLinks.externalKey} = ${key} or ${externalLinks.externalId} = ${key})`,
        scoped(ctx, tickets.tenantId, false),
      ),
    )
    .limit(1);
  return row?.id ?? null;
}

/** A ticket's links to vendor records, with the vendor URL where the connector knows it. */
export async function ticketLinks(db: Queryable, ticketId: string) {
  return db
    .select({
      connectionId: externalLinks.connectionId,
      externalId: externalLinks.externalId,
      externalKey: externalLinks.externalKey,
      url: externalLinks.url,
      updatedAt: externalLinks.updatedAt,
    })
    .from(externalLinks)
    .where(eq(externalLinks.ticketId, ticketId));
}
