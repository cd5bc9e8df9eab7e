import { and, eq, getTableColumns, inArray, notInArray, sql } from "drizzle-orm";
import type { Plan, PlanCatalog } from "../../schemas/plan.js";
import type { Priority } from "../../schemas/ticket.js";
import type { Actor } from "../auth/principal.js";
import { type Queryable, quotedIdentifier, type Tx, tableRecordset } from "../db/client.js";
import { sendWrite } from "../db/pipeline.js";
import { slaClocks, tenants, tickets } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import { wakeSlaTimers } from "../jobs/queue.js";
import { appendLedger, type LedgerEntryInput } from "../ledger/append.js";
import { type EffectiveAlerts, effectiveAlerts } from "../sla/alerts.js";
import type { CompiledCalendar } from "../sla/business-time.js";
import {
  atRiskAt,
  type ClockName,
  type ClockRecord,
  type ClockView,
  clockTargets,
  dueAt,
  isActive,
  isEscalation,
  isoSeconds,
  isPaused,
  newClock,
  nextCheckAt,
  runningMs,
  updateDueWarningAt,
  viewClock,
} from "../sla/clocks.js";
import { tenantCalendar } from "../sla/tenant-calendar.js";

type TicketRow = typeof tickets.$inferSelect;
type ClockRow = typeof slaClocks.$inferSelect;

/** What SLA bookkeeping needs besides the transaction: the plan catalog and the time. */
export interface SlaContext {
  catalog: PlanCatalog;
  now: () => Date;
  actor: Actor;
}

export interface TenantSla {
  plan: Plan;
  cal: CompiledCalendar;
  alerts: EffectiveAlerts;
}

/** The plan, calendar and alert settings a tenant's clocks run on; null when its plan is not in the catalog. */
export function slaOfTenant(
  catalog: PlanCatalog,
  tenant: typeof tenants.$inferSelect,
  now: Date,
): TenantSla | null {
  const plan = findPlan(catalog, tenant.plan);
  if (!plan) return null;
  return { plan, cal: tenantCalendar(plan, tenant, now), alerts: effectiveAlerts(plan, tenant.slaAlerts) };
}

export function findPlan(catalog: PlanCatalog, id: string): Plan | undefined {
  return catalog.plans.find((plan) => plan.id === id);
}

async function tenantSla(db: Queryable, ctx: SlaContext, tenantId: string): Promise<TenantSla | null> {
  const [tenant] = await db.select().from(tenants).where(eq(tenants.id, tenantId));
  return tenant ? slaOfTenant(ctx.catalog, tenant, ctx.now()) : null;
}

const ms = (d: Date | null) => (d ? d.getTime() : null);
const date = (n: number | null) => (n === null ? null : new Date(n));

/** A stored clock row as the pure clock rules see it. */
export function toRecord(row: ClockRow): ClockRecord {
  const hasTarget = row.targetMinutes !== null || row.targetBusinessDays !== null;
  return {
    name: row.clock as ClockName,
    target: hasTarget ? { minutes: row.targetMinutes, businessDays: row.targetBusinessDays } : null,
    startedAt: ms(row.startedAt),
    pauses: row.pauses,
    metAt: ms(row.metAt),
    stoppedAt: ms(row.stoppedAt),
    breachedAt: ms(row.breachedAt),
    atRiskRecordedAt: ms(row.atRiskRecordedAt),
    warningsRecorded: row.warningsRecorded,
    updateDueRecordedAt: ms(row.updateDueRecordedAt),
    autoUpdatePostedAt: ms(row.autoUpdatePostedAt),
    cycle: row.cycle,
  };
}

