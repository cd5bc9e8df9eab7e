import { createHash } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { ZodError } from "zod";
import type { OutboundTicket, ServicedeskClient } from "../../connectors/sdk/index.js";
import type { PlanCatalog } from "../../schemas/plan.js";
import type { TicketStatus } from "../../schemas/ticket.js";
import { type Db, queryRows, type Tx } from "../db/client.js";
import {
  attachmentLinks,
  attachments,
  commentLinks,
  comments,
  connections,
  externalLinks,
  tickets,
  worklogLinks,
} from "../db/schema/index.js";
import { tableRows } from "../db/table-rows.js";
import { ConnectionSettingsError } from "../jobs/classify.js";
import { enqueueJobs, type NewJob, queuePriority, takeClaimedConnection } from "../jobs/queue.js";
import type { JobHandler, JobRow } from "../jobs/types.js";
import { appendLedger, type LedgerEntryInput } from "../ledger/append.js";
import type { EngineDeps } from "../services/context.js";
import { servicedeskClientFor } from "./clients.js";
import {
  type ConnectionRow,
  type LoadedConnection,
  loadConnection,
  loadConnectionRow,
} from "./connections.js";
import type { SyncSettings } from "./settings.js";
import { comparableCanonical, comparableVendor, type LinkBaselines, movedFields } from "./snapshot.js";
import { connectionsTrackingTicket, outboundServicedesks } from "./ticket-connections.js";
import { worklogCopyOf } from "./worklogs.js";

type TicketRow = typeof tickets.$inferSelect;

/** What a change means for the connections of the ticket's tenant. */
export type TicketChange =
  | { kind: "created" }
  | { kind: "updated" }
  | { kind: "comment"; commentId: string; visibility: "public" | "internal"; side: string };

/**
 * Queues outbound work for a canonical change, in the change's own transaction (the outbox commits with
 * it). `originConnectionId` is the connection the change came from: it is not sent back there. `outbound` is
 * the tenant's {@link outboundServicedesks} when the caller read them in this transaction already.
 */
export async function enqueueTicketSync(
  tx: Tx,
  ticket: TicketRow,
  change: TicketChange,
  options: { now: Date; originConnectionId?: string | null; outbound?: readonly ConnectionRow[] | undefined },
) {
  const candidates = options.outbound ?? (await outboundServicedesks(tx, ticket.tenantId));
  if (candidates.length === 0) return;
  const tracking = await connectionsTrackingTicket(
    tx,
    ticket.id,
    candidates.map((connection) => connection.id),
  );
  const rows: NewJob[] = [];
  for (const connection of candidates) {
    if (connection.id === options.originConnectionId && change.kind !== "created") continue;
    const tracked = tracking.has(connection.id);
    const base = {
      connectionId: connection.id,
      orderKey: ticket.id,
      tenantId: ticket.tenantId,
      priority: queuePriority(ticket.priority),
      runAt: options.now,
    };
    if (change.kind === "created") {
      // A connection syncs the tickets created after it, narrowed by its filter; backfill sends older ones.
      if (connection.id === options.originConnectionId) continue;
      if (connection.createdAt.getTime() > ticket.createdAt.getTime()) continue;
      if (!(await matchesFilter(connection, ticket))) continue;
      rows.push({ ...base, kind: "ticket.create" });
    } else if (change.kind === "updated") {
      if (tracked) rows.push({ ...base, kind: "ticket.update" });
    } else if (tracked && change.visibility === "public") {
      // Provider-internal notes never go to a client; a client's own internal notes stay where they are.
      rows.push({ ...base, kind: "comment.add", payload: { commentId: change.commentId } });
    }
  }
  await enqueueJobs(tx, rows);
}

