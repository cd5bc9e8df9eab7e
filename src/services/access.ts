import { and, asc, desc, eq, gt, isNull } from "drizzle-orm";
import type { z } from "zod";
import type { CreateOperator, CreateTenant, UpdateTenant } from "../../schemas/tenant.js";
import { generateApiKey } from "../auth/api-keys.js";
import { actorOf } from "../auth/principal.js";
import type { Tx } from "../db/client.js";
import { apiKeys, operators, tenants } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import { appendLedger } from "../ledger/append.js";
import { decodeCursor, page } from "../lib/cursor.js";
import { newId } from "../lib/ids.js";
import { isKnownHolidayCountry } from "../sla/tenant-calendar.js";
import { type ServiceContext, slaContext } from "./context.js";
import { findPlan, recomputeTenantClocks, refreshTenantTimers } from "./sla.js";

type TenantRow = typeof tenants.$inferSelect;

export function tenantToApi(row: TenantRow) {
  return {
    id: row.id,
    name: row.name,
    plan: row.plan,
    timezone: row.timezone,
    priorityOverrides: row.priorityOverrides,
    slaAlerts: row.slaAlerts,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function keyToApi(row: typeof apiKeys.$inferSelect) {
  return {
    id: row.id,
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}

async function insertKey(tx: Tx, owner: { tenantId: string } | { operatorId: string }) {
  const key = generateApiKey("tenantId" in owner ? "tenant" : "operator");
  const [row] = await tx
    .insert(apiKeys)
    .values({
      id: key.id,
      kind: "tenantId" in owner ? "tenant" : "operator",
      tenantId: "tenantId" in owner ? owner.tenantId : null,
      operatorId: "operatorId" in owner ? owner.operatorId : null,
      prefix: key.prefix,
      keyHash: key.hash,
    })
    .returning();
  return { keyId: key.id, apiKey: key.secret, prefix: key.prefix, createdAt: row!.createdAt.toISOString() };
}

export async function createTenant(ctx: ServiceContext, input: z.infer<typeof CreateTenant>) {
  assertPlan(ctx, input.plan);
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(tenants)
      .values({
        id: newId("tenant"),
        name: input.name,
        plan: input.plan,
        timezone: input.timezone ?? null,
        priorityOverrides: input.priorityOverrides ?? {},
        slaAlerts: input.slaAlerts ?? {},
      })
      .returning();
    const key = await insertKey(tx, { tenantId: row!.id });
    await appendLedger(tx, [
      {
        tenantId: row!.id,
        direction: "internal",
        kind: "tenant.created",
        actor: actorOf(ctx.principal),
        side: "provider",
        detail: { plan: row!.plan, timezone: row!.timezone, keyId: key.keyId },
      },
    ]);
    return { ...tenantToApi(row!), apiKey: key.apiKey, keyId: key.keyId };
  });
}

function assertPlan(ctx: ServiceContext, plan: string) {
  if (!findPlan(ctx.catalog, plan)) {
    const known = ctx.catalog.plans.map((p) => p.id).join(", ");
    throw new GatewayError("VALIDATION_FAILED", `Plan ${plan} is not in the plan catalog.`, {
      errors: [{ path: "plan", message: `unknown plan; one of: ${known}` }],
    });
  }
}

async function findTenant(db: ServiceContext["db"] | Tx, id: string) {
  const [row] = await db.select().from(tenants).where(eq(tenants.id, id));
  if (!row) throw new GatewayError("NOT_FOUND", `Tenant ${id} was not found.`);
  return row;
}

export async function getTenant(ctx: ServiceContext, id: string) {
  return tenantToApi(await findTenant(ctx.db, id));
}

export async function listTenants(ctx: ServiceContext, query: { limit: number; cursor?: string }) {
  const after = decodeCursor<string>(query.cursor, "string");
  const rows = await ctx.db
    .select()
    .from(tenants)
    .where(after ? gt(tenants.id, after) : undefined)
    .orderBy(asc(tenants.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (r) => r.id);
  return { items: result.items.map(tenantToApi), nextCursor: result.nextCursor };
}

export async function updateTenant(ctx: ServiceContext, id: string, input: z.infer<typeof UpdateTenant>) {
  if (input.plan !== undefined) assertPlan(ctx, input.plan);
  return ctx.db.transaction(async (tx) => {
    const current = await findTenant(tx, id);
    const changes: Partial<TenantRow> = {};
    if (input.name !== undefined && input.name !== current.name) changes.name = input.name;
    if (input.plan !== undefined && input.plan !== current.plan) changes.plan = input.plan;
    if (input.timezone !== undefined && input.timezone !== current.timezone)
      changes.timezone = input.timezone;
    if (input.priorityOverrides !== undefined) changes.priorityOverrides = input.priorityOverrides;
    if (
      input.slaAlerts !== undefined &&
      JSON.stringify(input.slaAlerts) !== JSON.stringify(current.slaAlerts)
    )
      changes.slaAlerts = input.slaAlerts;
    if (Object.keys(changes).length === 0) return tenantToApi(current);
    const [row] = await tx
      .update(tenants)
      .set({ ...changes, updatedAt: new Date() })
      .where(eq(tenants.id, id))
      .returning();
    await appendLedger(tx, [
      {
        tenantId: id,
        direction: "internal",
        kind: "tenant.updated",
        actor: actorOf(ctx.principal),
        side: "provider",
        detail: {
          fields: Object.keys(changes),
          ...(changes.plan ? { plan: { from: current.plan, to: changes.plan } } : {}),
          ...(changes.timezone !== undefined
            ? { timezone: { from: current.timezone, to: changes.timezone } }
            : {}),
        },
      },
    ]);
    // A new plan or zone changes every open ticket's targets.
    if (changes.plan !== undefined || changes.timezone !== undefined) {
      await recomputeTenantClocks(tx, slaContext(ctx), id, "tenant_changed");
    } else if (changes.slaAlerts !== undefined) {
      await refreshTenantTimers(tx, slaContext(ctx), id);
    }
    return tenantToApi(row!);
  });
}

export async function setTenantHolidays(
  ctx: ServiceContext,
  id: string,
  input: { dates: string[]; country?: string | null },
) {
  if (input.country && !isKnownHolidayCountry(input.country)) {
    throw new GatewayError("VALIDATION_FAILED", `No holiday data for ${input.country}.`, {
      errors: [{ path: "country", message: "unknown country or region code (ISO 3166, e.g. SE or DE-BY)" }],
    });
  }
  return ctx.db.transaction(async (tx) => {
    await findTenant(tx, id);
    const dates = [...new Set(input.dates)].sort();
    const [row] = await tx
      .update(tenants)
      .set({ holidays: dates, holidayCountry: input.country ?? null, updatedAt: ctx.now() })
      .where(eq(tenants.id, id))
      .returning();
    await appendLedger(tx, [
      {
        tenantId: id,
        direction: "internal",
        kind: "tenant.holidays_set",
        actor: actorOf(ctx.principal),
        side: "provider",
        detail: { dates: dates.length, country: input.country ?? null },
      },
    ]);
    await recomputeTenantClocks(tx, slaContext(ctx), id, "holidays_changed");
    return holidaysToApi(row!);
  });
}

export function holidaysToApi(row: TenantRow) {
  return { tenantId: row.id, dates: row.holidays, country: row.holidayCountry };
}

export async function getTenantHolidays(ctx: ServiceContext, id: string) {
  return holidaysToApi(await findTenant(ctx.db, id));
}

export async function listTenantKeys(ctx: ServiceContext, tenantId: string) {
  await findTenant(ctx.db, tenantId);
  const rows = await ctx.db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.tenantId, tenantId))
    .orderBy(desc(apiKeys.createdAt));
  return { items: rows.map(keyToApi), nextCursor: null };
}

