import { and, eq, sql } from "drizzle-orm";
import type { PlanCatalog } from "../../schemas/plan.js";
import { type Db, queryRows } from "../db/client.js";
import { slaClocks, tenants, tickets } from "../db/schema/index.js";
import { appendLedger, type LedgerEntryInput } from "../ledger/append.js";
import {
  atRiskAt,
  type ClockName,
  dueAt,
  isActive,
  isEscalation,
  isoSeconds,
  nextCheckAt,
  runningMs,
} from "../sla/clocks.js";
import { tenantCalendar } from "../sla/tenant-calendar.js";
import { findPlan, toRecord } from "./sla.js";

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
 * re-checking what was already recorded, so an at-risk or breach entry is written exactly once.
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
  for (const { ticket_id: ticketId, clock } of claimed) {
    await fireClock(db, options, ticketId, clock as ClockName);
  }
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
    const plan = tenant ? findPlan(options.catalog, tenant.plan) : undefined;
    const now = options.now().getTime();
    const update: Partial<typeof slaClocks.$inferInsert> = { lockedBy: null, lockedUntil: null };
    const entries: LedgerEntryInput[] = [];
    if (plan && tenant) {
      const cal = tenantCalendar(plan, tenant, new Date(now));
      const record = toRecord(row);
      const base = {
        tenantId: ticket.tenantId,
        ticketId,
        direction: "internal" as const,
        actor: { type: "system" as const, id: "sla-timer" },
        side: "provider" as const,
      };
      if (isActive(record) && isEscalation(clockName)) {
        const due = dueAt(record, cal);
        const step = plan.escalations?.find((s) => `escalation:${s.name}` === clockName);
        if (record.breachedAt === null && due !== null && due <= now) {
          // `breachedAt` marks the step as fired, so it fires once per due.
          record.breachedAt = now;
          entries.push({
            ...base,
            kind: "sla.escalated",
            detail: {
              clock: clockName,
              cycle: record.cycle,
              step: clockName.slice("escalation:".length),
              role: step?.role ?? null,
              priority: ticket.priority,
              afterMinutes: record.target?.minutes ?? null,
              afterBusinessDays: record.target?.businessDays ?? null,
              dueAt: isoSeconds(due),
              detectedAt: isoSeconds(now),
            },
          });
        }
      } else if (isActive(record)) {
        const due = dueAt(record, cal);
        const risk = atRiskAt(record, cal, plan.atRiskRatio);
        if (record.atRiskRecordedAt === null && risk !== null && risk <= now && (due === null || now < due)) {
          record.atRiskRecordedAt = now;
          entries.push({
            ...base,
            kind: "sla.at_risk",
            detail: {
              clock: clockName,
              cycle: record.cycle,
              dueAt: due !== null ? isoSeconds(due) : null,
              ratio: plan.atRiskRatio,
              businessSeconds: Math.round(runningMs(record, cal, now) / 1000),
            },
          });
        }
        if (record.breachedAt === null && due !== null && due <= now) {
          record.breachedAt = now;
          if (record.atRiskRecordedAt === null) record.atRiskRecordedAt = now;
          entries.push({
            ...base,
            kind: "sla.breached",
            detail: {
              clock: clockName,
              cycle: record.cycle,
              dueAt: isoSeconds(due),
              detectedAt: isoSeconds(now),
            },
          });
        }
      }
      update.atRiskRecordedAt = record.atRiskRecordedAt === null ? null : new Date(record.atRiskRecordedAt);
      update.breachedAt = record.breachedAt === null ? null : new Date(record.breachedAt);
      const next = nextCheckAt(record, cal, plan.atRiskRatio);
      update.nextCheckAt = next === null ? null : new Date(next);
    } else {
      update.nextCheckAt = null;
    }
    await tx
      .update(slaClocks)
      .set(update)
      .where(and(eq(slaClocks.ticketId, ticketId), eq(slaClocks.clock, clockName)));
    await appendLedger(tx, entries);
  });
}
