import { describe, expect, it } from "vitest";
import { connectionHealthView } from "../../src/console/health.js";

const at = (iso: string) => new Date(iso);
const quiet = {
  backlog: 0,
  deadLetters: 0,
  lastSuccessAt: null,
  lastFailureAt: null,
  lastFailureReason: null,
};

describe("connectionHealthView", () => {
  it.each([
    ["paused wins over dead letters", "paused", { ...quiet, deadLetters: 2 }, "paused"],
    ["dead letters open: failing", "active", { ...quiet, deadLetters: 1 }, "failing"],
    [
      "last failure after last success: degraded",
      "active",
      { ...quiet, lastSuccessAt: at("2026-01-01T10:00:00Z"), lastFailureAt: at("2026-01-01T11:00:00Z") },
      "degraded",
    ],
    [
      "a success after the failure: healthy",
      "active",
      { ...quiet, lastSuccessAt: at("2026-01-01T12:00:00Z"), lastFailureAt: at("2026-01-01T11:00:00Z") },
      "healthy",
    ],
    [
      "failed and never succeeded: degraded",
      "active",
      { ...quiet, lastFailureAt: at("2026-01-01T11:00:00Z") },
      "degraded",
    ],
    ["nothing happened yet: healthy", "active", quiet, "healthy"],
  ] as const)("%s", (_, state, facts, expected) => {
    const view = connectionHealthView({ state }, facts);
    expect(view.state).toBe(expected);
    expect(view.backlog).toBe(facts.backlog);
  });
});
