import { and, eq, sql } from "drizzle-orm";
import type { AutoStatusUpdate, PlanCatalog } from "../../schemas/plan.js";
import { type Db, queryRows, type Tx } from "../db/client.js";
import { slaClocks, tenants, tickets } from "../db/schema/index.js";
import { appendLedger, type LedgerEntryInput } from "../ledger/append.js";
import { renderStatusUpdate } from "../sla/alerts.js";
import {
  type ClockName,
  type ClockRecord,
  dueAt,
  isEscalation,
  isoSeconds,
  newClock,
  nextCheckAt,
  pendingAlerts,
  runningMs,
} from "../sla/clocks.js";
import { slaOfTenant, type TenantSla, toRecord } from "./sla.js";
import { insertComment, type TicketRow } from "./ticket-writes.js";

const FIRE_CONCURRENCY = 4;

export interface SlaTimerOptions {
  catalog: PlanCatalog;
  now: () => Date;
  workerId: string;
  leaseMs: number;
  batchSize: number;
}

/**
 * One pass of the durable SLA timers. Claiming is one committed UPDATE over rows chosen with
 * FOR UPDATE SKIP LOCKED, so concurrent workers take disjoint clocks and no transaction stays open
 * while a clock is handled; each clock is then fired in its own transaction under the ticket's row lock,
 * re-checking what was already recorded, so each warning, at-risk, update-due, breach entry and automatic
 * status update is written exactly once per cycle.
 */
export async function runSlaTimers(db: Db, options: SlaTimerOptions): Promise<number> {
  const now = options.now().toISOString();
  const leaseEnd = new Date(options.now().getTime() + options.leaseMs).toISOString();
  // Instants go in as ISO text: raw SQL parameters are not serialised the same way by both drivers.
  const claimed = await queryRows<{ ticket_id: string; clock: string }>(
    db,
    sql`update sla_clocks set locked_until = ${leaseEnd}::timestamptz, locked_by = ${options.workerId}
        where (ticket_id, clock) in (
          select ticket_id, clock from sla_clocks
          where next_check_at <= ${now}::timestamptz and (locked_until is null or locked_until < ${now}::timestamptz)
          order by next_check_at
          limit ${options.batchSize}
          for update skip locked)
        returning ticket_id, clock`,
  );
  // A few clocks at once: many instants falling together (a burst of tickets opened together) would
  // otherwise queue behind each other's transactions. Clocks of one ticket serialise on its row lock.
  const queue = [...claimed];
  const lanes = await Promise.allSettled(
    Array.from({ length: Math.min(FIRE_CONCURRENCY, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        await fireClock(db, options, next.ticket_id, next.clock as ClockName);
      }
    }),
  );
  // Every lane has finished before a failure is reported (a failed clock waits out its lease).
  const failed = lanes.find((lane) => lane.status === "rejected");
  if (failed) throw failed.reason;
  return claimed.length;
}

async function fireClock(db: Db, options: SlaTimerOptions, ticketId: string, clockName: ClockName) {
  await db.transaction(async (tx) => {
    const [ticket] = await tx.select().from(tickets).where(eq(tickets.id, ticketId)).for("update");
    const [row] = await tx
      .select()
      .from(slaClocks)
      .where(and(eq(slaClocks.ticketId, ticketId), eq(slaClocks.clock, clockName)));
    // Someone else (a ticket change, or a worker whose lease this one outlived) took it over.
    if (!ticket || !row || row.lockedBy !== options.workerId) return;
    const [tenant] = await tx.select().from(tenants).where(eq(tenants.id, ticket.tenantId));
    const now = options.now().getTime();
    const sla = tenant ? slaOfTenant(options.catalog, tenant, new Date(now)) : null;
    const update: Partial<typeof slaClocks.$inferInsert> = { lockedBy: null, lockedUntil: null };
    const entries: LedgerEntryInput[] = [];
    let autoPost: AutoStatusUpdate | null = null;
    if (sla) {
      const record = toRecord(row);
      const fired = fireAlerts(record, sla, ticket, now);
      entries.push(...fired.entries);
      autoPost = fired.autoPost;
      update.atRiskRecordedAt = date(record.atRiskRecordedAt);
      update.breachedAt = date(record.breachedAt);
      update.warningsRecorded = record.warningsRecorded;
      update.updateDueRecordedAt = date(record.updateDueRecordedAt);
      update.autoUpdatePostedAt = date(record.autoUpdatePostedAt);
      update.nextCheckAt = date(nextCheckAt(record, sla.cal, sla.alerts));
    } else {
      update.nextCheckAt = null;
    }
    await tx
      .update(slaClocks)
      .set(update)
      .where(and(eq(slaClocks.ticketId, ticketId), eq(slaClocks.clock, clockName)));
    await appendLedger(tx, entries);
    // After the clock row is written: a post that meets the update clock starts its next cycle.
    if (autoPost && sla) await postStatusUpdate(tx, options, ticket, toRecord(row), sla, autoPost, now);
  });
}

const date = (n: number | null) => (n === null ? null : new Date(n));

const businessMsBetween = (record: ClockRecord, sla: TenantSla, from: number, to: number) =>
  runningMs(record, sla.cal, to) - runningMs(record, sla.cal, from);

/**
 * Writes what a clock has reached by `now`, each once per cycle, marking it on the record: warnings, at risk
 * and update due only before the due (a clock first checked after its due gets only the breach), the breach
 * or escalation at the due.
 */
