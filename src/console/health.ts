import type { z } from "zod";
import type { ConnectionHealthSummary } from "../../schemas/connection.js";
import type { ConnectionJobFacts } from "./queries.js";

export type HealthState = z.infer<typeof ConnectionHealthSummary>["state"];

/** What the console shows of a connection's health. */
export interface ConnectionHealthView {
  state: HealthState;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  lastFailureReason: string | null;
  backlog: number;
  deadLetters: number;
}

/**
 * A connection's health as the gateway stores it (the `connection.health` job's damped state, the summary every
 * connection carries, docs/operations.md#connection-health), with the newest failure's text from the connection's jobs
 * (secrets already replaced there) for the page to show.
 */
export function connectionHealthView(
  connection: { health: z.infer<typeof ConnectionHealthSummary> },
  facts: Pick<ConnectionJobFacts, "lastFailureReason">,
): ConnectionHealthView {
  const { health } = connection;
  return {
    state: health.state,
    lastSuccessAt: health.lastSuccessAt === null ? null : new Date(health.lastSuccessAt),
    lastFailureAt: health.lastFailureAt === null ? null : new Date(health.lastFailureAt),
    lastFailureReason: health.lastFailureAt === null ? null : facts.lastFailureReason,
    backlog: health.backlog.pending,
    deadLetters: health.deadLetters,
  };
}
