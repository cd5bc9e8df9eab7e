import { and, eq, inArray, notInArray } from "drizzle-orm";
import type { CarrierTicket, DelegationState } from "../../connectors/sdk/index.js";
import { HttpError } from "../../connectors/sdk/index.js";
import type { CarrierOptions } from "../../schemas/delegation.js";
import type { Priority, TicketStatus } from "../../schemas/ticket.js";
import type { Db, Tx } from "../db/client.js";
import { connections, delegationNotes, delegations, inbox, jobs, tickets } from "../db/schema/index.js";
import { isAllowedTransition, isOpenStatus } from "../domain/ticket-status.js";
import { classifyFailure } from "../jobs/classify.js";
import { enqueueJobs } from "../jobs/queue.js";
import type { JobContext, JobResult } from "../jobs/types.js";
import { appendLedger, type LedgerEntryInput } from "../ledger/append.js";
import type { EngineDeps } from "../services/context.js";
import { type Acting, applyTicketChanges, insertComment } from "../services/ticket-writes.js";
import { businessElapsed, type CompiledCalendar, compileCalendar } from "../sla/business-time.js";
import { carrierClientFor } from "./clients.js";
import { type LoadedConnection, loadConnection, webhookUrlOf } from "./connections.js";
import { type InboxOptions, inboxJob, markApplied } from "./inbound.js";
import { polledCarrierChangeKey } from "./notice-keys.js";
import { type DeliveryHandler, RetryableSyncError } from "./outbound.js";
import { storableVendorValue } from "./vendor-text.js";

type DelegationRow = typeof delegations.$inferSelect;

export const terminalDelegationStates: DelegationState[] = ["closed", "cancelled", "rejected", "failed"];
const ackStates: DelegationState[] = ["open", "in_progress", "pending", "resolved", "closed"];

const alwaysOpen = compileCalendar({
  timezone: "UTC",
  hours: Object.fromEntries(
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => [d, [["00:00", "24:00"]]]),
  ),
});
const olaCalendars = new Map<string, CompiledCalendar>();

export function carrierOptionsOf(row: { carrierOptions: unknown }): CarrierOptions {
  const options = (row.carrierOptions ?? {}) as Partial<CarrierOptions>;
  return {
    resolveTicketOnCarrierResolution: options.resolveTicketOnCarrierResolution ?? false,
    relayStatusToClient: options.relayStatusToClient ?? true,
    ...(options.ola ? { ola: options.ola } : {}),
  };
}

/** The carrier's OLA calendar (24/7 UTC when the connection sets none). */
function olaCalendar(options: CarrierOptions): CompiledCalendar {
  if (!options.ola) return alwaysOpen;
  const key = JSON.stringify(options.ola.calendar);
  let cal = olaCalendars.get(key);
  if (!cal) {
    cal = compileCalendar(options.ola.calendar);
    olaCalendars.set(key, cal);
  }
  return cal;
}

/** Business seconds of the carrier leg from the request to `until`, without the stretches the carrier waited on us. */
export function carrierBusinessSeconds(
  delegation: DelegationRow,
  options: CarrierOptions,
  until: number,
): number {
  const pauses = delegation.pauses.map((p) => ({ from: p.from, to: p.to ?? Number.POSITIVE_INFINITY }));
  return Math.round(
    businessElapsed(olaCalendar(options), delegation.createdAt.getTime(), until, pauses) / 1000,
  );
}

function olaTarget(
  options: CarrierOptions,
  priority: Priority,
  which: "acknowledge" | "restore",
): number | null {
  const targets = options.ola?.targets[priority];
  const minutes = which === "acknowledge" ? targets?.acknowledgeMinutes : targets?.restoreMinutes;
  return minutes === undefined ? null : minutes * 60;
}

/** One OLA target of a delegation: business time taken (until done, or so far) against the carrier's target. */
export interface OlaMeasure {
  targetSeconds: number | null;
  businessSeconds: number;
  /** Done within the target, done late or overdue (breached), still within the target (running), no target. */
  state: "met" | "breached" | "running" | "none";
}

/**
 * A delegation's acknowledge and restore OLA times, measured as the carrier report measures them (business
 * time on the OLA calendar, less the carrier's waits on us) and marked breached as the OLA breach records are.
 */