export async function createTenantKey(ctx: ServiceContext, tenantId: string) {
  return ctx.db.transaction(async (tx) => {
    await findTenant(tx, tenantId);
    const key = await insertKey(tx, { tenantId });
    await appendLedger(tx, [
      {
        tenantId,
        direction: "internal",
        kind: "api_key.created",
        actor: actorOf(ctx.principal),
        side: "provider",
        detail: { keyId: key.keyId, prefix: key.prefix },
      },
    ]);
    return key;
  });
}

export async function revokeTenantKey(ctx: ServiceContext, tenantId: string, keyId: string) {
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.id, keyId), eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt)))
      .returning();
    if (!row) {
      const [existing] = await tx
        .select()
        .from(apiKeys)
        .where(and(eq(apiKeys.id, keyId), eq(apiKeys.tenantId, tenantId)));
      if (!existing)
        throw new GatewayError("NOT_FOUND", `Key ${keyId} was not found for tenant ${tenantId}.`);
      return; // already revoked: DELETE is idempotent
    }
    await appendLedger(tx, [
      {
        tenantId,
        direction: "internal",
        kind: "api_key.revoked",
        actor: actorOf(ctx.principal),
        side: "provider",
        detail: { keyId },
      },
    ]);
  });
}

function operatorToApi(row: typeof operators.$inferSelect) {
  return {
    id: row.id,
    name: row.name,
    tenantIds: row.tenantIds ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

export async function createOperator(ctx: ServiceContext, input: z.infer<typeof CreateOperator>) {
  return ctx.db.transaction(async (tx) => {
    const tenantIds = input.tenantIds ?? null;
    for (const [index, tenantId] of (tenantIds ?? []).entries()) {
      const [exists] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
      if (!exists) {
        throw new GatewayError("VALIDATION_FAILED", `Tenant ${tenantId} does not exist.`, {
          errors: [{ path: `tenantIds[${index}]`, message: "unknown tenant" }],
        });
      }
    }
    const [row] = await tx
      .insert(operators)
      .values({ id: newId("operator"), name: input.name, tenantIds })
      .returning();
    const key = await insertKey(tx, { operatorId: row!.id });
    await appendLedger(tx, [
      {
        tenantId: null,
        direction: "internal",
        kind: "operator.created",
        actor: actorOf(ctx.principal),
        side: "provider",
        detail: { operatorId: row!.id, tenantIds, keyId: key.keyId },
      },
    ]);
    return { ...operatorToApi(row!), apiKey: key.apiKey, keyId: key.keyId };
  });
}

export async function listOperators(ctx: ServiceContext, query: { limit: number; cursor?: string }) {
  const after = decodeCursor<string>(query.cursor, "string");
  const rows = await ctx.db
    .select()
    .from(operators)
    .where(after ? gt(operators.id, after) : undefined)
    .orderBy(asc(operators.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (r) => r.id);
  return { items: result.items.map(operatorToApi), nextCursor: result.nextCursor };
}

export async function revokeOperatorKey(ctx: ServiceContext, operatorId: string, keyId: string) {
  await ctx.db.transaction(async (tx) => {
    const rows = await tx
      .update(apiKeys)
      .set({ revokedAt: ctx.now() })
      .where(and(eq(apiKeys.id, keyId), eq(apiKeys.operatorId, operatorId)))
      .returning({ id: apiKeys.id });
    if (rows.length === 0)
      throw new GatewayError("NOT_FOUND", `Key ${keyId} was not found for operator ${operatorId}.`);
    await appendLedger(tx, [
      {
        tenantId: null,
        direction: "internal",
        kind: "api_key.revoked",
        actor: actorOf(ctx.principal),
        side: "provider",
        detail: { keyId, operatorId },
      },
    ]);
  });
}