function toRow(ticket: TicketRow, clock: ClockRecord, sla: TenantSla): typeof slaClocks.$inferInsert {
  const due = dueAt(clock, sla.cal);
  const next = nextCheckAt(clock, sla.cal, sla.alerts);
  return {
    ticketId: ticket.id,
    clock: clock.name,
    tenantId: ticket.tenantId,
    targetMinutes: clock.target?.minutes ?? null,
    targetBusinessDays: clock.target?.businessDays ?? null,
    startedAt: date(clock.startedAt),
    pauses: clock.pauses,
    metAt: date(clock.metAt),
    stoppedAt: date(clock.stoppedAt),
    breachedAt: date(clock.breachedAt),
    atRiskRecordedAt: date(clock.atRiskRecordedAt),
    warningsRecorded: clock.warningsRecorded,
    updateDueRecordedAt: date(clock.updateDueRecordedAt),
    autoUpdatePostedAt: date(clock.autoUpdatePostedAt),
    dueAt: due !== null && Number.isFinite(due) ? new Date(due) : null,
    cycle: clock.cycle,
    elapsedBusinessSeconds:
      clock.metAt !== null ? Math.round(runningMs(clock, sla.cal, clock.metAt) / 1000) : null,
    nextCheckAt: date(next),
  };
}

type ClockColumn = Exclude<keyof typeof slaClocks.$inferInsert, "lockedUntil" | "lockedBy">;

/** The columns a clock's row sets: all but the worker's lease, which a rewrite clears. */
const clockColumns = (
  Object.keys(getTableColumns(slaClocks)) as (keyof typeof slaClocks.$inferInsert)[]
).filter((key): key is ClockColumn => key !== "lockedUntil" && key !== "lockedBy");
/** `"col" = excluded."col", ...` over those columns, one raw chunk built once: a rewritten clock takes them all. */
const clockUpdates = sql.raw(
  clockColumns
    .map((key) => quotedIdentifier(getTableColumns(slaClocks)[key].name))
    .map((name) => `${name} = excluded.${name}`)
    .join(", "),
);

/**
 * Upserts the clocks in one statement (their rows as one JSON parameter, so its text is the same whatever their
 * number), then pulls the timers forward when one of them is due to be checked soon.
 */
async function saveClocks(tx: Tx, ticket: TicketRow, clocks: ClockRecord[], sla: TenantSla, now: Date) {
  if (clocks.length === 0) return;
  let earliest: Date | null = null;
  const rows = clocks.map((clock) => {
    const row = toRow(ticket, clock, sla);
    if (row.nextCheckAt && (earliest === null || row.nextCheckAt < earliest)) earliest = row.nextCheckAt;
    return row;
  });
  const clockRows = tableRecordset(slaClocks, clockColumns, rows);
  // A rewritten clock drops any worker's lease on it, as each row's own upsert did.
  await sendWrite(
    tx,
    tx.execute(sql`insert into sla_clocks (${clockRows.columns}, locked_until, locked_by)
        select ${clockRows.columns}, null, null from ${clockRows.from}
        on conflict (ticket_id, clock) do update set ${clockUpdates},
          locked_until = null, locked_by = null`),
  );
  if (earliest) await wakeSlaTimers(tx, earliest, now);
}

/** Clears a cycle's alert marks: a new cycle warns again. */
function resetAlerts(clock: ClockRecord) {
  clock.breachedAt = null;
  clock.atRiskRecordedAt = null;
  clock.warningsRecorded = [];
  clock.updateDueRecordedAt = null;
  clock.autoUpdatePostedAt = null;
}

function entry(
  ticket: TicketRow,
  ctx: SlaContext,
  kind: string,
  detail: Record<string, unknown>,
): LedgerEntryInput {
  return {
    tenantId: ticket.tenantId,
    ticketId: ticket.id,
    direction: "internal",
    kind,
    actor: ctx.actor,
    side: "provider",
    detail,
  };
}

function targetDetail(clock: ClockRecord, sla: TenantSla, priority: Priority) {
  const due = dueAt(clock, sla.cal);
  return {
    clock: clock.name,
    cycle: clock.cycle,
    priority,
    plan: sla.plan.id,
    targetMinutes: clock.target?.minutes ?? null,
    targetBusinessDays: clock.target?.businessDays ?? null,
    dueAt: due !== null && Number.isFinite(due) ? isoSeconds(due) : null,
  };
}

/**
 * What starts a clock: the opening, the response (`response_met`: the update clock and extra clocks that
 * say so), or a named event (an extra clock's `startsOn`).
 */
function startsOn(plan: Plan, name: ClockName): string {
  if (name === "update") return "response_met";
  if (name.startsWith("extra:")) {
    return plan.extraClocks?.find((extra) => `extra:${extra.name}` === name)?.startsOn ?? "opened";
  }
  return "opened";
}

