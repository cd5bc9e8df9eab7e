import { hostname } from "node:os";
import type { Logger } from "../lib/logger.js";

export interface WorkerTask {
  name: string;
  /** One pass; returns how many items it handled (work found makes that task's loop go again at once). */
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
 * The background loops: each task runs in its own loop, so a slow one (a poll waiting out a vendor's rate
 * limit) never holds up the others. State lives in the database (durable timers, leases), so any number of
 * workers may run, and a stopped one loses nothing.
 */
export function startWorker(options: {
  tasks: WorkerTask[];
  tickMs: number;
  logger: Logger;
  id?: string;
}): RunningWorker {
  const id = options.id ?? workerId();
  let stopped = false;
  const loops = options.tasks.map((task) => {
    let running: Promise<unknown> = Promise.resolve();
    let timer: NodeJS.Timeout | null = null;
    const runOnce = async (): Promise<number> => {
      try {
        return await task.run();
      } catch (error) {
        options.logger.error({ err: error, task: task.name, workerId: id }, "worker task failed");
        return 0;
      }
    };
    // While there is work the loop goes again at once; when idle it waits a tick.
    const schedule = (busy: boolean) => {
      if (stopped) return;
      timer = setTimeout(
        () => {
          running = runOnce().then((handled) => schedule(handled > 0));
        },
        busy ? 0 : options.tickMs,
      );
    };
    schedule(false);
    return {
      tickNow: async () => {
        await running;
        await runOnce();
      },
      stop: async () => {
        if (timer) clearTimeout(timer);
        await running;
      },
    };
  });
  return {
    id,
    tickNow: async () => {
      for (const loop of loops) await loop.tickNow();
    },
    stop: async () => {
      stopped = true;
      await Promise.all(loops.map((loop) => loop.stop()));
    },
  };
}