export function delegationOla(
  delegation: DelegationRow,
  options: CarrierOptions,
  priority: Priority,
  now: number,
): { acknowledge: OlaMeasure; restore: OlaMeasure } {
  const measure = (which: "acknowledge" | "restore", doneAt: Date | null): OlaMeasure => {
    const targetSeconds = olaTarget(options, priority, which);
    const businessSeconds = carrierBusinessSeconds(delegation, options, doneAt?.getTime() ?? now);
    const late = targetSeconds !== null && businessSeconds > targetSeconds;
    const state =
      delegation.breaches.includes(which) || late
        ? "breached"
        : targetSeconds === null
          ? "none"
          : doneAt
            ? "met"
            : "running";
    return { targetSeconds, businessSeconds, state };
  };
  return {
    acknowledge: measure("acknowledge", delegation.acknowledgedAt),
    restore: measure("restore", delegation.resolvedAt),
  };
}

function delegationEntry(
  delegation: DelegationRow,
  kind: string,
  detail: Record<string, unknown>,
  actor: LedgerEntryInput["actor"],
  side: LedgerEntryInput["side"] = "carrier",
): LedgerEntryInput {
  return {
    tenantId: delegation.tenantId,
    ticketId: delegation.ticketId,
    connectionId: delegation.connectionId,
    direction: side === "carrier" ? "inbound" : "outbound",
    kind,
    actor,
    side,
    externalId: delegation.carrierTicketId,
    detail: { delegationId: delegation.id, ...detail },
  };
}

function systemActing(
  options: { now: () => Date; catalog: InboxOptions["catalog"] },
  delegation: DelegationRow,
  provider: boolean,
): Acting {
  return {
    actor: { type: "connection", id: delegation.connectionId },
    side: provider ? "provider" : "carrier",
    provider,
    now: options.now,
    catalog: options.catalog,
    direction: "inbound",
    connectionId: delegation.connectionId,
    externalId: delegation.carrierTicketId,
  };
}

const stateWords: Record<DelegationState, string> = {
  requested: "has been passed to our carrier",
  open: "was acknowledged by our carrier",
  in_progress: "is being worked on by our carrier",
  pending: "is waiting for information we are gathering for our carrier",
  resolved: "was resolved by our carrier; we are verifying the fix",
  closed: "was closed by our carrier",
  cancelled: "was cancelled at our carrier",
  rejected: "was declined by our carrier; we are following up",
  failed: "could not be passed to our carrier; we are following up",
};

/**
 * Applies the carrier's ticket, read back after an event or a poll, to its delegation: state, OLA times and
 * breaches, pauses while the carrier waits on us, carrier notes (internal comments unless the connection
 * relays them), status relayed to the client as a public provider comment, and the optional resolution.
 */
