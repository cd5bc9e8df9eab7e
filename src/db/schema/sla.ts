import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { instant } from "./columns.js";
import { tickets } from "./tickets.js";

/** One row per ticket and clock; also the durable timer (next_check_at) the worker leases. */
export const slaClocks = pgTable(
  "sla_clocks",
  {
    ticketId: text("ticket_id")
      .notNull()
      .references(() => tickets.id, { onDelete: "cascade" }),
    clock: text("clock").notNull(),
    tenantId: text("tenant_id").notNull(),
    targetMinutes: integer("target_minutes"),
    targetBusinessDays: integer("target_business_days"),
    startedAt: instant("started_at"),
    /** [{from, to}] as epoch ms; to is null while the pause goes on. */
    pauses: jsonb("pauses").$type<{ from: number; to: number | null }[]>().notNull().default([]),
    metAt: instant("met_at"),
    stoppedAt: instant("stopped_at"),
    breachedAt: instant("breached_at"),
    atRiskRecordedAt: instant("at_risk_recorded_at"),
    /** The warning ratios already written this cycle (`sla.warning`), so each fires once. */
    warningsRecorded: jsonb("warnings_recorded").$type<number[]>().notNull().default([]),
    /** The update clock's `sla.update_due` of this cycle. */
    updateDueRecordedAt: instant("update_due_recorded_at"),
    /** The automatic status update of this cycle. */
    autoUpdatePostedAt: instant("auto_update_posted_at"),
    dueAt: instant("due_at"),
    cycle: integer("cycle").notNull().default(1),
    /** Business seconds from start to met, kept for reports. */
    elapsedBusinessSeconds: integer("elapsed_business_seconds"),
    nextCheckAt: instant("next_check_at"),
    /** A worker's lease: a committed row, never a transaction held open. */
    lockedUntil: instant("locked_until"),
    lockedBy: text("locked_by"),
  },
  (t) => [
    primaryKey({ columns: [t.ticketId, t.clock] }),
    // The timer scan: only clocks with something left to fire.
    index("sla_clocks_next_check_idx").on(t.nextCheckAt).where(sql`${t.nextCheckAt} is not null`),
    index("sla_clocks_tenant_idx").on(t.tenantId),
    // The metrics' at-risk and breached gauges count only open clocks already at risk (breach implies it).
    index("sla_clocks_open_at_risk_idx")
      .on(t.tenantId)
      .where(sql`${t.atRiskRecordedAt} is not null and ${t.metAt} is null and ${t.stoppedAt} is null`),
  ],
);
