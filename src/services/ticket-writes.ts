import { eq } from "drizzle-orm";
import type { PlanCatalog } from "../../schemas/plan.js";
import type { Requester, Side, TicketStatus, UpdateTicket } from "../../schemas/ticket.js";
import type { Actor } from "../auth/principal.js";
import type { Tx } from "../db/client.js";
import { sendWrite } from "../db/pipeline.js";
import { comments, tickets } from "../db/schema/index.js";
import { isAllowedTransition } from "../domain/ticket-status.js";
import { GatewayError } from "../errors.js";
import { appendLedger, batchLedgerAppends, type LedgerEntryInput } from "../ledger/append.js";
import { hashPayload } from "../lib/hash.js";
import { newId } from "../lib/ids.js";
import type { ConnectionRow } from "../sync/connections.js";
import { enqueueTicketSync } from "../sync/outbound.js";
import { tenantWithOutbound } from "../sync/ticket-connections.js";
import { applySlaEvent, type SlaContext, startClocks } from "./sla.js";

export type TicketRow = typeof tickets.$inferSelect;
export type CommentRow = typeof comments.$inferSelect;

/**
 * Who is changing a ticket and through what: an API caller, or a connection applying a vendor's change.
 * Every write path (API and sync) goes through the functions below, so the ledger, SLA clocks and the
 * outbox see every change the same way.
 */
export interface Acting {
  actor: Actor;
  side: Side;
  /** Provider-side acts are what SLA clocks measure. */
  provider: boolean;
  now: () => Date;
  catalog: PlanCatalog;
  direction: "internal" | "inbound";
  connectionId?: string | null;
  externalId?: string | null;
  /** The connection a synced change came from: it is not sent back there. */
  originConnectionId?: string | null;
}

function slaOf(acting: Acting): SlaContext {
  return { catalog: acting.catalog, now: acting.now, actor: acting.actor };
}

function ledgerBase(acting: Acting, row: TicketRow): Omit<LedgerEntryInput, "kind"> {
  return {
    tenantId: row.tenantId,
    ticketId: row.id,
    connectionId: acting.connectionId ?? null,
    externalId: acting.externalId ?? null,
    direction: acting.direction,
    actor: acting.actor,
    side: acting.side,
  };
}

export interface NewTicket {
  tenantId: string;
  title: string;
  description: string | null;
  priority: TicketRow["priority"];
  requester: Requester | null;
  assigneeGroup: string | null;
  category: string | null;
  affectedService: string | null;
}

/**
 * Inserts a ticket with its `ticket.created` entry, its SLA clocks and its outbound jobs. `tenant` is what
 * {@link tenantWithOutbound} read for its tenant in this transaction, when the caller read it (for the default
 * priority); else it is read here. The ledger entries (the creation, then the clocks' targets) take one append.
 */
export async function insertTicket(
  tx: Tx,
  acting: Acting,
  input: NewTicket,
  tenant?: Awaited<ReturnType<typeof tenantWithOutbound>>,
): Promise<TicketRow> {
  const now = acting.now();
  const known = tenant ?? (await tenantWithOutbound(tx, input.tenantId));
  return batchLedgerAppends(tx, async () => {
    // Every column given: the row as stored, without waiting for the insert (it is pipelined).
    const row: TicketRow = {
      id: newId("ticket"),
      ...input,
      status: "new",
      createdAt: now,
      updatedAt: now,
      acknowledgedAt: null,
      resolvedAt: null,
      closedAt: null,
      version: 1,
    };
    await sendWrite(tx, tx.insert(tickets).values(row));
    await appendLedger(tx, [
      {
        ...ledgerBase(acting, row),
        occurredAt: now,
        kind: "ticket.created",
        payloadHash: hashPayload({ ...input, id: row.id }),
        detail: { priority: row.priority, status: row.status, version: 1 },
      },
    ]);
    await startClocks(tx, slaOf(acting), row, known.tenant ?? null);
    await enqueueTicketSync(
      tx,
      row,
      { kind: "created" },
      { now, originConnectionId: acting.originConnectionId ?? null, outbound: known.outbound },
    );
    return row;
  });
}

/**
 * Applies field and status changes to a locked ticket row: lifecycle check, version bump, ledger entries,
 * SLA events and outbound sync. Returns the row unchanged when nothing differs. The change's entries and those
 * of its SLA events take one append. `outbound` is the tenant's outbound connections when the caller read them
 * with the row (else they are read here).
 */