export async function applyCarrierTicket(
  tx: Tx,
  options: { now: () => Date; catalog: InboxOptions["catalog"] },
  loaded: LoadedConnection,
  delegation: DelegationRow,
  received: CarrierTicket,
) {
  // The carrier's text is made storable (NUL removed, lone surrogates as U+FFFD), the repair ledgered.
  const carrier = await storableVendorValue(tx, loaded, received, received.externalId);
  const now = options.now().getTime();
  const connectionOptions = carrierOptionsOf(loaded.row);
  const actor = { type: "connection" as const, id: loaded.row.id };
  const entries: LedgerEntryInput[] = [];
  const [ticket] = await tx.select().from(tickets).where(eq(tickets.id, delegation.ticketId)).for("update");
  if (!ticket) return;
  const update: Partial<DelegationRow> = { carrierStatus: carrier.status, updatedAt: new Date(now) };
  const previous = delegation.state as DelegationState;
  const next = carrier.state;
  let current = { ...delegation };
  if (next === null) {
    entries.push(
      delegationEntry(delegation, "carrier.status_unmapped", { carrierStatus: carrier.status }, actor),
    );
  } else if (next !== previous && !terminalDelegationStates.includes(previous)) {
    update.state = next;
    const pauses = [...delegation.pauses];
    if (next === "pending" && !pauses.some((p) => p.to === null)) pauses.push({ from: now, to: null });
    if (next !== "pending") {
      const open = pauses.find((p) => p.to === null);
      if (open) open.to = now;
    }
    update.pauses = pauses;
    current = { ...current, pauses };
    const seconds = carrierBusinessSeconds(current, connectionOptions, now);
    entries.push(
      delegationEntry(
        delegation,
        "carrier.status_changed",
        { from: previous, to: next, carrierStatus: carrier.status, businessSeconds: seconds },
        actor,
      ),
    );
    if (next === "pending")
      entries.push(
        delegationEntry(
          delegation,
          "carrier.paused",
          { reason: carrier.statusReason ?? "information_required" },
          actor,
        ),
      );
    if (previous === "pending") entries.push(delegationEntry(delegation, "carrier.resumed", {}, actor));
    if (!delegation.acknowledgedAt && ackStates.includes(next)) {
      update.acknowledgedAt = new Date(now);
      const target = olaTarget(connectionOptions, ticket.priority, "acknowledge");
      entries.push(
        delegationEntry(
          delegation,
          "carrier.acknowledged",
          { businessSeconds: seconds, targetSeconds: target, met: target === null || seconds <= target },
          actor,
        ),
      );
      if (target !== null && seconds > target && !delegation.breaches.includes("acknowledge")) {
        update.breaches = [...(update.breaches ?? delegation.breaches), "acknowledge"];
        entries.push(
          delegationEntry(
            delegation,
            "carrier.ola_breached",
            { target: "acknowledge", businessSeconds: seconds, targetSeconds: target },
            actor,
          ),
        );
      }
    }
    if (next === "resolved" || (next === "closed" && !delegation.resolvedAt)) {
      update.resolvedAt = new Date(now);
      const target = olaTarget(connectionOptions, ticket.priority, "restore");
      entries.push(
        delegationEntry(
          delegation,
          "carrier.resolved",
          { businessSeconds: seconds, targetSeconds: target, met: target === null || seconds <= target },
          actor,
        ),
      );
      if (target !== null && seconds > target && !delegation.breaches.includes("restore")) {
        update.breaches = [...(update.breaches ?? delegation.breaches), "restore"];
        entries.push(
          delegationEntry(
            delegation,
            "carrier.ola_breached",
            { target: "restore", businessSeconds: seconds, targetSeconds: target },
            actor,
          ),
        );
      }
    }
    if (next === "closed") update.closedAt = new Date(now);
    if (next === "in_progress" && previous === "resolved") update.resolvedAt = null;
  }
  await tx.update(delegations).set(update).where(eq(delegations.id, delegation.id));
  await appendLedger(tx, entries);

  let ticketRow = ticket;
  // Carrier notes: internal by default (a SPOC does not leak the carrier's internals); relayed if configured.
  const seen = new Set(
    (
      await tx
        .select({ id: delegationNotes.externalNoteId })
        .from(delegationNotes)
        .where(eq(delegationNotes.delegationId, delegation.id))
    ).map((n) => n.id),
  );
  const relayNotes =
    loaded.connector.kind === "carrier" && loaded.connector.relaysNotesToClient(loaded.settings);
  for (const note of carrier.notes) {
    if (seen.has(note.externalId) || note.source === "buyer") continue;
    const { comment, ticket: updated } = await insertComment(
      tx,
      systemActing(options, delegation, relayNotes),
      ticketRow,
      {
        body: relayNotes ? note.text : `[${loaded.row.name}] ${note.text}`,
        visibility: relayNotes ? "public" : "internal",
        authorId: loaded.row.id,
        authorName: note.author ?? loaded.row.name,
      },
    );
    ticketRow = updated;
    await tx
      .insert(delegationNotes)
      .values({ delegationId: delegation.id, externalNoteId: note.externalId, commentId: comment.id })
      .onConflictDoNothing();
  }
  // While our cancel request is being assessed, intermediate states are not news for the client.
  const cancelling =
    update.state !== undefined &&
    update.state !== "cancelled" &&
    (
      await tx
        .select({ id: jobs.id })
        .from(jobs)
        .where(and(eq(jobs.orderKey, delegation.id), eq(jobs.kind, "delegation.cancel")))
        .limit(1)
    ).length > 0;
  if (update.state && connectionOptions.relayStatusToClient && !cancelling) {
    // The client hears that the carrier leg moved, in the provider's words, without carrier details.
    const { ticket: updated } = await insertComment(tx, systemActing(options, delegation, true), ticketRow, {
      body: `Update: the issue ${stateWords[update.state as DelegationState]}.`,
      visibility: "public",
      authorId: loaded.row.id,
      authorName: null,
    });
    ticketRow = updated;
  }
  if (
    update.state === "resolved" &&
    connectionOptions.resolveTicketOnCarrierResolution &&
    isOpenStatus(ticketRow.status as TicketStatus)
  ) {
    await applyTicketChanges(tx, systemActing(options, delegation, true), ticketRow, { status: "resolved" });
  }
}