/**
 * Opens the ticket's clocks when it is created; the update clock waits for the response. `tenant` is the
 * ticket's tenant row when the caller has read it already (null: not found), else it is read here.
 */
export async function startClocks(
  tx: Tx,
  ctx: SlaContext,
  ticket: TicketRow,
  tenant?: typeof tenants.$inferSelect | null,
) {
  const sla =
    tenant === undefined
      ? await tenantSla(tx, ctx, ticket.tenantId)
      : tenant && slaOfTenant(ctx.catalog, tenant, ctx.now());
  if (!sla) return;
  const targets = clockTargets(sla.plan, ticket.priority);
  const opened = ticket.createdAt.getTime();
  const clocks: ClockRecord[] = [];
  for (const [name, target] of Object.entries(targets) as [ClockName, (typeof targets)[ClockName]][]) {
    if (!target) continue;
    clocks.push(newClock(name, target, startsOn(sla.plan, name) === "opened" ? opened : null));
  }
  await saveClocks(tx, ticket, clocks, sla, ctx.now());
  await appendLedger(
    tx,
    clocks
      .filter((c) => c.startedAt !== null)
      .map((c) =>
        entry(ticket, ctx, "sla.target_set", { ...targetDetail(c, sla, ticket.priority), reason: "opened" }),
      ),
  );
}

/** The tenant's SLA settings (null: no tenant, or its plan is unknown) and the ticket's clocks, in one query. */
async function slaAndClocks(
  tx: Queryable,
  ctx: SlaContext,
  ticket: TicketRow,
): Promise<{ sla: TenantSla | null; clocks: ClockRecord[] }> {
  const rows = await tx
    .select({ tenant: tenants, clock: slaClocks })
    .from(tenants)
    .leftJoin(slaClocks, and(eq(slaClocks.ticketId, ticket.id), eq(slaClocks.tenantId, tenants.id)))
    .where(eq(tenants.id, ticket.tenantId));
  const sla = rows[0] ? slaOfTenant(ctx.catalog, rows[0].tenant, ctx.now()) : null;
  return { sla, clocks: rows.flatMap((row) => (row.clock ? [toRecord(row.clock)] : [])) };
}

async function loadClocks(tx: Queryable, ticketId: string): Promise<ClockRecord[]> {
  const rows = await tx.select().from(slaClocks).where(eq(slaClocks.ticketId, ticketId));
  return rows.map(toRecord);
}

export type TicketSlaEvent =
  | { type: "status"; from: string; to: string; byProvider: boolean }
  | { type: "priority"; from: Priority; to: Priority }
  | { type: "provider_public_update" }
  | { type: "named"; event: string }
  | { type: "recompute"; reason: string };

/**
 * Applies one ticket event to its clocks, in the ticket's transaction, with the ledger entries it causes.
 * `ticket` is the row after the change.
 */
