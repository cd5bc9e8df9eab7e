import { eq } from "drizzle-orm";
import type { PlanCatalog } from "../../schemas/plan.js";
import type { Priority } from "../../schemas/ticket.js";
import type { Queryable } from "../db/client.js";
import { tenants } from "../db/schema/index.js";
import { findPlan } from "./sla.js";

/** The tenant's plan's `defaultPriority`, or null (no plan, unknown plan, or a plan without one). */
export async function planDefaultPriority(
  db: Queryable,
  catalog: PlanCatalog,
  tenantId: string,
): Promise<Priority | null> {
  const [tenant] = await db.select({ plan: tenants.plan }).from(tenants).where(eq(tenants.id, tenantId));
  return defaultPriorityOf(catalog, tenant);
}

/** {@link planDefaultPriority} of a tenant row already read (undefined: no such tenant). */
export function defaultPriorityOf(
  catalog: PlanCatalog,
  tenant: { plan: string } | undefined,
): Priority | null {
  if (!tenant) return null;
  return findPlan(catalog, tenant.plan)?.defaultPriority ?? null;
}

/**
 * The priority of a record synced in: its own when it maps, else the plan's default (Roxen: "Normal
 * (Default priority)"), else P3, the engine's long-standing fallback for records without one.
 */
export async function inboundPriority(
  db: Queryable,
  catalog: PlanCatalog,
  tenantId: string,
  mapped: Priority | null,
): Promise<Priority> {
  if (mapped !== null) return mapped;
  return (await planDefaultPriority(db, catalog, tenantId)) ?? "P3";
}