async function openDelegationFor(db: Db, connectionId: string, carrier: CarrierTicket) {
  const byCarrierId = await db
    .select()
    .from(delegations)
    .where(
      and(eq(delegations.connectionId, connectionId), eq(delegations.carrierTicketId, carrier.externalId)),
    );
  if (byCarrierId[0]) return byCarrierId[0];
  if (carrier.correlationId) {
    const [byOurId] = await db
      .select()
      .from(delegations)
      .where(and(eq(delegations.connectionId, connectionId), eq(delegations.id, carrier.correlationId)));
    return byOurId ?? null;
  }
  return null;
}

/** Applies a carrier's notice: the carrier ticket is re-read and its delegation updated in one transaction. */
export async function applyCarrierNotice(
  ctx: JobContext,
  loaded: LoadedConnection,
  row: typeof inbox.$inferSelect,
): Promise<JobResult> {
  const { db } = ctx;
  const applied = { outcome: "done" as const, commit: (tx: Tx) => markApplied(tx, row.id, ctx.now()) };
  const client = carrierClientFor(ctx.engine, loaded);
  let carrier: CarrierTicket;
  try {
    carrier = await client.getTicket(row.externalId);
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) return applied;
    throw error;
  }
  const found = await openDelegationFor(db, loaded.row.id, carrier);
  if (!found) return applied;
  return {
    outcome: "done",
    commit: async (tx) => {
      const [delegation] = await tx
        .select()
        .from(delegations)
        .where(eq(delegations.id, found.id))
        .for("update");
      if (delegation) await applyCarrierTicket(tx, ctx, loaded, delegation, carrier);
      await markApplied(tx, row.id, ctx.now());
    },
  };
}

/** Missed carrier events are caught here: open delegations are re-read (or listed by lastUpdate). */
export async function pollCarrier(db: Db, engine: EngineDeps, connectionId: string, now: Date) {
  const loaded = await loadConnection(db, engine, connectionId);
  if (loaded?.connector.kind !== "carrier") return;
  const open = await db
    .select()
    .from(delegations)
    .where(
      and(
        eq(delegations.connectionId, connectionId),
        notInArray(delegations.state, terminalDelegationStates),
      ),
    );
  const ids = open.map((d) => d.carrierTicketId).filter((id): id is string => id !== null);
  if (ids.length > 0) {
    const changed = await carrierClientFor(engine, loaded).listChanged(loaded.row.pollCursor, ids);
    await db.transaction(async (tx) => {
      const keyed: { externalId: string; dedupeKey: string }[] = [];
      for (const externalId of changed.externalIds) {
        const dedupeKey = await polledCarrierChangeKey(tx, connectionId, externalId, changed.nextCursor, now);
        if (dedupeKey !== null) keyed.push({ externalId, dedupeKey });
      }
      if (keyed.length > 0) {
        const inserted = await tx
          .insert(inbox)
          .values(
            keyed.map(({ externalId, dedupeKey }) => ({
              connectionId,
              dedupeKey,
              externalId,
              notice: { externalId },
              source: "poll" as const,
              receivedAt: now,
            })),
          )
          .onConflictDoNothing()
          .returning({ id: inbox.id, externalId: inbox.externalId });
        await enqueueJobs(
          tx,
          inserted.map((row) => inboxJob(loaded, row.id, row.externalId, now)),
        );
      }
      if (changed.nextCursor !== null)
        await tx
          .update(connections)
          .set({ pollCursor: changed.nextCursor })
          .where(eq(connections.id, connectionId));
    });
  }
  await recordOverdue(db, loaded, open, now);
}

