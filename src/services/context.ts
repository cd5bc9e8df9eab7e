import type { Resolver } from "../../connectors/sdk/index.js";
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
  /** Outbound HTTP; tests may pass their own. Always wrapped in the SDK's guarded fetch. */
  fetch?: typeof fetch;
  /** DNS for the outbound address checks; tests inject one (no DNS on CI). Defaults to the system resolver. */
  resolve?: Resolver;
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
