import { and, asc, eq, gt, inArray, ne, type SQL, sql } from "drizzle-orm";
import { actorOf, canAccessTenant, isProvider, tenantScope } from "../auth/principal.js";
import type { Tx } from "../db/client.js";
import { inbox, jobs, ledgerEntries } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import { jobLedgerEntry } from "../jobs/runner.js";
import type { JobRow } from "../jobs/types.js";
import { appendLedger } from "../ledger/append.js";
import { decodeCursor, page } from "../lib/cursor.js";
import type { ServiceContext } from "../services/context.js";

// Dead letters are the dead jobs of the one queue: inbox applications and outbound effects alike.

function sourceOf(row: JobRow): "inbox" | "outbox" {
  return row.kind === "inbox.apply" ? "inbox" : "outbox";
}

function toApi(row: JobRow) {
  return {
    id: row.id,
    source: sourceOf(row),
    connectionId: row.connectionId ?? "",
    ticketId: row.orderKey?.startsWith("tkt_")
      ? row.orderKey
      : typeof row.payload["ticketId"] === "string"
        ? (row.payload["ticketId"] as string)
        : null,
    externalId: row.orderKey?.startsWith("in:") ? row.orderKey.slice(3) : null,
    tenantId: row.tenantId,
    kind: row.kind,
    attempts: row.attempts,
    lastError: row.lastError,
    lastHttpStatus: row.lastHttpStatus,
    reason: row.deadReason,
    createdAt: row.createdAt.toISOString(),
    deadAt: row.deadAt?.toISOString() ?? null,
  };
}

interface DeadLetterFilter {
  connectionId?: string | undefined;
  ticketId?: string | undefined;
  source?: "inbox" | "outbox" | undefined;
}

function conditionsFor(ctx: ServiceContext, filter: DeadLetterFilter): SQL[] {
  const conditions: SQL[] = [eq(jobs.status, "dead")];
  const scope = tenantScope(ctx.principal);
  if (scope !== null) conditions.push(inArray(jobs.tenantId, scope));
  if (filter.connectionId) conditions.push(eq(jobs.connectionId, filter.connectionId));
  if (filter.ticketId) conditions.push(eq(jobs.orderKey, filter.ticketId));
  if (filter.source === "inbox") conditions.push(eq(jobs.kind, "inbox.apply"));
  if (filter.source === "outbox") conditions.push(ne(jobs.kind, "inbox.apply"));
  return conditions;
}

export async function listDeadLetters(
  ctx: ServiceContext,
  query: DeadLetterFilter & { limit: number; cursor?: string | undefined },
) {
  const conditions = conditionsFor(ctx, query);
  const after = decodeCursor<number>(query.cursor, "number");
  if (after !== null) conditions.push(gt(jobs.id, after));
  const rows = await ctx.db
    .select()
    .from(jobs)
    .where(and(...conditions))
    .orderBy(asc(jobs.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (r) => r.id);
  return { items: result.items.map(toApi), nextCursor: result.nextCursor };
}

function visibleDead(ctx: ServiceContext, row: JobRow | undefined): row is JobRow {
  return (
    row?.status === "dead" &&
    (row.tenantId === null ? isProvider(ctx.principal) : canAccessTenant(ctx.principal, row.tenantId))
  );
}

/** One dead letter with its payload, the stored notice (inbox) and every attempt the ledger recorded. */
export async function getDeadLetter(ctx: ServiceContext, id: number) {
  const [row] = await ctx.db.select().from(jobs).where(eq(jobs.id, id));
  if (!visibleDead(ctx, row)) throw new GatewayError("NOT_FOUND", `Dead letter ${id} was not found.`);
  let notice: Record<string, unknown> | null = null;
  const inboxId = Number(row.payload["inboxId"]);
  if (row.kind === "inbox.apply" && Number.isFinite(inboxId)) {
    const [stored] = await ctx.db.select().from(inbox).where(eq(inbox.id, inboxId));
    notice = stored?.notice ?? null;
  }
  const history = await ctx.db
    .select()
    .from(ledgerEntries)
    .where(
      and(
        row.tenantId === null
          ? sql`${ledgerEntries.tenantId} is null`
          : eq(ledgerEntries.tenantId, row.tenantId),
        sql`${ledgerEntries.detail}->>'jobId' = ${String(row.id)}`,
      ),
    )
    .orderBy(asc(ledgerEntries.sequence));
  return {
    ...toApi(row),
    payload: row.payload,
    notice,
    attemptHistory: history.map((e) => ({
      sequence: e.sequence,
      kind: e.kind,
      occurredAt: e.occurredAt.toISOString(),
      detail: e.detail,
    })),
  };
}

async function settle(tx: Tx, ctx: ServiceContext, row: JobRow, action: "replay" | "skip") {
  const now = ctx.now();
  await tx
    .update(jobs)
    .set(
      action === "replay"
        ? {
            status: "pending",
            // Above zero, so the replay reads back before appending: the write may have landed.
            attempts: 1,
            firstAttemptAt: now,
            deadAt: null,
            deadReason: null,
            nextAttemptAt: now,
            lockedBy: null,
            lockedUntil: null,
          }
        : { status: "skipped", finishedAt: now, lockedBy: null, lockedUntil: null },
    )
    .where(eq(jobs.id, row.id));
  const inboxId = Number(row.payload["inboxId"]);
  if (row.kind === "inbox.apply" && Number.isFinite(inboxId)) {
    await tx
      .update(inbox)
      .set({ status: action === "replay" ? "pending" : "dead" })
      .where(eq(inbox.id, inboxId));
  }
  const actor = actorOf(ctx.principal);
  await appendLedger(tx, [
    {
      ...jobLedgerEntry(row, action === "replay" ? "sync.replayed" : "sync.skipped", {
        attemptsBefore: row.attempts,
      }),
      actor,
    },
  ]);
  ctx.logger?.info(
    {
      event: action === "replay" ? "job.replayed" : "job.skipped",
      jobId: row.id,
      jobKind: row.kind,
      connectionId: row.connectionId,
      tenantId: row.tenantId,
      attempt: row.attempts,
      actor: "id" in actor && actor.id ? actor.id : actor.type,
    },
    action === "replay" ? "dead letter replayed" : "dead letter skipped",
  );
}

/** Replay puts a dead job back in line (its later jobs follow it); skip drops it and unblocks the rest. */
export async function settleDeadLetter(ctx: ServiceContext, id: number, action: "replay" | "skip") {
  if (!isProvider(ctx.principal))
    throw new GatewayError("FORBIDDEN", "Replaying and skipping are the provider's.");
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx.select().from(jobs).where(eq(jobs.id, id)).for("update");
    if (!visibleDead(ctx, row)) throw new GatewayError("NOT_FOUND", `Dead letter ${id} was not found.`);
    await settle(tx, ctx, row, action);
    return { id, status: action === "replay" ? "pending" : "skipped" };
  });
}

export async function replayDeadLetters(ctx: ServiceContext, filter: DeadLetterFilter) {
  if (!isProvider(ctx.principal)) throw new GatewayError("FORBIDDEN", "Replaying is the provider's.");
  return ctx.db.transaction(async (tx) => {
    const rows = await tx
      .select()
      .from(jobs)
      .where(and(...conditionsFor(ctx, filter)))
      .orderBy(asc(jobs.id))
      .for("update");
    for (const row of rows) await settle(tx, ctx, row, "replay");
    return { replayed: rows.length };
  });
}
