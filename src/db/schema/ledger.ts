import { sql } from "drizzle-orm";
import { bigint, bigserial, index, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { instant } from "./columns.js";

/**
 * The integration ledger. Append-only (triggers reject UPDATE, DELETE and TRUNCATE on both engines)
 * and hash-chained per chain key (the tenant id, or "provider" for entries without a tenant), so
 * writers of different tenants never wait on each other.
 */
export const ledgerEntries = pgTable(
  "ledger_entries",
  {
    sequence: bigserial("sequence", { mode: "number" }).primaryKey(),
    occurredAt: instant("occurred_at").notNull(),
    chainKey: text("chain_key").notNull(),
    tenantId: text("tenant_id"),
    ticketId: text("ticket_id"),
    connectionId: text("connection_id"),
    direction: text("direction", { enum: ["inbound", "outbound", "internal"] }).notNull(),
    kind: text("kind").notNull(),
    actorType: text("actor_type").notNull(),
    actorId: text("actor_id"),
    side: text("side", { enum: ["provider", "client", "carrier"] }).notNull(),
    externalId: text("external_id"),
    payloadHash: text("payload_hash"),
    detail: jsonb("detail").$type<Record<string, unknown>>().notNull(),
    prevHash: text("prev_hash"),
    hash: text("hash").notNull(),
  },
  (t) => [
    // Chain walk (append reads the head, verify walks a chain in order).
    index("ledger_chain_idx").on(t.chainKey, t.sequence),
    index("ledger_ticket_idx").on(t.ticketId, t.sequence),
    index("ledger_tenant_idx").on(t.tenantId, t.sequence),
    // Connection health counts a connection's deliveries and failures of the last 24 h (src/sync/health.ts).
    index("ledger_connection_outcome_idx")
      .on(t.connectionId, t.occurredAt)
      .where(sql`${t.kind} in ('sync.sent', 'sync.applied', 'sync.failed')`),
  ],
);

/**
 * Signed checkpoints: per scope (a tenant, or "provider"), the heads of every chain at one instant, their
 * Merkle root and the Ed25519 signature over it. Append-only like the ledger (same triggers).
 */
export const ledgerCheckpoints = pgTable(
  "ledger_checkpoints",
  {
    id: text("id").primaryKey(),
    scope: text("scope").notNull(),
    tenantId: text("tenant_id"),
    issuedAt: instant("issued_at").notNull(),
    entries: bigint("entries", { mode: "number" }).notNull(),
    root: text("root").notNull(),
    heads: jsonb("heads")
      .$type<{ chainKey: string; sequence: number; count: number; hash: string }[]>()
      .notNull(),
    keyId: text("key_id").notNull(),
    signature: text("signature").notNull(),
  },
  // The newest checkpoint of a scope (signing compares against it; listings page by scope and time).
  (t) => [index("ledger_checkpoints_scope_idx").on(t.scope, t.issuedAt)],
);