async function matchesFilter(
  connection: typeof connections.$inferSelect,
  ticket: TicketRow,
): Promise<boolean> {
  const filter = connection.filter;
  if (!filter) return true;
  if (filter.priorities && !filter.priorities.includes(ticket.priority)) return false;
  if (filter.categories && (!ticket.category || !filter.categories.includes(ticket.category))) return false;
  if (
    filter.affectedServices &&
    (!ticket.affectedService || !filter.affectedServices.includes(ticket.affectedService))
  ) {
    return false;
  }
  return true;
}

export interface DispatchOptions {
  engine: EngineDeps;
  workerId: string;
  now: () => Date;
  /** Jobs that change tickets (a carrier's answer) run SLA bookkeeping. */
  catalog: PlanCatalog;
}

interface Delivered {
  externalId: string | null;
  detail: Record<string, unknown>;
  /** Writes that commit with the delivery mark. */
  commit?: (tx: Tx) => Promise<void>;
  /** Nothing needed doing (already linked, no difference): no ledger entry. */
  noop?: boolean;
}

/** A delivery job as its handler sees it: `ticketId` is the job's order key (a ticket or a delegation id). */
export type DeliveryJob = JobRow & { ticketId: string; connectionId: string };

export type DeliveryHandler = (
  db: Db,
  options: DispatchOptions,
  job: DeliveryJob,
  loaded: LoadedConnection,
) => Promise<Delivered>;

/**
 * A job that carries one outbound effect to a connection: the handler calls the vendor (no transaction open),
 * then the result commits with the job's done mark and a `sync.sent` ledger entry, under the lease check.
 */
export function deliveryJob(handler: DeliveryHandler): JobHandler {
  return {
    periodic: false,
    run: async (ctx, job) => {
      const started = performance.now();
      const loaded = await loadJobConnection(ctx, job);
      if (!loaded) return { outcome: "skipped", reason: "connection deleted" };
      const delivery = { ...job, ticketId: job.orderKey ?? "", connectionId: job.connectionId! };
      const result = await handler(ctx.db, ctx, delivery, loaded);
      const latencyMs = Math.round(performance.now() - started);
      const budget = rateBudgetOf(ctx, loaded);
      return {
        outcome: "done",
        commit: async (tx) => {
          if (budget !== undefined && rateBudgetWorthStoring(loaded.row, budget, ctx.engine.sync, ctx.now()))
            await recordRateBudget(tx, loaded.row.id, budget, ctx.now());
          await result.commit?.(tx);
          if (!result.noop) {
            await appendLedger(tx, [
              syncEntry(delivery, loaded, "sync.sent", result.externalId, {
                ...result.detail,
                attempt: job.attempts,
                latencyMs,
              }),
            ]);
          }
        },
      };
    },
  };
}

/** The vendor's reported budget after this job's calls (servicedesk connectors that report one). */
function rateBudgetOf(ctx: Pick<DispatchOptions, "engine">, loaded: LoadedConnection) {
  if (loaded.connector.kind !== "servicedesk") return undefined;
  const client = servicedeskClientFor(ctx.engine, loaded);
  return client.rateBudget ? client.rateBudget() : undefined;
}

/** How long a budget that limits nothing may go unrecorded: connection health shows it this fresh. */
const UNBINDING_BUDGET_REFRESH_MS = 10_000;

/**
 * Whether this job's reading of the vendor's budget must be written to the connection row. A budget below the
 * connection's concurrency limits claims and is written every time; one at or above it changes nothing a claim
 * does, so it is written only to lift a limit stored earlier or to refresh what health shows every few seconds.
 * Writing the row on every delivery made the deliveries of one connection queue on its row lock.
 */
function rateBudgetWorthStoring(
  row: LoadedConnection["row"],
  budget: { remaining: number; resetAt: Date } | null,
  sync: Pick<SyncSettings, "connectionConcurrency">,
  now: Date,
): boolean {
  if (budget === null) return row.concurrencyBudget !== null || row.rateLimitRemaining !== null;
  if (budget.remaining < sync.connectionConcurrency) return true;
  if (row.concurrencyBudget !== null && row.concurrencyBudget < sync.connectionConcurrency) return true;
  return (
    row.rateLimitSeenAt === null ||
    now.getTime() - row.rateLimitSeenAt.getTime() >= UNBINDING_BUDGET_REFRESH_MS
  );
}