export async function applySlaEvent(tx: Tx, ctx: SlaContext, ticket: TicketRow, event: TicketSlaEvent) {
  const loaded = await slaAndClocks(tx, ctx, ticket);
  const sla = loaded.sla;
  if (!sla) return;
  const now = ctx.now().getTime();
  const clocks = new Map(loaded.clocks.map((c) => [c.name, c]));
  const entries: LedgerEntryInput[] = [];
  const changed = new Set<ClockName>();
  const touch = (c: ClockRecord) => changed.add(c.name);

  const meet = (clock: ClockRecord | undefined, reason: string) => {
    if (!clock || !isActive(clock)) return;
    clock.metAt = now;
    touch(clock);
    const due = dueAt(clock, sla.cal);
    entries.push(
      entry(ticket, ctx, "sla.met", {
        clock: clock.name,
        cycle: clock.cycle,
        reason,
        metAt: isoSeconds(now),
        businessSeconds: Math.round(runningMs(clock, sla.cal, now) / 1000),
        late: due !== null && now > due,
      }),
    );
  };
  const startUpdateCycle = (restart: boolean) => {
    startExtras("response_met");
    const update = clocks.get("update");
    if (!update?.target) return;
    if (restart && isActive(update)) {
      update.metAt = now;
      entries.push(
        entry(ticket, ctx, "sla.met", {
          clock: "update",
          cycle: update.cycle,
          reason: "provider_update",
          metAt: isoSeconds(now),
          // The silence this cycle lasted, in business time: the status-update report's longest silence.
          businessSeconds: Math.round(runningMs(update, sla.cal, now) / 1000),
          late: (dueAt(update, sla.cal) ?? now) < now,
        }),
      );
    }
    const wasStarted = update.startedAt !== null;
    update.cycle = wasStarted ? update.cycle + 1 : 1;
    update.startedAt = now;
    update.metAt = null;
    update.stoppedAt = null;
    resetAlerts(update);
    update.pauses = isPausedStatus(ticket.status, sla.plan) ? [{ from: now, to: null }] : [];
    touch(update);
    entries.push(
      entry(ticket, ctx, "sla.target_set", {
        ...targetDetail(update, sla, ticket.priority),
        reason: "update_cycle",
      }),
    );
  };
  /**
   * Starts the extra clocks an event starts. One that is running keeps its due (a second part failure
   * while the first awaits shipment changes nothing); one that was met or stopped starts a new cycle,
   * except on `response_met`, which happens once per ticket.
   */
  function startExtras(event: string) {
    for (const extra of sla!.plan.extraClocks ?? []) {
      if (extra.startsOn !== event) continue;
      const clock = clocks.get(`extra:${extra.name}`);
      if (!clock?.target) continue;
      if (clock.startedAt !== null) {
        if (event === "response_met" || isActive(clock)) continue;
        clock.cycle += 1;
      }
      clock.startedAt = now;
      clock.metAt = null;
      clock.stoppedAt = null;
      resetAlerts(clock);
      clock.pauses = isPausedStatus(ticket.status, sla!.plan) ? [{ from: now, to: null }] : [];
      touch(clock);
      entries.push(
        entry(ticket, ctx, "sla.target_set", {
          ...targetDetail(clock, sla!, ticket.priority),
          reason: event,
        }),
      );
    }
  }
  const stop = (clock: ClockRecord | undefined, reason: string) => {
    if (!clock || !isActive(clock)) return;
    clock.stoppedAt = now;
    touch(clock);
    entries.push(entry(ticket, ctx, "sla.stopped", { clock: clock.name, cycle: clock.cycle, reason }));
  };

  switch (event.type) {
    case "status": {
      const { from, to, byProvider } = event;
      const pausing = sla.plan.pauseOnPendingCustomer;
      if (pausing && to === "pending_customer") {
        for (const clock of clocks.values()) {
          if (isActive(clock) && !isPaused(clock)) {
            clock.pauses.push({ from: now, to: null });
            touch(clock);
            entries.push(
              entry(ticket, ctx, "sla.paused", {
                clock: clock.name,
                cycle: clock.cycle,
                reason: "pending_customer",
              }),
            );
          }
        }
      }
      if (pausing && from === "pending_customer") {
        for (const clock of clocks.values()) {
          const open = clock.pauses.find((p) => p.to === null);
          if (open) {
            open.to = now;
            touch(clock);
            if (isActive(clock)) {
              entries.push(
                entry(ticket, ctx, "sla.resumed", {
                  ...targetDetail(clock, sla, ticket.priority),
                  reason: "left_pending_customer",
                }),
              );
            }
          }
        }
      }
      if (from === "new" && byProvider && to !== "cancelled") {
        const response = clocks.get("response");
        const wasActive = response ? isActive(response) : false;
        meet(response, "acknowledged");
        if (wasActive || !response) startUpdateCycle(false);
      }
      if (byProvider) {
        // `status_in_progress` and the like: an extra clock met by the provider moving the ticket there.
        for (const extra of sla.plan.extraClocks ?? []) {
          if (extra.metBy === `status_${to}`) meet(clocks.get(`extra:${extra.name}`), extra.metBy);
        }
      }
      if (to === "resolved") {
        meet(clocks.get("resolution"), "resolved");
        // A named clock (an appointment) is moot once the ticket is resolved without it.
        // Escalation steps watch unresolved time, so they stop too (and resume on a reopen, below).
        for (const clock of clocks.values()) {
          if (clock.name.startsWith("extra:") || isEscalation(clock.name)) stop(clock, "resolved");
        }
        if (sla.plan.updateUntil === "resolved") stop(clocks.get("update"), "resolved");
      }
      if (from === "resolved" && to === "in_progress") {
        // A reopen resumes the resolution clock, and escalation steps that have not fired: the resolved
        // stretch becomes a pause, so elapsed time is kept.
        for (const clock of clocks.values()) {
          const resolvedAt =
            clock.name === "resolution" && clock.target
              ? clock.metAt
              : isEscalation(clock.name) && clock.breachedAt === null
                ? clock.stoppedAt
                : null;
          if (resolvedAt === null) continue;
          clock.pauses.push({ from: resolvedAt, to: now });
          clock.metAt = null;
          clock.stoppedAt = null;
          touch(clock);
          entries.push(
            entry(ticket, ctx, "sla.resumed", {
              ...targetDetail(clock, sla, ticket.priority),
              reason: "reopened",
            }),
          );
        }
        const update = clocks.get("update");
        if (update?.target && update.stoppedAt !== null) startUpdateCycle(false);
      }
      if (to === "closed" || to === "cancelled") {
        for (const clock of clocks.values()) stop(clock, to);
      }
      break;
    }
    case "provider_public_update": {
      const response = clocks.get("response");
      if (response && isActive(response)) {
        meet(response, "public_comment");
        startUpdateCycle(false);
      } else if (!response && !clocks.get("update")?.startedAt) {
        startUpdateCycle(false);
      } else {
        const update = clocks.get("update");
        if (update && (isActive(update) || update.breachedAt !== null) && update.stoppedAt === null)
          startUpdateCycle(true);
      }
      break;
    }
    case "named": {
      for (const extra of sla.plan.extraClocks ?? []) {
        if (extra.metBy === event.event) meet(clocks.get(`extra:${extra.name}`), event.event);
      }
      startExtras(event.event);
      break;
    }
    case "priority":
    case "recompute": {
      const reason = event.type === "priority" ? "priority_changed" : event.reason;
      const targets = clockTargets(sla.plan, ticket.priority);
      const response = clocks.get("response");
      for (const [name, target] of Object.entries(targets) as [ClockName, (typeof targets)[ClockName]][]) {
        let clock = clocks.get(name);
        if (!clock) {
          if (!target) continue;
          // A clock the new priority adds runs from the opening (the update clock from the response,
          // an event-started clock from its next event).
          const policy = startsOn(sla.plan, name);
          const responded = response?.metAt ?? (name === "update" ? null : ms(ticket.acknowledgedAt));
          const start =
            policy === "opened" ? ticket.createdAt.getTime() : policy === "response_met" ? responded : null;
          clock = newClock(name, target, start);
          clocks.set(name, clock);
        } else {
          clock.target = target;
        }
        touch(clock);
        // Retroactive, as ServiceNow does: the target counts from the opening, pauses kept; a breach the
        // new due date undoes is cleared so the timer can fire again at the new due date.
        const due = dueAt(clock, sla.cal);
        if (clock.metAt === null && due !== null && due > now) {
          clock.breachedAt = null;
          clock.atRiskRecordedAt = null;
          // Warnings whose instant the new target moves into the future may fire again; passed ones stay
          // recorded, so a recompute does not repeat them. The automatic post stays once per cycle.
          clock.warningsRecorded = clock.warningsRecorded.filter((ratio) => {
            const at = atRiskAt(clock!, sla.cal, ratio);
            return at !== null && at <= now;
          });
          const updateDue = updateDueWarningAt(clock, sla.cal, sla.alerts.updateDueLeadMs);
          if (updateDue === null || updateDue > now) clock.updateDueRecordedAt = null;
        }
        if (clock.startedAt !== null) {
          entries.push(
            entry(ticket, ctx, "sla.target_set", { ...targetDetail(clock, sla, ticket.priority), reason }),
          );
        }
      }
      break;
    }
  }

  await saveClocks(
    tx,
    ticket,
    [...clocks.values()].filter((c) => changed.has(c.name)),
    sla,
    ctx.now(),
  );
  await appendLedger(tx, entries);
}

