import type { Resolver } from "../connectors/sdk/index.js";
import type { PlanCatalog } from "../schemas/plan.js";
import type { Principal } from "./auth/principal.js";
import type { Config } from "./config.js";
import type { Database, Tx } from "./db/client.js";
import type { Logger } from "./lib/logger.js";
import type { ProcessState } from "./lib/readiness.js";
import type { IdempotencyPoint } from "./middleware/idempotency.js";

export interface AppDeps {
  database: Database;
  config: Pick<Config, "adminToken" | "publicUrl" | "nodeEnv" | "secretsKey" | "sync" | "ledger"> &
    Partial<Pick<Config, "metrics" | "consoleSessionTtlMs">>;
  logger: Logger;
  /** Support plans (shipped presets plus the operator's file); a tenant's plan must be one of them. */
  catalog: PlanCatalog;
  /** The time; tests pass a controllable clock. */
  now: () => Date;
  /** Outbound HTTP toward vendors; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** DNS for outbound address checks; tests inject one. Defaults to the system resolver. */
  resolve?: Resolver;
  /** Test seam: awaited at each point between an idempotent request's claim and its commit. */
  faults?: {
    idempotency?: (point: IdempotencyPoint, tx: Tx | null, key: string) => Promise<void>;
  };
  /** This process's own state for `/readyz` (shutting down, its worker loops); absent in tests and tools. */
  processState?: () => ProcessState;
  /** Called after a write request succeeded (it may have queued jobs): wakes the job runners at once. */
  jobsQueued?: () => void;
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
