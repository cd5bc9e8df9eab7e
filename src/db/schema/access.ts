import { sql } from "drizzle-orm";
import { index, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import type { SlaAlertSettings } from "../../../schemas/plan.js";
import { instant, timestamps } from "./columns.js";

export const tenants = pgTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  plan: text("plan").notNull(),
  /** IANA zone; null means the plan's default zone. */
  timezone: text("timezone"),
  /** Local dates (YYYY-MM-DD) the tenant's desk is closed, on top of the plan's calendar. */
  holidays: jsonb("holidays").$type<string[]>().notNull().default([]),
  /** ISO country (optionally with a region, "DE-BY") whose public holidays also close the desk. */
  holidayCountry: text("holiday_country"),
  /** The tenant's own priority translation overrides per scheme; a connection's own override wins. */
  priorityOverrides: jsonb("priority_overrides").$type<Record<string, unknown>>().notNull().default({}),
  /** The tenant's overrides of its plan's SLA warnings and automatic status updates. */
  slaAlerts: jsonb("sla_alerts").$type<SlaAlertSettings>().notNull().default({}),
  ...timestamps,
});

export const operators = pgTable("operators", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** null: every tenant; otherwise only these tenants. */
  tenantIds: jsonb("tenant_ids").$type<string[] | null>(),
  ...timestamps,
});

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["tenant", "operator"] }).notNull(),
    tenantId: text("tenant_id").references(() => tenants.id),
    operatorId: text("operator_id").references(() => operators.id),
    /** First characters of the key, shown in listings so a user can tell keys apart. */
    prefix: text("prefix").notNull(),
    /** SHA-256 of the whole key: keys are 192-bit random, so a fast hash is enough and lookups stay O(1). */
    keyHash: text("key_hash").notNull(),
    createdAt: instant("created_at").notNull().defaultNow(),
    revokedAt: instant("revoked_at"),
    lastUsedAt: instant("last_used_at"),
  },
  (t) => [
    uniqueIndex("api_keys_key_hash_idx").on(t.keyHash),
    // Listing a tenant's keys.
    index("api_keys_tenant_idx").on(t.tenantId).where(sql`${t.tenantId} is not null`),
  ],
);