function isPausedStatus(status: string, plan: Plan): boolean {
  return plan.pauseOnPendingCustomer && status === "pending_customer";
}

export interface TicketSlaView {
  plan: string | null;
  response: ClockView;
  update: ClockView;
  resolution: ClockView;
  [extra: string]: ClockView | string | null;
}

/** The clocks as `GET /v1/tickets/:id` shows them. */
export async function ticketSla(
  db: Queryable,
  ctx: Pick<SlaContext, "catalog" | "now">,
  ticket: TicketRow,
): Promise<TicketSlaView> {
  return (await ticketSlas(db, ctx, [ticket])).get(ticket.id)!;
}

/**
 * The SLA views of many tickets in two queries (their tenants, their clocks), for lists: the same view
 * {@link ticketSla} gives one ticket.
 */
export async function ticketSlas(
  db: Queryable,
  ctx: Pick<SlaContext, "catalog" | "now">,
  rows: readonly Pick<TicketRow, "id" | "tenantId">[],
): Promise<Map<string, TicketSlaView>> {
  const views = new Map<string, TicketSlaView>();
  if (rows.length === 0) return views;
  const now = ctx.now();
  const tenantIds = [...new Set(rows.map((r) => r.tenantId))];
  const [tenantRows, clockRows] = await Promise.all([
    db.select().from(tenants).where(inArray(tenants.id, tenantIds)),
    db
      .select()
      .from(slaClocks)
      .where(
        inArray(
          slaClocks.ticketId,
          rows.map((r) => r.id),
        ),
      ),
  ]);
  const slaOf = new Map(tenantRows.map((t) => [t.id, slaOfTenant(ctx.catalog, t, now)]));
  const clocksOf = new Map<string, Map<string, ClockRecord>>();
  for (const row of clockRows) {
    const clocks = clocksOf.get(row.ticketId) ?? new Map<string, ClockRecord>();
    clocks.set(row.clock, toRecord(row));
    clocksOf.set(row.ticketId, clocks);
  }
  const none = viewClock(undefined, null as unknown as CompiledCalendar, 0);
  for (const { id, tenantId } of rows) {
    const sla = slaOf.get(tenantId);
    if (!sla) {
      views.set(id, { plan: null, response: none, update: none, resolution: none });
      continue;
    }
    const clocks = clocksOf.get(id) ?? new Map<string, ClockRecord>();
    const at = now.getTime();
    const view: TicketSlaView = {
      plan: sla.plan.id,
      response: viewClock(clocks.get("response"), sla.cal, at),
      update: viewClock(clocks.get("update"), sla.cal, at),
      resolution: viewClock(clocks.get("resolution"), sla.cal, at),
    };
    for (const extra of sla.plan.extraClocks ?? []) {
      view[extra.name] = viewClock(clocks.get(`extra:${extra.name}`), sla.cal, at);
    }
    views.set(id, view);
  }
  return views;
}

