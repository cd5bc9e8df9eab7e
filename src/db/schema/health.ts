import { integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { healthStates } from "../../../schemas/connection.js";
import { instant } from "./columns.js";
import { connections } from "./sync.js";

export type HealthState = (typeof healthStates)[number];

/**
 * The last evaluation of a connection's health by the `connection.health` job (docs/operations.md#connection-health). The
 * counts are derived from the ledger and the jobs table, so deliveries write nothing extra for health. `state`
 * moves only once an observation has held for the damping period (`pending_state` is the one waiting);
 * `version` makes the write a compare-and-set, so two evaluations racing ledger a change once.
 */
export const connectionHealth = pgTable("connection_health", {
  connectionId: text("connection_id")
    .primaryKey()
    .references(() => connections.id),
  tenantId: text("tenant_id"),
  state: text("state", { enum: healthStates }).notNull(),
  stateSince: instant("state_since").notNull(),
  /** Why the current state holds (rule codes with their figures). */
  reasons: jsonb("reasons").$type<string[]>().notNull().default([]),
  pendingState: text("pending_state", { enum: healthStates }),
  pendingSince: instant("pending_since"),
  pendingReasons: jsonb("pending_reasons").$type<string[]>(),
  evaluatedAt: instant("evaluated_at").notNull(),
  lastSuccessAt: instant("last_success_at"),
  lastFailureAt: instant("last_failure_at"),
  /** Secrets of the connection replaced, as dead letters show errors. */
  lastFailureReason: text("last_failure_reason"),
  deliveries15m: integer("deliveries_15m").notNull().default(0),
  failures15m: integer("failures_15m").notNull().default(0),
  deliveries24h: integer("deliveries_24h").notNull().default(0),
  failures24h: integer("failures_24h").notNull().default(0),
  consecutiveFailures: integer("consecutive_failures").notNull().default(0),
  version: integer("version").notNull().default(0),
});
