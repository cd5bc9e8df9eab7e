import { and, eq, gte, inArray, lt, type SQL } from "drizzle-orm";
import { canAccessTenant, tenantScope } from "../auth/principal.js";
import { slaClocks, tenants, tickets } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import type { ServiceContext } from "./context.js";

interface ReportQuery {
  from: string;
  to: string;
  groupBy: "priority" | "plan" | "tenant";
  tenantId?: string | undefined;
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  // Nearest-rank: the smallest value with at least q of the data at or below it.
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

const minutes = (seconds: number) => Math.round((seconds / 60) * 10) / 10;

/** Per group: tickets opened in [from, to), response and resolution met/breached, business-time percentiles. */
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
            inArray(slaClocks.clock, ["response", "resolution"]),
          ),
        )
    : [];
  const byTicket = new Map<string, Map<string, (typeof clocks)[number]>>();
  for (const clock of clocks) {
    if (!byTicket.has(clock.ticketId)) byTicket.set(clock.ticketId, new Map());
    byTicket.get(clock.ticketId)!.set(clock.clock, clock);
  }
  const now = ctx.now();
  const groups = new Map<
    string,
    {
      tickets: number;
      met: Record<string, number>;
      breached: Record<string, number>;
      seconds: Record<string, number[]>;
    }
  >();
  for (const row of rows) {
    const key =
      query.groupBy === "priority" ? row.priority : query.groupBy === "plan" ? row.plan : row.tenantId;
    let group = groups.get(key);
    if (!group) {
      group = {
        tickets: 0,
        met: { response: 0, resolution: 0 },
        breached: { response: 0, resolution: 0 },
        seconds: { response: [], resolution: [] },
      };
      groups.set(key, group);
    }
    group.tickets++;
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
      };
    });
  return { from: from.toISOString(), to: to.toISOString(), groupBy: query.groupBy, groups: result };
}
