import type { Tx } from "../db/client.js";
import type { tickets } from "../db/schema/index.js";
import { enqueueJobs, queuePriority } from "../jobs/queue.js";
import type { EngineDeps } from "../services/context.js";
import { servicedeskCopyTargets } from "./copy-targets.js";

/** A canonical work log as a `worklog.add` job carries it to one servicedesk. */
export interface WorklogCopy {
  worklogId: string;
  ticketId: string;
  author: string;
  /** ISO-8601 UTC. */
  startedAt: string;
  durationMinutes: number;
  comment: string | null;
}

/** The ticket's servicedesks that keep work logs, other than the one a work log came from. */
export function worklogCopyTargets(
  tx: Tx,
  engine: EngineDeps,
  ticket: typeof tickets.$inferSelect,
  sourceConnectionId: string | null,
): Promise<string[]> {
  return servicedeskCopyTargets(
    tx,
    engine,
    ticket,
    sourceConnectionId,
    (client) => typeof client.addWorklog === "function",
  );
}

/**
 * Queues a `worklog.add` job per target connection. Keyed by the worklog, not the ticket: a work log a desk
 * refuses is dead-lettered without holding up the ticket's other updates to that connection.
 */
export async function enqueueWorklogCopies(
  tx: Tx,
  ticket: Pick<typeof tickets.$inferSelect, "tenantId" | "priority">,
  targets: string[],
  copy: WorklogCopy,
  now: Date,
): Promise<void> {
  await enqueueJobs(
    tx,
    targets.map((connectionId) => ({
      kind: "worklog.add" as const,
      connectionId,
      orderKey: copy.worklogId,
      tenantId: ticket.tenantId,
      priority: queuePriority(ticket.priority),
      payload: { ...copy },
      runAt: now,
    })),
  );
}

/** A `worklog.add` job's payload, read back. */
export function worklogCopyOf(payload: Record<string, unknown>): WorklogCopy {
  return {
    worklogId: String(payload["worklogId"]),
    ticketId: String(payload["ticketId"]),
    author: String(payload["author"]),
    startedAt: String(payload["startedAt"]),
    durationMinutes: Number(payload["durationMinutes"]),
    comment: typeof payload["comment"] === "string" ? payload["comment"] : null,
  };
}