/** OLA breaches of delegations still waiting, recorded once when the target passes (not only at the next event). */
async function recordOverdue(db: Db, loaded: LoadedConnection, open: DelegationRow[], now: Date) {
  const options = carrierOptionsOf(loaded.row);
  if (!options.ola || open.length === 0) return;
  const ticketRows = await db
    .select({ id: tickets.id, priority: tickets.priority })
    .from(tickets)
    .where(
      inArray(
        tickets.id,
        open.map((d) => d.ticketId),
      ),
    );
  const priorityOf = new Map(ticketRows.map((t) => [t.id, t.priority]));
  for (const delegation of open) {
    const priority = priorityOf.get(delegation.ticketId);
    if (!priority) continue;
    const seconds = carrierBusinessSeconds(delegation, options, now.getTime());
    const due: ("acknowledge" | "restore")[] = [];
    const ack = olaTarget(options, priority, "acknowledge");
    if (
      !delegation.acknowledgedAt &&
      ack !== null &&
      seconds > ack &&
      !delegation.breaches.includes("acknowledge")
    )
      due.push("acknowledge");
    const restore = olaTarget(options, priority, "restore");
    if (
      !delegation.resolvedAt &&
      restore !== null &&
      seconds > restore &&
      !delegation.breaches.includes("restore")
    )
      due.push("restore");
    if (due.length === 0) continue;
    await db.transaction(async (tx) => {
      const [locked] = await tx
        .select()
        .from(delegations)
        .where(eq(delegations.id, delegation.id))
        .for("update");
      if (!locked) return;
      const fresh = due.filter((d) => !locked.breaches.includes(d));
      if (fresh.length === 0) return;
      await tx
        .update(delegations)
        .set({ breaches: [...locked.breaches, ...fresh] })
        .where(eq(delegations.id, delegation.id));
      await appendLedger(
        tx,
        fresh.map((target) =>
          delegationEntry(
            locked,
            "carrier.ola_breached",
            {
              target,
              businessSeconds: seconds,
              targetSeconds: olaTarget(options, priority, target),
              detectedBy: "poll",
            },
            { type: "system", id: "poller" },
            "provider",
          ),
        ),
      );
    });
  }
}

function delegationOf(db: Db, id: string) {
  return db
    .select()
    .from(delegations)
    .where(eq(delegations.id, id))
    .then((rows) => rows[0]);
}

function delegationAction(action: "cancel" | "close" | "reopen"): DeliveryHandler {
  return async (db, options, job, loaded) => {
    const delegation = await delegationOf(db, job.ticketId);
    if (!delegation?.carrierTicketId) {
      if (action === "cancel" && delegation && delegation.state === "requested") {
        return {
          externalId: null,
          detail: { action, delegationId: delegation.id, atCarrier: false },
          commit: async (tx) => {
            await tx
              .update(delegations)
              .set({ state: "cancelled", updatedAt: options.now() })
              .where(eq(delegations.id, delegation.id));
          },
        };
      }
      throw new RetryableSyncError("the carrier ticket is not open yet");
    }
    const client = carrierClientFor(options.engine, loaded);
    const reason = (job.payload["reason"] as string | undefined) ?? null;
    if (action === "cancel") await client.cancel(delegation.carrierTicketId, reason);
    else if (action === "close") await client.close(delegation.carrierTicketId);
    else await client.reopen(delegation.carrierTicketId, reason);
    const carrier = await client.getTicket(delegation.carrierTicketId);
    return {
      externalId: delegation.carrierTicketId,
      detail: { action, delegationId: delegation.id },
      commit: async (tx) => {
        const [locked] = await tx
          .select()
          .from(delegations)
          .where(eq(delegations.id, delegation.id))
          .for("update");
        if (locked)
          await applyCarrierTicket(
            tx,
            { now: options.now, catalog: options.catalog },
            loaded,
            locked,
            carrier,
          );
      },
    };
  };
}

