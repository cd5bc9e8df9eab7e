import type { Server } from "node:http";
import type { Logger } from "./logger.js";

export interface ShutdownTargets {
  /** The HTTP server: stops accepting at once, in-flight requests finish, idle keep-alive sockets close. */
  server?: Server | null;
  /** The METRICS_PORT listener, closed like the server. */
  metricsServer?: Server | null;
  /** Tracing: pending spans are flushed before the database closes. */
  tracing?: { shutdown(): Promise<void> } | null;
  /**
   * The job runner: `stop(deadlineMs)` stops claiming, lets running jobs finish until the deadline and then
   * releases the leases of the unfinished ones, so another worker takes them at once.
   */
  worker?: { stop(deadlineMs?: number): Promise<unknown> } | null;
  /** Closed last, after requests and passes are done or the deadline has passed. */
  database: { close(): Promise<void> };
  timeoutMs: number;
  logger: Logger;
}

export interface ShutdownOutcome {
  /** False when the deadline cut requests or worker passes short. */
  drained: boolean;
  durationMs: number;
}

/**
 * Graceful shutdown in one order: stop accepting, let in-flight HTTP requests and the worker's current
 * passes finish in parallel within `timeoutMs`, then cut whatever is left, then close the database.
 * Never throws: a failure while closing is logged and counted as not drained.
 */
export async function shutdownGracefully(targets: ShutdownTargets): Promise<ShutdownOutcome> {
  const started = Date.now();
  const { worker, logger } = targets;
  const servers = [targets.server, targets.metricsServer].filter((s): s is Server => Boolean(s));

  const serverClosed = Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          // close() only drops keep-alive sockets idle at this instant; one that goes idle after its
          // response would hold the server open until its keep-alive timeout, so sweep until closed.
          const sweep = setInterval(() => server.closeIdleConnections(), 100);
          sweep.unref();
          server.close(() => {
            clearInterval(sweep);
            resolve();
          });
          server.closeIdleConnections();
        }),
    ),
  );
  const workerStopped = worker
    ? // A second before the deadline, so released leases are committed before the database closes.
      worker
        .stop(Math.max(0, targets.timeoutMs - 1_000))
        .then((stopped) => logger.info({ worker: stopped }, "job runner stopped"))
        .catch((error: unknown) => logger.error({ err: error }, "worker stop failed"))
    : Promise.resolve();

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"deadline">((resolve) => {
    timer = setTimeout(() => resolve("deadline"), targets.timeoutMs);
  });
  const result = await Promise.race([
    Promise.all([serverClosed, workerStopped]).then(() => "drained"),
    deadline,
  ]);
  clearTimeout(timer);

  let drained = result === "drained";
  if (!drained) {
    logger.warn({ timeoutMs: targets.timeoutMs }, "shutdown deadline passed: cutting open requests");
    for (const server of servers) server.closeAllConnections();
  }
  if (targets.tracing) {
    // An unreachable collector must not hold the exit: a few seconds to flush, then go.
    const flushed = await Promise.race([
      targets.tracing.shutdown().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3_000).unref()),
    ]);
    if (!flushed) logger.warn("flushing traces failed or timed out");
  }
  try {
    await targets.database.close();
  } catch (error) {
    logger.error({ err: error }, "closing the database failed");
    drained = false;
  }
  return { drained, durationMs: Date.now() - started };
}