/** A tenant's tickets that are not closed or cancelled, locked in id order. */
function lockOpenTickets(tx: Tx, tenantId: string) {
  return tx
    .select()
    .from(tickets)
    .where(and(eq(tickets.tenantId, tenantId), notInArray(tickets.status, ["closed", "cancelled"])))
    .orderBy(tickets.id)
    .for("update");
}

/** Recomputes the open clocks of every ticket of a tenant (plan, zone or holidays changed). */
export async function recomputeTenantClocks(tx: Tx, ctx: SlaContext, tenantId: string, reason: string) {
  for (const ticket of await lockOpenTickets(tx, tenantId)) {
    await applySlaEvent(tx, ctx, ticket, { type: "recompute", reason });
  }
}

/**
 * Rewrites the timers of a tenant's open clocks after its alert settings changed (a new warning ratio may
 * fall before a clock's stored next check). No ledger entries: targets and dues are unchanged.
 */
export async function refreshTenantTimers(tx: Tx, ctx: SlaContext, tenantId: string) {
  const sla = await tenantSla(tx, ctx, tenantId);
  if (!sla) return;
  for (const ticket of await lockOpenTickets(tx, tenantId)) {
    await saveClocks(tx, ticket, await loadClocks(tx, ticket.id), sla, ctx.now());
  }
}

export function assertPlanExists(catalog: PlanCatalog, id: string) {
  if (!findPlan(catalog, id)) {
    throw new GatewayError("NOT_FOUND", `Plan ${id} is not in the plan catalog.`);
  }
}
