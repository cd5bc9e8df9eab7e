import type { Principal } from "./auth/principal.js";
import type { Config } from "./config.js";
import type { Database } from "./db/client.js";
import type { Logger } from "./lib/logger.js";

export interface AppDeps {
  database: Database;
  config: Pick<Config, "adminToken" | "publicUrl" | "nodeEnv">;
  logger: Logger;
  /** Validates a plan id against the plan catalog; returns an error message when unknown. */
  checkPlan?: (planId: string) => string | null;
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
