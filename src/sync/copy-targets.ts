import { and, eq, inArray } from "drizzle-orm";
import type { ServicedeskClient } from "../../connectors/sdk/index.js";
import type { Tx } from "../db/client.js";
import { connections, externalLinks, jobs, type tickets } from "../db/schema/index.js";
import type { EngineDeps } from "../services/context.js";
import { loadConnectionRow } from "./connections.js";

/**
 * The servicedesk connections of the ticket's tenant, other than the one it came from, a file or a work log
 * should be copied to: active, writing outbound, tracking the ticket (linked, or its create pending) and able
 * to take it (`canTake` asks the connector's client).
 */
export async function servicedeskCopyTargets(
  tx: Tx,
  engine: EngineDeps,
  ticket: typeof tickets.$inferSelect,
  sourceConnectionId: string | null,
  canTake: (client: ServicedeskClient) => boolean,
): Promise<string[]> {
  const candidates = await tx
    .select()
    .from(connections)
    .where(
      and(
        eq(connections.tenantId, ticket.tenantId),
        inArray(connections.status, ["active", "paused"]),
        eq(connections.role, "servicedesk"),
        inArray(connections.direction, ["both", "outbound"]),
      ),
    );
  const others = candidates.filter((connection) => connection.id !== sourceConnectionId);
  if (others.length === 0) return [];
  const tracked = new Set([
    ...(
      await tx
        .select({ connectionId: externalLinks.connectionId })
        .from(externalLinks)
        .where(eq(externalLinks.ticketId, ticket.id))
    ).map((row) => row.connectionId),
    ...(
      await tx
        .select({ connectionId: jobs.connectionId })
        .from(jobs)
        .where(
          and(
            eq(jobs.orderKey, ticket.id),
            eq(jobs.kind, "ticket.create"),
            inArray(jobs.status, ["pending", "dead"]),
          ),
        )
    ).map((row) => row.connectionId),
  ]);
  const targets: string[] = [];
  for (const connection of others) {
    if (!tracked.has(connection.id)) continue;
    const target = loadConnectionRow(engine, connection);
    if (target.connector.kind !== "servicedesk") continue;
    // Building a client does no I/O; it tells what the connector can take.
    const client = target.connector.createClient(target.settings, {
      mapping: target.connector.mappingContext(target.settings),
    });
    if (canTake(client)) targets.push(connection.id);
  }
  return targets;
}
