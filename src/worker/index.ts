import { hostname } from "node:os";
import type { JobRunner } from "../jobs/runner.js";

export interface RunningWorker {
  id: string;
  /** Runs every job runnable now to its end (tests and the demo use it instead of waiting for a tick). */
  tickNow(): Promise<void>;
  /** When the runner last claimed (its loop is alive), for readiness. */
  lastClaimAt(): Date | null;
  /** Claims now instead of at the next tick (this process queued jobs). */
  wakeUp(): void;
  /**
   * Stops claiming, lets running jobs finish within `deadlineMs`, then releases the leases of the unfinished
   * ones so another worker takes them at once.
   */
  stop(deadlineMs?: number): Promise<{ finished: number; released: number }>;
}

export function workerId(): string {
  return `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
}

/** A started job runner as the process entries see it. */
export function startWorker(options: {
  id: string;
  runner: JobRunner;
  /** Run after the runner stopped (closes what feeds it wake-ups). */
  onStopped?: () => Promise<void>;
}): RunningWorker {
  const { runner } = options;
  runner.start();
  return {
    id: options.id,
    tickNow: async () => {
      await runner.runUntilIdle();
    },
    lastClaimAt: () => runner.lastClaimAt,
    wakeUp: () => runner.wakeUp(),
    stop: async (deadlineMs) => {
      const outcome = await runner.stop(deadlineMs);
      await options.onStopped?.().catch(() => {});
      return outcome;
    },
  };
}