/**
 * Stores the budget with the connection, so every process's claims respect it: at most `remaining` jobs in
 * flight, and none before the window resets once it is spent. The same update keeps the figures connection health
 * shows, so reporting the budget costs no extra write.
 */
async function recordRateBudget(
  tx: Tx,
  connectionId: string,
  budget: { remaining: number; resetAt: Date } | null,
  now: Date,
) {
  const seen =
    budget === null
      ? { rateLimitRemaining: null, rateLimitResetAt: null, rateLimitSeenAt: null }
      : { rateLimitRemaining: budget.remaining, rateLimitResetAt: budget.resetAt, rateLimitSeenAt: now };
  const claims =
    budget === null
      ? { concurrencyBudget: null }
      : budget.remaining > 0
        ? { concurrencyBudget: budget.remaining }
        : { concurrencyBudget: 1, holdUntil: budget.resetAt };
  await tx
    .update(connections)
    .set({ ...claims, ...seen })
    .where(eq(connections.id, connectionId));
}

/**
 * The job's connection with its settings, or null when it was deleted. Settings that no longer parse are a
 * ConnectionSettingsError: the runner pauses the connection instead of failing job after job.
 */
export async function loadJobConnection(
  ctx: Pick<DispatchOptions, "engine"> & { db: Db },
  job: Pick<JobRow, "connectionId">,
): Promise<LoadedConnection | null> {
  if (job.connectionId === null) return null;
  try {
    const claimed = takeClaimedConnection(job);
    if (claimed) return { ...loadConnectionRow(ctx.engine, claimed.row), ...claimed };
    return await loadConnection(ctx.db, ctx.engine, job.connectionId);
  } catch (error) {
    if (error instanceof ZodError || error instanceof SyntaxError) {
      throw new ConnectionSettingsError(
        `the connection's settings no longer parse: ${error instanceof ZodError ? error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") : "not JSON"}`.slice(
          0,
          500,
        ),
      );
    }
    throw error;
  }
}

export function syncEntry(
  job: Pick<JobRow, "tenantId" | "connectionId" | "kind"> & {
    ticketId: string;
    payload?: JobRow["payload"];
  },
  loaded: LoadedConnection,
  kind: string,
  externalId: string | null,
  detail: Record<string, unknown>,
): LedgerEntryInput {
  return {
    tenantId: job.tenantId,
    // Carrier jobs are ordered by delegation; they carry their ticket in the payload.
    ticketId: job.ticketId.startsWith("tkt_")
      ? job.ticketId
      : typeof job.payload?.["ticketId"] === "string"
        ? (job.payload["ticketId"] as string)
        : null,
    connectionId: job.connectionId,
    direction: "outbound",
    kind,
    actor: { type: "system", id: "outbox" },
    side: "provider",
    externalId,
    detail: { job: job.kind, connector: loaded.row.type, ...detail },
  };
}

function outboundTicket(ticket: TicketRow): OutboundTicket {
  return {
    canonicalId: ticket.id,
    title: ticket.title,
    description: ticket.description,
    priority: ticket.priority,
    status: ticket.status as TicketStatus,
    requester: ticket.requester ?? null,
    category: ticket.category,
    affectedService: ticket.affectedService,
  };
}

// Read by every delivery: selected raw, the select lists built once (src/db/table-rows.ts).
const ticketRows = tableRows(tickets);
const linkRows = tableRows(externalLinks);
const commentRows = tableRows(comments);