function fireAlerts(record: ClockRecord, sla: TenantSla, ticket: TicketRow, now: number) {
  const entries: LedgerEntryInput[] = [];
  let autoPost: AutoStatusUpdate | null = null;
  const base = {
    tenantId: ticket.tenantId,
    ticketId: ticket.id,
    direction: "internal" as const,
    actor: { type: "system" as const, id: "sla-timer" },
    side: "provider" as const,
  };
  const due = dueAt(record, sla.cal);
  const dueIso = due !== null && Number.isFinite(due) ? isoSeconds(due) : null;
  const beforeDue = due === null || now < due;
  const reached = pendingAlerts(record, sla.cal, sla.alerts)
    .filter((alert) => alert.at <= now)
    .sort((a, b) => a.at - b.at);
  for (const alert of reached) {
    switch (alert.kind) {
      case "warning":
        record.warningsRecorded = [...record.warningsRecorded, alert.ratio].sort((a, b) => a - b);
        if (beforeDue) {
          entries.push({
            ...base,
            kind: "sla.warning",
            detail: {
              clock: record.name,
              cycle: record.cycle,
              ratio: alert.ratio,
              dueAt: dueIso,
              businessSeconds: Math.round(runningMs(record, sla.cal, now) / 1000),
            },
          });
        }
        break;
      case "at_risk":
        record.atRiskRecordedAt = now;
        if (beforeDue) {
          entries.push({
            ...base,
            kind: "sla.at_risk",
            detail: {
              clock: record.name,
              cycle: record.cycle,
              dueAt: dueIso,
              ratio: sla.alerts.atRiskRatio,
              businessSeconds: Math.round(runningMs(record, sla.cal, now) / 1000),
            },
          });
        }
        break;
      case "update_due":
        record.updateDueRecordedAt = now;
        if (beforeDue) {
          entries.push({
            ...base,
            kind: "sla.update_due",
            detail: {
              clock: record.name,
              cycle: record.cycle,
              dueAt: dueIso,
              minutesLeft:
                due === null
                  ? null
                  : Math.max(0, Math.round(businessMsBetween(record, sla, now, due) / 60_000)),
            },
          });
          if (sla.alerts.autoStatusUpdate && record.autoUpdatePostedAt === null) {
            record.autoUpdatePostedAt = now;
            autoPost = sla.alerts.autoStatusUpdate;
          }
        }
        break;
      case "due":
        record.breachedAt = now;
        entries.push(
          isEscalation(record.name)
            ? escalated(record, sla, ticket, base, alert.at, now)
            : {
                ...base,
                kind: "sla.breached",
                detail: {
                  clock: record.name,
                  cycle: record.cycle,
                  dueAt: isoSeconds(alert.at),
                  detectedAt: isoSeconds(now),
                },
              },
        );
        break;
    }
  }
  return { entries, autoPost };
}

function escalated(
  record: ClockRecord,
  sla: TenantSla,
  ticket: TicketRow,
  base: Omit<LedgerEntryInput, "kind" | "detail">,
  due: number,
  now: number,
): LedgerEntryInput {
  // `breachedAt` marks the step as fired, so it fires once per due.
  const step = sla.plan.escalations?.find((s) => `escalation:${s.name}` === record.name);
  return {
    ...base,
    kind: "sla.escalated",
    detail: {
      clock: record.name,
      cycle: record.cycle,
      step: record.name.slice("escalation:".length),
      role: step?.role ?? null,
      priority: ticket.priority,
      afterMinutes: record.target?.minutes ?? null,
      afterBusinessDays: record.target?.businessDays ?? null,
      dueAt: isoSeconds(due),
      detectedAt: isoSeconds(now),
    },
  };
}

/**
 * Posts the automatic status update through the normal comment path (ledger, outbound sync to the client's
 * desk), as the system on the provider's side. It is a provider act for the SLA clocks only where the plan
 * says it meets the update clock.
 */
async function postStatusUpdate(
  tx: Tx,
  options: SlaTimerOptions,
  ticket: TicketRow,
  update: ClockRecord,
  sla: TenantSla,
  settings: AutoStatusUpdate,
  now: number,
) {
  const nextDue = settings.meetsUpdateClock
    ? dueAt(newClock("update", update.target, now), sla.cal)
    : dueAt(update, sla.cal);
  const body = renderStatusUpdate(settings.template, {
    ticketId: ticket.id,
    title: ticket.title,
    status: ticket.status.replaceAll("_", " "),
    priority: ticket.priority,
    nextUpdateDue: nextDue !== null && Number.isFinite(nextDue) ? isoSeconds(nextDue) : "when work resumes",
  });
  const actor = { type: "system" as const, id: "auto-status-update" };
  const { comment } = await insertComment(
    tx,
    {
      actor,
      side: "provider",
      provider: settings.meetsUpdateClock,
      now: () => new Date(now),
      catalog: options.catalog,
      direction: "internal",
    },
    ticket,
    {
      body,
      visibility: "public",
      authorId: actor.id,
      authorName: "Automatic status update",
      automatic: true,
    },
  );
  await appendLedger(tx, [
    {
      tenantId: ticket.tenantId,
      ticketId: ticket.id,
      direction: "internal",
      kind: "sla.auto_update_posted",
      actor,
      side: "provider",
      detail: {
        clock: "update",
        cycle: update.cycle,
        commentId: comment.id,
        meetsUpdateClock: settings.meetsUpdateClock,
        dueAt: (() => {
          const due = dueAt(update, sla.cal);
          return due !== null && Number.isFinite(due) ? isoSeconds(due) : null;
        })(),
      },
    },
  ]);
}
