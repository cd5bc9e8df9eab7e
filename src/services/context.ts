import type { PlanCatalog } from "../../schemas/plan.js";
import { actorOf, type Principal } from "../auth/principal.js";
import type { Db } from "../db/client.js";
import type { Logger } from "../lib/logger.js";
import type { SyncSettings } from "../sync/settings.js";
import type { SlaContext } from "./sla.js";

/** What the sync engine needs from the process: keys, how vendors reach us, timings. */
export interface EngineDeps {
  secretsKey: Buffer;
  publicUrl: string;
  sync: SyncSettings;
  /** Outbound HTTP; tests may pass their own. */
  fetch?: typeof fetch;
}

/** What every use case gets: who is acting, the database, the plan catalog, the time and the engine deps. */
export interface ServiceContext {
  db: Db;
  principal: Principal;
  requestId: string;
  /** The request's logger (engine events such as a pause are logged through it). */
  logger?: Logger;
  catalog: PlanCatalog;
  now: () => Date;
  engine: EngineDeps;
}

export function slaContext(ctx: ServiceContext): SlaContext {
  return { catalog: ctx.catalog, now: ctx.now, actor: actorOf(ctx.principal) };
}
