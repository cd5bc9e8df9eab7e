import { describe, expect, it } from "vitest";
import { connectionHealthView } from "../../src/console/health.js";

// The console shows the stored, damped health (rules tested in test/e2e/connection-health.test.ts); this checks
// the view keeps what the summary says and only shows a failure's text when there is a failure.
const summary = {
  state: "degraded" as const,
  stateSince: "2026-01-01T10:00:00Z",
  evaluatedAt: "2026-01-01T12:00:00Z",
  lastSuccessAt: "2026-01-01T11:00:00Z",
  lastFailureAt: "2026-01-01T11:30:00Z",
  backlog: { pending: 7, oldestPendingAgeSeconds: 30 },
  deadLetters: 2,
};

describe("connectionHealthView", () => {
  it("shows the stored state and figures with the newest failure's text", () => {
    expect(connectionHealthView({ health: summary }, { lastFailureReason: "PATCH answered 400" })).toEqual({
      state: "degraded",
      lastSuccessAt: new Date("2026-01-01T11:00:00Z"),
      lastFailureAt: new Date("2026-01-01T11:30:00Z"),
      lastFailureReason: "PATCH answered 400",
      backlog: 7,
      deadLetters: 2,
    });
  });

  it("shows no failure text when the health knows of no failure", () => {
    const view = connectionHealthView(
      { health: { ...summary, state: "healthy", lastFailureAt: null } },
      { lastFailureReason: "an old job's error" },
    );
    expect(view).toMatchObject({ state: "healthy", lastFailureAt: null, lastFailureReason: null });
  });
});
