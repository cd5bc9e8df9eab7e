import type { PlanCatalog } from "../schemas/plan.js";
import type { Principal } from "./auth/principal.js";
import type { Config } from "./config.js";
import type { Database } from "./db/client.js";
import type { Logger } from "./lib/logger.js";
import type { ProcessState } from "./lib/readiness.js";

export interface AppDeps {
  database: Database;
  config: Pick<Config, "adminToken" | "publicUrl" | "nodeEnv" | "secretsKey" | "sync">;
  logger: Logger;
  /** Support plans (shipped presets plus the operator's file); a tenant's plan must be one of them. */
  catalog: PlanCatalog;
  /** The time; tests pass a controllable clock. */
  now: () => Date;
  /** Outbound HTTP toward vendors; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** This process's own state for `/readyz` (shutting down, its worker loops); absent in tests and tools. */
  processState?: () => ProcessState;
}

export interface AppEnv {
  Variables: {
    requestId: string;
    deps: AppDeps;
    logger: Logger;
    principal: Principal;
    /** Set by handlers whose response holds a secret, so an idempotent replay refuses to repeat it. */
    responseContainsSecret: boolean;
  };
}