async function ticketAndLink(db: Db, job: DeliveryJob) {
  // One round trip: a link cannot outlive its ticket (the foreign key cascades), so the join loses nothing.
  const [found] = await queryRows<Record<string, unknown>>(
    db,
    sql`select ${ticketRows.columns}, ${linkRows.columns}
        from ${tickets} left join ${externalLinks}
          on ${externalLinks.connectionId} = ${job.connectionId} and ${externalLinks.ticketId} = ${tickets.id}
        where ${tickets.id} = ${job.ticketId}`,
  );
  return {
    ticket: ticketRows.rowOf(found),
    link: linkRows.rowOf(found),
  };
}

/**
 * Writes the canonical fields that moved off the canonical baseline. Returns the new baselines: the canonical
 * one is now the ticket as sent; the vendor one takes the written fields as the vendor will echo them.
 */
async function pushChanges(
  client: ServicedeskClient,
  ticket: TicketRow,
  externalId: string,
  baselines: LinkBaselines,
) {
  const current = comparableCanonical(ticket);
  const fields = movedFields(baselines.canonical, current);
  if (fields.length === 0) return { fields, ref: null, baselines };
  const patch: Record<string, unknown> = {};
  for (const field of fields) patch[field] = field === "description" ? ticket.description : ticket[field];
  const ref = await client.updateTicket(externalId, patch);
  // Read the record back so the vendor baseline holds the vendor's own values for what we wrote.
  const echoed = await client.getTicket(ref.externalId);
  const vendor = { ...baselines.vendor };
  const readBack = comparableVendor(echoed);
  for (const field of fields) vendor[field] = readBack[field] as never;
  return { fields, ref, baselines: { canonical: current, vendor } };
}

/** Used when a connector's settings name no attachment cap. */
const defaultAttachmentMaxBytes = 10 * 1024 * 1024;

/** The connection's attachment size cap, as its connector reads it from the settings; else the default. */
export function attachmentCapOf(loaded: Pick<LoadedConnection, "connector" | "settings">): number {
  const cap =
    loaded.connector.kind === "servicedesk" ? loaded.connector.attachmentMaxBytes?.(loaded.settings) : null;
  return typeof cap === "number" && Number.isFinite(cap) && cap > 0 ? cap : defaultAttachmentMaxBytes;
}

/** An error the engine does not retry: dead-lettered at once. */
export class PermanentSyncError extends Error {
  readonly retryable = false;
}

/** An error worth retrying with backoff (the target record does not exist yet). */
export class RetryableSyncError extends Error {
  readonly retryable = true;
}

const updateTicketAt: DeliveryHandler = async (db, options, job, loaded) => {
  const { ticket, link } = await ticketAndLink(db, job);
  if (!ticket || !link?.externalId) return { externalId: null, detail: {}, noop: true };
  const client = servicedeskClientFor(options.engine, loaded);
  const pushed = await pushChanges(client, ticket, link.externalId, link.snapshot as LinkBaselines);
  if (pushed.fields.length === 0) return { externalId: link.externalId, detail: {}, noop: true };
  const ref = pushed.ref!;
  const relinked = ref.externalId !== link.externalId;
  return {
    externalId: ref.externalId,
    detail: {
      fields: pushed.fields,
      version: ticket.version,
      ...(relinked ? { relinkedFrom: link.externalId } : {}),
    },
    commit: async (tx) => {
      await tx
        .update(externalLinks)
        .set({
          externalId: ref.externalId,
          externalKey: ref.externalKey,
          url: ref.url,
          snapshot: pushed.baselines as Record<string, unknown>,
          lastSyncedVersion: ticket.version,
          externalUpdatedAt: new Date(ref.updatedAt),
          updatedAt: options.now(),
        })
        .where(and(eq(externalLinks.connectionId, job.connectionId), eq(externalLinks.ticketId, ticket.id)));
      if (relinked) {
        await appendLedger(tx, [
          syncEntry(job, loaded, "sync.relinked", ref.externalId, {
            from: link.externalId,
            reason: ref.action,
          }),
        ]);
      }
    },
  };
};

