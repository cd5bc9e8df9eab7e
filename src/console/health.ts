import type { ConnectionJobFacts } from "./queries.js";

export type HealthState = "healthy" | "degraded" | "failing" | "paused";

/** What the console shows of a connection's health; the one place that decides it. */
export interface ConnectionHealthView {
  state: HealthState;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  lastFailureReason: string | null;
  backlog: number;
  deadLetters: number;
}

/**
 * A connection's health from what can be read today (its paused state and its jobs): paused; failing while it
 * has dead letters open; degraded when its newest failure is newer than its newest success; else healthy.
 * When the connection health service (`GET /v1/connections/{id}/health`) lands, this is the function to
 * point at it: the pages only read the view.
 */
export function connectionHealthView(
  connection: { state: "active" | "paused" },
  facts: ConnectionJobFacts,
): ConnectionHealthView {
  const failedLast =
    facts.lastFailureAt !== null &&
    (facts.lastSuccessAt === null || facts.lastFailureAt.getTime() > facts.lastSuccessAt.getTime());
  const state: HealthState =
    connection.state === "paused"
      ? "paused"
      : facts.deadLetters > 0
        ? "failing"
        : failedLast
          ? "degraded"
          : "healthy";
  return { state, ...facts };
}
