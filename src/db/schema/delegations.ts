import { index, jsonb, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";
import { instant, timestamps } from "./columns.js";
import { connections } from "./sync.js";
import { tickets } from "./tickets.js";

/** A canonical ticket handed to a carrier: the provider acting as the client's single point of contact. */
export const delegations = pgTable(
  "delegations",
  {
    id: text("id").primaryKey(),
    ticketId: text("ticket_id")
      .notNull()
      .references(() => tickets.id, { onDelete: "cascade" }),
    tenantId: text("tenant_id").notNull(),
    connectionId: text("connection_id")
      .notNull()
      .references(() => connections.id),
    state: text("state").notNull(),
    carrierTicketId: text("carrier_ticket_id"),
    carrierStatus: text("carrier_status"),
    reason: text("reason"),
    service: jsonb("service").$type<{ id: string; type: string | null } | null>(),
    /** Stretches the carrier waited on us (pending / information required), epoch ms; `to` null while open. */
    pauses: jsonb("pauses").$type<{ from: number; to: number | null }[]>().notNull().default([]),
    acknowledgedAt: instant("acknowledged_at"),
    resolvedAt: instant("resolved_at"),
    closedAt: instant("closed_at"),
    /** OLA breaches already recorded (`acknowledge`, `restore`), so each is written once. */
    breaches: jsonb("breaches").$type<string[]>().notNull().default([]),
    ...timestamps,
  },
  (t) => [
    index("delegations_ticket_idx").on(t.ticketId),
    uniqueIndex("delegations_carrier_ticket_idx").on(t.connectionId, t.carrierTicketId),
    index("delegations_connection_state_idx").on(t.connectionId, t.state),
  ],
);

/** Carrier notes already brought in, per delegation: a note is imported once. */
export const delegationNotes = pgTable(
  "delegation_notes",
  {
    delegationId: text("delegation_id")
      .notNull()
      .references(() => delegations.id, { onDelete: "cascade" }),
    externalNoteId: text("external_note_id").notNull(),
    commentId: text("comment_id"),
    createdAt: instant("created_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.delegationId, t.externalNoteId] })],
);