export async function applyTicketChanges(
  tx: Tx,
  acting: Acting,
  current: TicketRow,
  input: UpdateTicket,
  outbound?: readonly ConnectionRow[],
): Promise<TicketRow> {
  const changes: Partial<TicketRow> = {};
  const changedFields: string[] = [];
  const entries: LedgerEntryInput[] = [];
  const base = ledgerBase(acting, current);
  for (const field of [
    "title",
    "description",
    "requester",
    "assigneeGroup",
    "category",
    "affectedService",
  ] as const) {
    if (input[field] === undefined) continue;
    if (JSON.stringify(input[field]) === JSON.stringify(current[field])) continue;
    (changes as Record<string, unknown>)[field] = input[field];
    changedFields.push(field);
  }
  if (input.priority !== undefined && input.priority !== current.priority) {
    changes.priority = input.priority;
    entries.push({
      ...base,
      kind: "ticket.priority_changed",
      detail: { from: current.priority, to: input.priority },
    });
  }
  const now = acting.now();
  if (input.status !== undefined && input.status !== current.status) {
    const from = current.status as TicketStatus;
    const to = input.status;
    if (!isAllowedTransition(from, to)) {
      throw new GatewayError("INVALID_TRANSITION", `A ticket cannot move from ${from} to ${to}.`, {
        extra: { from, to },
      });
    }
    changes.status = to;
    if (from === "new" && acting.provider && !current.acknowledgedAt && to !== "cancelled")
      changes.acknowledgedAt = now;
    if (to === "resolved") changes.resolvedAt = now;
    if (from === "resolved" && to === "in_progress") changes.resolvedAt = null;
    if (to === "closed") changes.closedAt = now;
    entries.push({ ...base, kind: "ticket.status_changed", detail: { from, to } });
  }
  if (changedFields.length > 0) {
    entries.unshift({
      ...base,
      kind: "ticket.updated",
      payloadHash: hashPayload(
        Object.fromEntries(changedFields.map((f) => [f, input[f as keyof UpdateTicket]])),
      ),
      detail: { fields: changedFields },
    });
  }
  if (entries.length === 0) return current;
  const version = current.version + 1;
  return batchLedgerAppends(tx, async () => {
    const set = { ...changes, updatedAt: now, version };
    // `current` is the locked row: with the changes it is the row as updated (the update is pipelined).
    const row: TicketRow = { ...current, ...set };
    await sendWrite(tx, tx.update(tickets).set(set).where(eq(tickets.id, current.id)));
    await appendLedger(
      tx,
      entries.map((e) => ({ ...e, detail: { ...e.detail, version } })),
    );
    const sla = slaOf(acting);
    if (changes.priority !== undefined) {
      await applySlaEvent(tx, sla, row, { type: "priority", from: current.priority, to: changes.priority });
    }
    if (changes.status !== undefined) {
      await applySlaEvent(tx, sla, row, {
        type: "status",
        from: current.status,
        to: changes.status,
        byProvider: acting.provider,
      });
    }
    await enqueueTicketSync(
      tx,
      row,
      { kind: "updated" },
      { now, originConnectionId: acting.originConnectionId ?? null, outbound },
    );
    return row;
  });
}

export interface NewComment {
  body: string;
  visibility: "public" | "internal";
  authorId: string | null;
  authorName: string | null;
  /** Posted by the gateway itself (an automatic status update), marked so in the ledger. */
  automatic?: boolean;
}

/**
 * Adds a comment to a locked ticket row: bumps its version, ledger entry, SLA update clock, outbound sync; the
 * comment's entry and those of its SLA event take one append. `outbound` as for {@link applyTicketChanges}.
 */
export async function insertComment(
  tx: Tx,
  acting: Acting,
  ticket: TicketRow,
  input: NewComment,
  outbound?: readonly ConnectionRow[],
) {
  return batchLedgerAppends(tx, () => writeComment(tx, acting, ticket, input, outbound));
}

async function writeComment(
  tx: Tx,
  acting: Acting,
  ticket: TicketRow,
  input: NewComment,
  outbound: readonly ConnectionRow[] | undefined,
) {
  const now = acting.now();
  // Both rows as stored (every comment column given; `ticket` is the locked row), without waiting for the
  // insert and the update, which are pipelined.
  const comment: CommentRow = {
    id: newId("comment"),
    ticketId: ticket.id,
    tenantId: ticket.tenantId,
    body: input.body,
    visibility: input.visibility,
    authorType: acting.actor.type,
    authorId: input.authorId,
    authorName: input.authorName,
    side: acting.side,
    createdAt: now,
  };
  await sendWrite(tx, tx.insert(comments).values(comment));
  const version = ticket.version + 1;
  const updated: TicketRow = { ...ticket, updatedAt: now, version };
  await sendWrite(tx, tx.update(tickets).set({ updatedAt: now, version }).where(eq(tickets.id, ticket.id)));
  await appendLedger(tx, [
    {
      ...ledgerBase(acting, ticket),
      kind: "comment.added",
      payloadHash: hashPayload({ body: input.body }),
      detail: {
        commentId: comment.id,
        visibility: input.visibility,
        version,
        ...(input.automatic ? { automatic: true } : {}),
      },
    },
  ]);
  if (input.visibility === "public" && acting.provider) {
    await applySlaEvent(tx, slaOf(acting), updated, { type: "provider_public_update" });
  }
  await enqueueTicketSync(
    tx,
    updated!,
    { kind: "comment", commentId: comment.id, visibility: input.visibility, side: acting.side },
    { now, originConnectionId: acting.originConnectionId ?? null, outbound },
  );
  return { comment, ticket: updated };
}