export const servicedeskDeliveries = {
  "ticket.create": async (db, options, job, loaded) => {
    const { ticket, link } = await ticketAndLink(db, job);
    if (!ticket) return { externalId: null, detail: {}, noop: true };
    const client = servicedeskClientFor(options.engine, loaded);
    if (link?.externalId) {
      // Linked meanwhile (the record came back by webhook carrying our id): send what it may lack.
      return updateTicketAt(db, options, job, loaded);
    }
    let ref = await client.createTicket(outboundTicket(ticket));
    let baselines: LinkBaselines = {};
    if (ref.action === "linked") {
      // A record from an earlier attempt (or made by hand) carries our id: bring it up to date.
      const pushed = await pushChanges(client, ticket, ref.externalId, {});
      ref = pushed.ref ?? ref;
    }
    // The vendor baseline is what the vendor made of our create (defaults, derived fields), read back.
    const created = await client.getTicket(ref.externalId);
    baselines = { canonical: comparableCanonical(ticket), vendor: comparableVendor(created) };
    const now = options.now();
    return {
      externalId: ref.externalId,
      detail: { action: ref.action, externalKey: ref.externalKey, version: ticket.version },
      commit: async (tx) => {
        await tx
          .insert(externalLinks)
          .values({
            connectionId: job.connectionId,
            ticketId: ticket.id,
            externalId: ref.externalId,
            externalKey: ref.externalKey,
            url: ref.url,
            lastSyncedVersion: ticket.version,
            externalUpdatedAt: new Date(ref.updatedAt),
            snapshot: baselines as Record<string, unknown>,
            createdAt: now,
            updatedAt: now,
          })
          .onConflictDoUpdate({
            target: [externalLinks.connectionId, externalLinks.ticketId],
            set: {
              externalId: ref.externalId,
              externalKey: ref.externalKey,
              url: ref.url,
              snapshot: baselines as Record<string, unknown>,
              updatedAt: now,
            },
          });
      },
    };
  },

  "ticket.update": updateTicketAt,

  "ticket.link": async (db, options, job, loaded) => {
    const { ticket, link } = await ticketAndLink(db, job);
    if (!ticket || !link?.externalId) return { externalId: null, detail: {}, noop: true };
    const client = servicedeskClientFor(options.engine, loaded);
    const ref = await client.updateTicket(link.externalId, { correlationId: ticket.id });
    return { externalId: ref.externalId, detail: { action: "correlation_written" } };
  },

  /**
   * Copies a canonical attachment from the connection it came from to this one, streamed: the source's content
   * is piped through a hashing, counting, size-capping transform straight into the target's upload.
   */
  "attachment.copy": async (db, options, job, loaded) => {
    const attachmentId = String(job.payload["attachmentId"]);
    const [attachment] = await db.select().from(attachments).where(eq(attachments.id, attachmentId));
    if (!attachment) return { externalId: null, detail: {}, noop: true };
    const [already] = await db
      .select()
      .from(attachmentLinks)
      .where(
        and(
          eq(attachmentLinks.connectionId, job.connectionId),
          eq(attachmentLinks.attachmentId, attachmentId),
        ),
      );
    if (already) return { externalId: null, detail: {}, noop: true };
    const [link] = await db
      .select()
      .from(externalLinks)
      .where(
        and(
          eq(externalLinks.connectionId, job.connectionId),
          eq(externalLinks.ticketId, attachment.ticketId),
        ),
      );
    if (!link?.externalId) {
      throw new RetryableSyncError(`ticket ${attachment.ticketId} is not linked at ${job.connectionId} yet`);
    }
    const target = servicedeskClientFor(options.engine, loaded);
    const cap = attachmentCapOf(loaded);
    const base = { attachmentId, fileName: attachment.fileName };
    const linkAndLedger = (
      externalAttachmentId: string | null,
      sha256: string | null,
      sizeBytes: number | null,
      extra: Record<string, unknown> = {},
    ): Delivered => ({
      externalId: link.externalId,
      detail: { ...base, externalAttachmentId, sha256, sizeBytes, ...extra },
      commit: async (tx) => {
        await tx
          .insert(attachmentLinks)
          .values({
            connectionId: job.connectionId,
            attachmentId,
            externalAttachmentId,
            createdAt: options.now(),
          })
          .onConflictDoNothing();
        if (sha256 !== null && sizeBytes !== null) {
          await tx
            .update(attachments)
            .set({
              sha256: sql`coalesce(${attachments.sha256}, ${sha256})`,
              sizeBytes: sql`coalesce(${attachments.sizeBytes}, ${sizeBytes})`,
            })
            .where(eq(attachments.id, attachmentId));
        }
        await appendLedger(tx, [
          {
            ...syncEntry(job, loaded, "attachment.synced", link.externalId, {
              ...base,
              externalAttachmentId,
              sha256,
              sizeBytes,
              fromConnectionId: attachment.sourceConnectionId,
              ...extra,
            }),
            payloadHash: sha256,
          },
        ]);
      },
    });
    // A retry may follow an upload that landed before the failure was seen: look before uploading again.
    if (job.attempts > 1 && target.listAttachments) {
      const landed = (await target.listAttachments(link.externalId)).find(
        (file) =>
          file.fileName === attachment.fileName &&
          (attachment.sizeBytes === null ||
            file.sizeBytes === null ||
            file.sizeBytes === attachment.sizeBytes),
      );
      if (landed) {
        return linkAndLedger(landed.externalId, attachment.sha256, landed.sizeBytes ?? attachment.sizeBytes, {
          recovered: true,
        });
      }
    }
    const tooLarge = () =>
      new PermanentSyncError(
        `attachment ${attachmentId} (${attachment.fileName}) exceeds the ${cap}-byte limit of ${loaded.row.type} connection ${job.connectionId}`,
      );
    if (attachment.sizeBytes !== null && attachment.sizeBytes > cap) throw tooLarge();
    if (!target.putAttachment) throw new PermanentSyncError(`${loaded.row.type} does not take attachments`);
    if (!attachment.sourceConnectionId || !attachment.sourceExternalId) {
      throw new PermanentSyncError(`attachment ${attachmentId} has no source to read it from`);
    }
    const source = await loadConnection(db, options.engine, attachment.sourceConnectionId);
    if (source?.connector.kind !== "servicedesk") {
      throw new PermanentSyncError(`the source connection of attachment ${attachmentId} is gone`);
    }
    const [sourceLink] = await db
      .select()
      .from(externalLinks)
      .where(
        and(
          eq(externalLinks.connectionId, attachment.sourceConnectionId),
          eq(externalLinks.ticketId, attachment.ticketId),
        ),
      );
    const from = servicedeskClientFor(options.engine, source);
    if (!sourceLink?.externalId || !from.openAttachment) {
      throw new PermanentSyncError(`attachment ${attachmentId} cannot be read from its source`);
    }
    const opened = await from.openAttachment(sourceLink.externalId, attachment.sourceExternalId, {
      maxBytes: cap,
    });
    const hash = createHash("sha256");
    let sizeBytes = 0;
    let exceeded = false;
    const body = opened.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          sizeBytes += chunk.byteLength;
          if (sizeBytes > cap) {
            exceeded = true;
            controller.error(tooLarge());
            return;
          }
          hash.update(chunk);
          controller.enqueue(chunk);
        },
      }),
    );
    let put: Awaited<ReturnType<NonNullable<ServicedeskClient["putAttachment"]>>>;
    try {
      put = await target.putAttachment(
        link.externalId,
        {
          fileName: opened.fileName,
          contentType: opened.contentType ?? attachment.contentType,
          sizeBytes: opened.sizeBytes ?? attachment.sizeBytes,
          body,
        },
        { maxBytes: cap, visibility: "public", note: `Attachment from ${source.connector.displayName}` },
      );
    } catch (error) {
      if (exceeded) throw tooLarge();
      throw error;
    }
    const sha256 = hash.digest("hex");
    if (put.sha256 !== sha256 || put.sizeBytes !== sizeBytes) {
      throw new RetryableSyncError(
        `attachment ${attachmentId}: the target counted ${put.sizeBytes} bytes (${put.sha256}), the gateway ${sizeBytes} (${sha256})`,
      );
    }
    return linkAndLedger(put.externalId, sha256, sizeBytes);
  },

  "comment.add": async (db, options, job, loaded) => {
    const commentId = String(job.payload["commentId"]);
    // The comment, the ticket's link at this connection and the comment's copy there, in one round trip.
    const [found] = await queryRows<Record<string, unknown>>(
      db,
      sql`select ${commentRows.columns}, ${externalLinks.externalId} as "externalId",
                 ${commentLinks.commentId} as "copied"
          from ${comments}
          left join ${externalLinks}
            on ${externalLinks.connectionId} = ${job.connectionId} and ${externalLinks.ticketId} = ${job.ticketId}
          left join ${commentLinks}
            on ${commentLinks.connectionId} = ${job.connectionId} and ${commentLinks.commentId} = ${comments.id}
          where ${comments.id} = ${commentId}`,
    );
    const comment = commentRows.rowOf(found);
    const externalId = (found?.["externalId"] as string | null | undefined) ?? null;
    if (!comment || !externalId) return { externalId: null, detail: {}, noop: true };
    if (found!["copied"] !== null) return { externalId, detail: {}, noop: true };
    const client = servicedeskClientFor(options.engine, loaded);
    const written = await client.addComment(
      externalId,
      {
        canonicalId: comment.id,
        body: comment.body,
        visibility: comment.visibility,
        ...(comment.authorName ? { authorName: comment.authorName } : {}),
      },
      { attempt: job.attempts, since: job.createdAt },
    );
    return {
      externalId,
      detail: { commentId, externalCommentId: written.externalId, visibility: comment.visibility },
      commit: async (tx) => {
        await tx
          .insert(commentLinks)
          .values({ connectionId: job.connectionId, commentId, externalCommentId: written.externalId })
          .onConflictDoNothing();
      },
    };
  },
  "worklog.add": async (db, options, job, loaded) => {
    const copy = worklogCopyOf(job.payload);
    const [already] = await db
      .select()
      .from(worklogLinks)
      .where(
        and(eq(worklogLinks.connectionId, job.connectionId), eq(worklogLinks.worklogId, copy.worklogId)),
      );
    if (already) return { externalId: null, detail: {}, noop: true };
    const [link] = await db
      .select()
      .from(externalLinks)
      .where(
        and(eq(externalLinks.connectionId, job.connectionId), eq(externalLinks.ticketId, copy.ticketId)),
      );
    if (!link?.externalId) {
      throw new RetryableSyncError(`ticket ${copy.ticketId} is not linked at ${job.connectionId} yet`);
    }
    const client = servicedeskClientFor(options.engine, loaded);
    if (!client.addWorklog) return { externalId: null, detail: {}, noop: true };
    const written = await client.addWorklog(
      link.externalId,
      {
        canonicalId: copy.worklogId,
        startedAt: copy.startedAt,
        durationSeconds: copy.durationMinutes * 60,
        author: copy.author,
        comment: copy.comment,
      },
      { attempt: job.attempts, since: job.createdAt },
    );
    return {
      externalId: link.externalId,
      detail: {
        worklogId: copy.worklogId,
        externalWorklogId: written.externalId,
        durationMinutes: copy.durationMinutes,
      },
      commit: async (tx) => {
        await tx
          .insert(worklogLinks)
          .values({
            connectionId: job.connectionId,
            worklogId: copy.worklogId,
            externalWorklogId: written.externalId,
            createdAt: options.now(),
          })
          .onConflictDoNothing();
      },
    };
  },
} satisfies Record<
  "ticket.create" | "ticket.update" | "ticket.link" | "attachment.copy" | "comment.add" | "worklog.add",
  DeliveryHandler
>;
