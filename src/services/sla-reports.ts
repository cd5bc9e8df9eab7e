import { and, eq, gte, inArray, lt, type SQL, sql } from "drizzle-orm";
import { canAccessTenant, tenantScope } from "../auth/principal.js";
import { ledgerEntries, slaClocks, tenants, tickets } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import { runningMs } from "../sla/clocks.js";
import { tenantCalendar } from "../sla/tenant-calendar.js";
import type { ServiceContext } from "./context.js";
import { findPlan, toRecord } from "./sla.js";

interface ReportQuery {
  from: string;
  to: string;
  groupBy: "priority" | "plan" | "tenant" | "ticket";
  tenantId?: string | undefined;
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  // Nearest-rank: the smallest value with at least q of the data at or below it.
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

const minutes = (seconds: number) => Math.round((seconds / 60) * 10) / 10;

interface UpdateCompliance {
  met: number;
  missed: number;
  /** Longest business seconds between the response (or an update) and the next update, or null. */
  longestSilence: number | null;
}

/**
 * Status-update compliance per ticket, from the ledger (every finished cycle: `sla.met` with `late` and
 * `businessSeconds`, `sla.breached`) and the update clock's row (the cycle still open).
 */
async function updateCompliance(
  ctx: ServiceContext,
  rows: { id: string; tenantId: string }[],
  clockRows: (typeof slaClocks.$inferSelect)[],
): Promise<Map<string, UpdateCompliance>> {
  const out = new Map<string, UpdateCompliance>();
  if (rows.length === 0) return out;
  const entries = await ctx.db
    .select({ ticketId: ledgerEntries.ticketId, kind: ledgerEntries.kind, detail: ledgerEntries.detail })
    .from(ledgerEntries)
    .where(
      and(
        inArray(ledgerEntries.tenantId, [...new Set(rows.map((r) => r.tenantId))]),
        inArray(
          ledgerEntries.ticketId,
          rows.map((r) => r.id),
        ),
        inArray(ledgerEntries.kind, ["sla.met", "sla.breached"]),
        sql`${ledgerEntries.detail}->>'clock' = 'update'`,
      ),
    );
  // Per ticket and cycle: whether it was met in time, missed, and how long the silence was.
  const cycles = new Map<string, Map<number, { met: boolean; missed: boolean; seconds: number | null }>>();
  const cycleOf = (ticketId: string, cycle: number) => {
    if (!cycles.has(ticketId)) cycles.set(ticketId, new Map());
    const byCycle = cycles.get(ticketId)!;
    if (!byCycle.has(cycle)) byCycle.set(cycle, { met: false, missed: false, seconds: null });
    return byCycle.get(cycle)!;
  };
  for (const e of entries) {
    const detail = e.detail as { cycle?: number; late?: boolean; businessSeconds?: number };
    const c = cycleOf(e.ticketId!, detail.cycle ?? 1);
    if (e.kind === "sla.breached") c.missed = true;
    else {
      c.met = true;
      if (detail.late) c.missed = true;
      if (typeof detail.businessSeconds === "number") c.seconds = detail.businessSeconds;
    }
  }
  const now = ctx.now();
  const tenantRows = await ctx.db
    .select()
    .from(tenants)
    .where(inArray(tenants.id, [...new Set(rows.map((r) => r.tenantId))]));
  const calendars = new Map(
    tenantRows.flatMap((tenant) => {
      const plan = findPlan(ctx.catalog, tenant.plan);
      return plan ? [[tenant.id, tenantCalendar(plan, tenant, now)] as const] : [];
    }),
  );
  const tenantOf = new Map(rows.map((r) => [r.id, r.tenantId]));
  for (const row of clockRows) {
    if (row.clock !== "update" || row.startedAt === null || row.metAt !== null) continue;
    const record = toRecord(row);
    const cal = calendars.get(tenantOf.get(row.ticketId)!);
    const end = row.stoppedAt ?? now;
    const c = cycleOf(row.ticketId, row.cycle);
    if (c.met) continue;
    // The open (or stopped) cycle: missed once its due passed before an update or the stop.
    if (row.breachedAt !== null || (row.dueAt !== null && end >= row.dueAt)) c.missed = true;
    if (cal) c.seconds = Math.round(runningMs(record, cal, end.getTime()) / 1000);
  }
  for (const [ticketId, byCycle] of cycles) {
    const result: UpdateCompliance = { met: 0, missed: 0, longestSilence: null };
    for (const c of byCycle.values()) {
      if (c.missed) result.missed++;
      else if (c.met) result.met++;
      if (c.seconds !== null) result.longestSilence = Math.max(result.longestSilence ?? 0, c.seconds);
    }
    out.set(ticketId, result);
  }
  return out;
}

/**
 * Per group: tickets opened in [from, to), response and resolution met/breached, business-time
 * percentiles, and status-update compliance (update cycles met and missed, the longest silence).
 */
export async function slaReport(ctx: ServiceContext, query: ReportQuery) {
  const from = new Date(query.from);
  const to = new Date(query.to);
  if (!(from < to)) {
    throw new GatewayError("VALIDATION_FAILED", "`from` must be before `to`.", {
      errors: [{ path: "to", message: "must be after from" }],
    });
  }
  const conditions: SQL[] = [gte(tickets.createdAt, from), lt(tickets.createdAt, to)];
  const scope = tenantScope(ctx.principal);
  if (scope !== null) conditions.push(inArray(tickets.tenantId, scope));
  if (query.tenantId) {
    if (!canAccessTenant(ctx.principal, query.tenantId)) {
      throw new GatewayError("NOT_FOUND", `Tenant ${query.tenantId} was not found.`);
    }
    conditions.push(eq(tickets.tenantId, query.tenantId));
  }
  const rows = await ctx.db
    .select({ id: tickets.id, tenantId: tickets.tenantId, priority: tickets.priority, plan: tenants.plan })
    .from(tickets)
    .innerJoin(tenants, eq(tenants.id, tickets.tenantId))
    .where(and(...conditions));
  const clocks = rows.length
    ? await ctx.db
        .select()
        .from(slaClocks)
        .where(
          and(
            inArray(
              slaClocks.ticketId,
              rows.map((r) => r.id),
            ),
            inArray(slaClocks.clock, ["response", "resolution", "update"]),
          ),
        )
    : [];
  const byTicket = new Map<string, Map<string, (typeof clocks)[number]>>();
  for (const clock of clocks) {
    if (!byTicket.has(clock.ticketId)) byTicket.set(clock.ticketId, new Map());
    byTicket.get(clock.ticketId)!.set(clock.clock, clock);
  }
  const updates = await updateCompliance(ctx, rows, clocks);
  const now = ctx.now();
  const groups = new Map<
    string,
    {
      tickets: number;
      met: Record<string, number>;
      breached: Record<string, number>;
      seconds: Record<string, number[]>;
      updateMet: number;
      updateMissed: number;
      longestSilence: number | null;
    }
  >();
  for (const row of rows) {
    const key = { priority: row.priority, plan: row.plan, tenant: row.tenantId, ticket: row.id }[
      query.groupBy
    ];
    let group = groups.get(key);
    if (!group) {
      group = {
        tickets: 0,
        met: { response: 0, resolution: 0 },
        breached: { response: 0, resolution: 0 },
        seconds: { response: [], resolution: [] },
        updateMet: 0,
        updateMissed: 0,
        longestSilence: null,
      };
      groups.set(key, group);
    }
    group.tickets++;
    const update = updates.get(row.id);
    if (update) {
      group.updateMet += update.met;
      group.updateMissed += update.missed;
      if (update.longestSilence !== null)
        group.longestSilence = Math.max(group.longestSilence ?? 0, update.longestSilence);
    }
    for (const name of ["response", "resolution"]) {
      const clock = byTicket.get(row.id)?.get(name);
      if (!clock) continue;
      // Breached: recorded by the timer, met after its due time, or still open past it.
      const end = clock.metAt ?? (clock.stoppedAt === null ? now : null);
      const late = clock.breachedAt !== null || (clock.dueAt !== null && end !== null && end > clock.dueAt);
      if (late) group.breached[name]!++;
      else if (clock.metAt !== null) group.met[name]!++;
      if (clock.metAt !== null && clock.elapsedBusinessSeconds !== null)
        group.seconds[name]!.push(clock.elapsedBusinessSeconds);
    }
  }
  const result = [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, g]) => {
      const response = [...g.seconds.response!].sort((a, b) => a - b);
      const resolution = [...g.seconds.resolution!].sort((a, b) => a - b);
      const m = (v: number | null) => (v === null ? null : minutes(v));
      return {
        group,
        tickets: g.tickets,
        responseMet: g.met.response!,
        responseBreached: g.breached.response!,
        resolutionMet: g.met.resolution!,
        resolutionBreached: g.breached.resolution!,
        medianResponseBusinessMinutes: m(quantile(response, 0.5)),
        p90ResponseBusinessMinutes: m(quantile(response, 0.9)),
        medianResolutionBusinessMinutes: m(quantile(resolution, 0.5)),
        p90ResolutionBusinessMinutes: m(quantile(resolution, 0.9)),
        updateMet: g.updateMet,
        updateMissed: g.updateMissed,
        longestSilenceBusinessMinutes: m(g.longestSilence),
      };
    });
  return { from: from.toISOString(), to: to.toISOString(), groupBy: query.groupBy, groups: result };
}