export const carrierDeliveries = {
  "listener.register": async (_db, options, job, loaded) => {
    const callbackUrl = webhookUrlOf(options.engine, loaded);
    const client = carrierClientFor(options.engine, loaded);
    // A registration for an older callback URL (secret rotated, carrier moved) is removed first.
    if (loaded.row.remoteListenerId) await client.unregisterListener(loaded.row.remoteListenerId);
    const { listenerId } = await client.registerListener(callbackUrl);
    return {
      externalId: listenerId,
      detail: { action: "listener_registered" },
      commit: async (tx) => {
        await tx
          .update(connections)
          .set({ remoteListenerId: listenerId })
          .where(eq(connections.id, job.connectionId));
      },
    };
  },

  "delegation.open": async (db, options, job, loaded) => {
    const delegation = await delegationOf(db, job.ticketId);
    if (!delegation) return { externalId: null, detail: {}, noop: true };
    if (delegation.carrierTicketId) return { externalId: delegation.carrierTicketId, detail: {}, noop: true };
    const [ticket] = await db.select().from(tickets).where(eq(tickets.id, delegation.ticketId));
    if (!ticket) return { externalId: null, detail: {}, noop: true };
    const tenantName = String(job.payload["tenantName"] ?? ticket.tenantId);
    const client = carrierClientFor(options.engine, loaded);
    let ref: Awaited<ReturnType<typeof client.openTicket>>;
    try {
      ref = await client.openTicket({
        delegationId: delegation.id,
        canonicalId: ticket.id,
        title: ticket.title,
        description: ticket.description ?? ticket.title,
        priority: ticket.priority,
        reason: delegation.reason,
        service: delegation.service,
        customer: { id: ticket.tenantId, name: tenantName },
        reporter: { name: String(job.payload["reporterName"] ?? "Service desk"), email: null, phone: null },
      });
    } catch (error) {
      if (error instanceof HttpError && !classifyFailure(error).retry)
        await markRefused(db, options, loaded, delegation, error);
      throw error;
    }
    const carrier = await client.getTicket(ref.externalId);
    return {
      externalId: ref.externalId,
      detail: { action: ref.action, delegationId: delegation.id },
      commit: async (tx) => {
        const [locked] = await tx
          .select()
          .from(delegations)
          .where(eq(delegations.id, delegation.id))
          .for("update");
        if (!locked) return;
        await tx
          .update(delegations)
          .set({ carrierTicketId: ref.externalId, updatedAt: options.now() })
          .where(eq(delegations.id, delegation.id));
        await applyCarrierTicket(
          tx,
          { now: options.now, catalog: options.catalog },
          loaded,
          { ...locked, carrierTicketId: ref.externalId },
          carrier,
        );
      },
    };
  },

  "delegation.note": async (db, options, job, loaded) => {
    const delegation = await delegationOf(db, job.ticketId);
    if (!delegation?.carrierTicketId) throw new RetryableSyncError("the carrier ticket is not open yet");
    await carrierClientFor(options.engine, loaded).addNote(
      delegation.carrierTicketId,
      {
        canonicalId: String(job.payload["noteId"]),
        text: String(job.payload["text"]),
        author: String(job.payload["author"] ?? "Service desk"),
      },
      { attempt: job.attempts, since: job.createdAt },
    );
    return {
      externalId: delegation.carrierTicketId,
      detail: { action: "note_added", delegationId: delegation.id },
    };
  },
  "delegation.cancel": delegationAction("cancel"),
  "delegation.close": delegationAction("close"),
  "delegation.reopen": delegationAction("reopen"),
} satisfies Record<
  | "listener.register"
  | "delegation.open"
  | "delegation.note"
  | "delegation.cancel"
  | "delegation.close"
  | "delegation.reopen",
  DeliveryHandler
>;

/** A carrier that refuses a delegation (a 4xx on create) makes it rejected, surfaced on the ticket and in the ledger. */
async function markRefused(
  db: Db,
  options: { now: () => Date; catalog?: InboxOptions["catalog"] },
  loaded: LoadedConnection,
  delegation: DelegationRow,
  error: HttpError,
) {
  const state: DelegationState =
    error.status === 422 || error.status === 409 || error.status === 400 ? "rejected" : "failed";
  await db.transaction(async (tx) => {
    const [ticket] = await tx.select().from(tickets).where(eq(tickets.id, delegation.ticketId)).for("update");
    await tx
      .update(delegations)
      .set({ state, updatedAt: options.now() })
      .where(eq(delegations.id, delegation.id));
    await appendLedger(tx, [
      delegationEntry(
        delegation,
        state === "rejected" ? "carrier.rejected" : "carrier.failed",
        { httpStatus: error.status, error: error.message.slice(0, 200) },
        { type: "connection", id: loaded.row.id },
      ),
    ]);
    if (ticket && options.catalog) {
      await insertComment(
        tx,
        systemActing({ now: options.now, catalog: options.catalog }, delegation, true),
        ticket,
        {
          body: `Delegation to ${loaded.row.name} was ${state === "rejected" ? "rejected" : "not accepted"} by the carrier (HTTP ${error.status}). See the dead letters to retry or re-delegate.`,
          visibility: "internal",
          authorId: loaded.row.id,
          authorName: null,
        },
      );
    }
  });
}

export function isTicketStatusForDelegation(status: string): boolean {
  return (
    isOpenStatus(status as TicketStatus) && isAllowedTransition(status as TicketStatus, "pending_carrier")
  );
}
