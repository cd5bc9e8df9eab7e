import { and, asc, eq, gt, inArray, type SQL } from "drizzle-orm";
import { actorOf, canAccessTenant, isProvider, tenantScope } from "../auth/principal.js";
import type { Tx } from "../db/client.js";
import { outbox } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import { appendLedger } from "../ledger/append.js";
import { decodeCursor, page } from "../lib/cursor.js";
import type { ServiceContext } from "../services/context.js";

type OutboxRow = typeof outbox.$inferSelect;

function toApi(row: OutboxRow) {
  return {
    id: row.id,
    connectionId: row.connectionId,
    ticketId: row.ticketId,
    tenantId: row.tenantId,
    kind: row.kind,
    attempts: row.attempts,
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    deadAt: row.deadAt?.toISOString() ?? null,
  };
}

function scoped(ctx: ServiceContext, conditions: SQL[]) {
  const scope = tenantScope(ctx.principal);
  if (scope !== null) conditions.push(inArray(outbox.tenantId, scope));
  return conditions;
}

export async function listDeadLetters(
  ctx: ServiceContext,
  query: {
    limit: number;
    cursor?: string | undefined;
    connectionId?: string | undefined;
    ticketId?: string | undefined;
  },
) {
  const conditions = scoped(ctx, [eq(outbox.status, "dead")]);
  if (query.connectionId) conditions.push(eq(outbox.connectionId, query.connectionId));
  if (query.ticketId) conditions.push(eq(outbox.ticketId, query.ticketId));
  const after = decodeCursor<number>(query.cursor, "number");
  if (after !== null) conditions.push(gt(outbox.id, after));
  const rows = await ctx.db
    .select()
    .from(outbox)
    .where(and(...conditions))
    .orderBy(asc(outbox.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (r) => r.id);
  return { items: result.items.map(toApi), nextCursor: result.nextCursor };
}

async function settle(tx: Tx, ctx: ServiceContext, row: OutboxRow, action: "replay" | "skip") {
  const now = ctx.now();
  await tx
    .update(outbox)
    .set(
      action === "replay"
        ? {
            status: "pending",
            // Above zero, so the replay reads back before appending: the write may have landed.
            attempts: 1,
            firstAttemptAt: now,
            deadAt: null,
            nextAttemptAt: now,
            lockedBy: null,
            lockedUntil: null,
          }
        : { status: "skipped", lockedBy: null, lockedUntil: null },
    )
    .where(eq(outbox.id, row.id));
  await appendLedger(tx, [
    {
      tenantId: row.tenantId,
      ticketId: row.ticketId.startsWith("tkt_")
        ? row.ticketId
        : typeof row.payload["ticketId"] === "string"
          ? (row.payload["ticketId"] as string)
          : null,
      connectionId: row.connectionId,
      direction: "outbound",
      kind: action === "replay" ? "sync.replayed" : "sync.skipped",
      actor: actorOf(ctx.principal),
      side: "provider",
      detail: { job: row.kind, jobId: row.id, attemptsBefore: row.attempts },
    },
  ]);
}

/** Replay puts a dead job back in line (its later jobs follow it); skip drops it and unblocks the rest. */
export async function settleDeadLetter(ctx: ServiceContext, id: number, action: "replay" | "skip") {
  if (!isProvider(ctx.principal))
    throw new GatewayError("FORBIDDEN", "Replaying and skipping are the provider's.");
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx.select().from(outbox).where(eq(outbox.id, id)).for("update");
    if (row?.status !== "dead" || (row.tenantId !== null && !canAccessTenant(ctx.principal, row.tenantId))) {
      throw new GatewayError("NOT_FOUND", `Dead letter ${id} was not found.`);
    }
    await settle(tx, ctx, row, action);
    return { id, status: action === "replay" ? "pending" : "skipped" };
  });
}

export async function replayDeadLetters(
  ctx: ServiceContext,
  filter: { connectionId?: string | undefined; ticketId?: string | undefined },
) {
  if (!isProvider(ctx.principal)) throw new GatewayError("FORBIDDEN", "Replaying is the provider's.");
  return ctx.db.transaction(async (tx) => {
    const conditions = scoped(ctx, [eq(outbox.status, "dead")]);
    if (filter.connectionId) conditions.push(eq(outbox.connectionId, filter.connectionId));
    if (filter.ticketId) conditions.push(eq(outbox.ticketId, filter.ticketId));
    const rows = await tx
      .select()
      .from(outbox)
      .where(and(...conditions))
      .orderBy(asc(outbox.id))
      .for("update");
    for (const row of rows) await settle(tx, ctx, row, "replay");
    return { replayed: rows.length };
  });
}
