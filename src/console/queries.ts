/**
 * Read-only counts for the console's overview and lists, each limited to the principal's tenants the way
 * the services limit their queries (tenantScope). Jobs without a tenant (carrier work) are the provider's.
 */
import {
  and,
  asc,
  count,
  desc,
  eq,
  gte,
  inArray,
  isNotNull,
  isNull,
  min,
  not,
  type SQL,
  sql,
} from "drizzle-orm";
import { openStatuses, type Priority, type TicketStatus } from "../../schemas/ticket.js";
import { isProvider, tenantScope } from "../auth/principal.js";
import type { Queryable } from "../db/client.js";
import { externalLinks, jobs, ledgerEntries, slaClocks, tenants, tickets } from "../db/schema/index.js";
import type { ServiceContext } from "../services/context.js";
import { ticketToApi } from "../services/serialize.js";
import { findPlan, ticketSlas } from "../services/sla.js";
import type { ClockState } from "../sla/clocks.js";

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

export interface TicketListFilters {
  tenantId?: string | undefined;
  status?: TicketStatus | undefined;
  priority?: Priority | undefined;
  plan?: string | undefined;
  sla?: "breached" | "running" | "paused" | "met" | "none" | undefined;
}

type TicketSlaView = Awaited<ReturnType<typeof ticketSlas>> extends Map<string, infer V> ? V : never;
const listedClocks = ["response", "update", "resolution"] as const;

/** The worst of a ticket's three clocks: breached, running, paused, met, none (the SLA filter's states). */
export function slaState(sla: TicketSlaView): ClockState {
  const states = listedClocks.map((name) => sla[name].state);
  for (const state of ["breached", "running", "paused", "met"] as const)
    if (states.includes(state)) return state;
  return "none";
}

/** The clock that runs out first (running, paused or breached), for sorting and the bar. */
export function nextDue(sla: TicketSlaView) {
  const due = listedClocks
    .map((name) => sla[name])
    .filter((clock) => clock.state === "running" || clock.state === "paused" || clock.state === "breached");
  due.sort((a, b) => (a.remainingBusinessSeconds ?? 0) - (b.remainingBusinessSeconds ?? 0));
  return due[0] ?? null;
}

/** A clock row of the listed three with a target, started. */
const targeted = sql`c.clock in ('response', 'update', 'resolution') and c.started_at is not null
  and (c.target_minutes is not null or c.target_business_days is not null)`;
/** An open clock: running, paused or breached and still running. Its remaining time is computed in memory. */
const openClock = sql`exists (select 1 from sla_clocks c where c.ticket_id = ${tickets.id} and ${targeted}
  and c.met_at is null and c.stopped_at is null)`;
/**
 * A finished clock that breached: met late or stopped after running out (the view's rule, on the due instant
 * stored when it finished).
 */
const finishedBreached = sql`exists (select 1 from sla_clocks c where c.ticket_id = ${tickets.id} and ${targeted}
  and (c.breached_at is not null or (c.due_at is not null and (c.met_at > c.due_at
    or (c.met_at is null and c.stopped_at >= c.due_at)))))`;
const finishedMet = sql`exists (select 1 from sla_clocks c where c.ticket_id = ${tickets.id} and ${targeted}
  and c.met_at is not null)`;

/**
 * One page of the console's ticket list, sorted by business time remaining, least first, in a few queries.
 * Tickets with an open clock come first: only their remaining time changes with the clock, so only they
 * are computed (in one batch) and sorted in memory. The rest, whose SLA state is settled, follow newest
 * update first, filtered and paged in SQL.
 */
export async function ticketListPage(
  ctx: ServiceContext,
  filters: TicketListFilters,
  page: number,
  pageSize: number,
) {
  const conditions: (SQL | undefined)[] = [scoped(ctx, tickets.tenantId, false)];
  if (filters.tenantId) conditions.push(eq(tickets.tenantId, filters.tenantId));
  if (filters.status) conditions.push(eq(tickets.status, filters.status));
  if (filters.priority) conditions.push(eq(tickets.priority, filters.priority));
  if (filters.plan)
    conditions.push(
      inArray(
        tickets.tenantId,
        ctx.db.select({ id: tenants.id }).from(tenants).where(eq(tenants.plan, filters.plan)),
      ),
    );
  const clocked = await ctx.db
    .select()
    .from(tickets)
    .where(and(...conditions, openClock));
  const slas = await ticketSlas(ctx.db, ctx, clocked);
  const remaining = (id: string) =>
    nextDue(slas.get(id)!)?.remainingBusinessSeconds ?? Number.POSITIVE_INFINITY;
  const first = clocked
    .filter((t) => !filters.sla || slaState(slas.get(t.id)!) === filters.sla)
    .sort((a, b) => remaining(a.id) - remaining(b.id) || a.id.localeCompare(b.id));

  const settled = and(...conditions, not(openClock), settledState(filters.sla));
  const [{ total } = { total: 0 }] = await ctx.db.select({ total: count() }).from(tickets).where(settled);
  const start = (page - 1) * pageSize;
  const fromFirst = first.slice(start, start + pageSize);
  const restOffset = Math.max(0, start - first.length);
  const restLimit = pageSize - fromFirst.length;
  const rest =
    restLimit > 0 && Number(total) > restOffset
      ? await ctx.db
          .select()
          .from(tickets)
          .where(settled)
          .orderBy(desc(tickets.updatedAt), asc(tickets.id))
          .offset(restOffset)
          .limit(restLimit)
      : [];
  const restSlas = await ticketSlas(ctx.db, ctx, rest);
  const rows = [...fromFirst, ...rest];
  const zones = await tenantZones(
    ctx,
    rows.map((r) => r.tenantId),
  );
  return {
    rows: rows.map((row) => ({
      ticket: ticketToApi(row),
      sla: (slas.get(row.id) ?? restSlas.get(row.id))!,
      tenantZone: zones.get(row.tenantId) ?? "UTC",
    })),
    total: first.length + Number(total),
  };
}

/** The SQL condition for tickets without an open clock in an SLA state (they can only be breached, met or none). */
function settledState(state: TicketListFilters["sla"]): SQL | undefined {
  switch (state) {
    case undefined:
      return undefined;
    case "breached":
      return finishedBreached;
    case "met":
      return and(not(finishedBreached), finishedMet);
    case "none":
      return and(not(finishedBreached), not(finishedMet));
    case "running":
    case "paused":
      return sql`false`;
  }
}

/** The zone each tenant's clocks run in: its own, else its plan's calendar's, else UTC. */
export async function tenantZones(ctx: ServiceContext, tenantIds: readonly string[]) {
  const zones = new Map<string, string>();
  if (tenantIds.length === 0) return zones;
  const rows = await ctx.db
    .select({ id: tenants.id, plan: tenants.plan, timezone: tenants.timezone })
    .from(tenants)
    .where(inArray(tenants.id, [...new Set(tenantIds)]));
  for (const t of rows)
    zones.set(t.id, t.timezone ?? findPlan(ctx.catalog, t.plan)?.calendar.timezone ?? "UTC");
  return zones;
}
