import { hostname } from "node:os";
import type { Logger } from "../lib/logger.js";

export interface WorkerTask {
  name: string;
  /** One pass; returns how many items it handled (a full batch makes the loop go again at once). */
  run(): Promise<number>;
}

export interface RunningWorker {
  id: string;
  /** Runs every task once now (tests use it instead of waiting for a tick). */
  tickNow(): Promise<void>;
  stop(): Promise<void>;
}

export function workerId(): string {
  return `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * The background loop: every tick it runs each task; state lives in the database (durable timers,
 * leases), so any number of workers may run, and a stopped one loses nothing.
 */
export function startWorker(options: {
  tasks: WorkerTask[];
  tickMs: number;
  logger: Logger;
  id?: string;
}): RunningWorker {
  const id = options.id ?? workerId();
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;

  const pass = async () => {
    let handled = 0;
    for (const task of options.tasks) {
      try {
        handled += await task.run();
      } catch (error) {
        options.logger.error({ err: error, task: task.name, workerId: id }, "worker task failed");
      }
    }
    return handled;
  };
  // While there is work the loop goes again at once; when idle it waits a tick.
  const schedule = (busy: boolean) => {
    if (stopped) return;
    timer = setTimeout(
      () => {
        running = pass().then(
          (handled) => schedule(handled > 0),
          () => schedule(false),
        );
      },
      busy ? 0 : options.tickMs,
    );
  };
  schedule(false);
  return {
    id,
    tickNow: async () => {
      await running;
      await pass();
    },
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
