import type { PlanCatalog } from "../../schemas/plan.js";
import { actorOf, type Principal } from "../auth/principal.js";
import type { Db } from "../db/client.js";
import type { SlaContext } from "./sla.js";

/** What every use case gets: who is acting, the database, the plan catalog and the time. */
export interface ServiceContext {
  db: Db;
  principal: Principal;
  requestId: string;
  catalog: PlanCatalog;
  now: () => Date;
}

export function slaContext(ctx: ServiceContext): SlaContext {
  return { catalog: ctx.catalog, now: ctx.now, actor: actorOf(ctx.principal) };
}
