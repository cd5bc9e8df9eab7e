/**
 * What `/readyz` knows about this process beyond its database: whether it is shutting down and whether
 * the worker loops it runs (if any) still turn. Only this process's own state: a vendor being down or a
 * backlog growing never makes a process unready (taking API pods out of service would not help either).
 */

export interface LoopState {
  name: string;
  alive: boolean;
  /** When the last pass ended (null: none yet). */
  lastPassEndedAt: string | null;
  /** How long the current pass has run (null: idle between passes). */
  runningForMs: number | null;
}

export interface ProcessState {
  shuttingDown: boolean;
  /** Null when this process runs no worker (RUN_WORKER=false). */
  workerLoops: LoopState[] | null;
}

interface Task {
  name: string;
  run(): Promise<number>;
}

/**
 * Wraps worker tasks to record when each pass starts and ends. A loop is dead when its current pass has run
 * longer than `stallMs`, or when no pass has started for `stallMs` since the last one ended (or since start).
 */
export function trackLoops<T extends Task>(
  tasks: T[],
  options: { stallMs: number; now?: () => number },
): { tasks: T[]; state(): LoopState[] } {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const records = tasks.map((task) => ({
    name: task.name,
    runningSince: null as number | null,
    lastEnded: null as number | null,
  }));
  const wrapped = tasks.map((task, index) => {
    const record = records[index]!;
    return {
      ...task,
      run: async () => {
        record.runningSince = now();
        try {
          return await task.run();
        } finally {
          record.runningSince = null;
          record.lastEnded = now();
        }
      },
    };
  });
  return {
    tasks: wrapped,
    state: () => {
      const at = now();
      return records.map((record) => {
        const runningForMs = record.runningSince === null ? null : at - record.runningSince;
        const idleForMs = record.runningSince === null ? at - (record.lastEnded ?? startedAt) : 0;
        return {
          name: record.name,
          alive: (runningForMs ?? 0) <= options.stallMs && idleForMs <= options.stallMs,
          lastPassEndedAt: record.lastEnded === null ? null : new Date(record.lastEnded).toISOString(),
          runningForMs,
        };
      });
    },
  };
}
