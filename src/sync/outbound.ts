import { createHash } from "node:crypto";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { OutboundTicket, ServicedeskClient } from "../../connectors/sdk/index.js";
import { failureText, HttpError, secretValues } from "../../connectors/sdk/index.js";
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
  outbox,
  tickets,
} from "../db/schema/index.js";
import { appendLedger, type LedgerEntryInput } from "../ledger/append.js";
import type { EngineDeps } from "../services/context.js";
import { servicedeskClientFor } from "./clients.js";
import { type LoadedConnection, loadConnection } from "./connections.js";
import { backoffMs } from "./settings.js";
import { comparableCanonical, comparableVendor, type LinkBaselines, movedFields } from "./snapshot.js";

type TicketRow = typeof tickets.$inferSelect;
type OutboxRow = typeof outbox.$inferSelect;

/** What a change means for the connections of the ticket's tenant. */
export type TicketChange =
  | { kind: "created" }
  | { kind: "updated" }
  | { kind: "comment"; commentId: string; visibility: "public" | "internal"; side: string };

/**
 * Queues outbound work for a canonical change, in the change's own transaction (the outbox commits with
 * it). `originConnectionId` is the connection the change came from: it is not sent back there.
 */
export async function enqueueTicketSync(
  tx: Tx,
  ticket: TicketRow,
  change: TicketChange,
  options: { now: Date; originConnectionId?: string | null },
) {
  const candidates = await tx
    .select()
    .from(connections)
    .where(
      and(
        eq(connections.tenantId, ticket.tenantId),
        eq(connections.status, "active"),
        eq(connections.role, "servicedesk"),
        inArray(connections.direction, ["both", "outbound"]),
      ),
    );
  if (candidates.length === 0) return;
  const linked = new Set(
    (
      await tx
        .select({ connectionId: externalLinks.connectionId })
        .from(externalLinks)
        .where(eq(externalLinks.ticketId, ticket.id))
    ).map((l) => l.connectionId),
  );
  const pendingCreates = new Set(
    (
      await tx
        .select({ connectionId: outbox.connectionId })
        .from(outbox)
        .where(
          and(
            eq(outbox.ticketId, ticket.id),
            eq(outbox.kind, "ticket.create"),
            inArray(outbox.status, ["pending", "dead"]),
          ),
        )
    ).map((o) => o.connectionId),
  );
  const rows: (typeof outbox.$inferInsert)[] = [];
  for (const connection of candidates) {
    if (connection.id === options.originConnectionId && change.kind !== "created") continue;
    const tracked = linked.has(connection.id) || pendingCreates.has(connection.id);
    const base = {
      connectionId: connection.id,
      ticketId: ticket.id,
      tenantId: ticket.tenantId,
      nextAttemptAt: options.now,
    };
    if (change.kind === "created") {
      // A connection syncs the tickets created after it, narrowed by its filter; backfill sends older ones.
      if (connection.id === options.originConnectionId) continue;
      if (connection.createdAt.getTime() > ticket.createdAt.getTime()) continue;
      if (!(await matchesFilter(connection, ticket))) continue;
      rows.push({ ...base, kind: "ticket.create", payload: {} });
    } else if (change.kind === "updated") {
      if (tracked) rows.push({ ...base, kind: "ticket.update", payload: {} });
    } else if (tracked && change.visibility === "public") {
      // Provider-internal notes never go to a client; a client's own internal notes stay where they are.
      rows.push({ ...base, kind: "comment.add", payload: { commentId: change.commentId } });
    }
  }
  if (rows.length > 0) await tx.insert(outbox).values(rows);
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

/**
 * One pass of the outbox. Claims are one committed UPDATE over rows picked with FOR UPDATE SKIP LOCKED,
 * only the oldest open row of each (connection, ticket) (a dead one blocks the rest), so order holds and
 * two workers never deliver the same row; no transaction is held across the HTTP call.
 */
export async function runOutbox(db: Db, options: DispatchOptions): Promise<number> {
  const now = options.now();
  const nowIso = now.toISOString();
  const leaseEnd = new Date(now.getTime() + options.engine.sync.leaseMs).toISOString();
  const claimed = await queryRows<{ id: string | number }>(
    db,
    sql`update outbox set locked_until = ${leaseEnd}::timestamptz, locked_by = ${options.workerId},
          attempts = attempts + 1, first_attempt_at = coalesce(first_attempt_at, ${nowIso}::timestamptz)
        where id in (
          select o.id from outbox o
          where o.status = 'pending' and o.next_attempt_at <= ${nowIso}::timestamptz
            and (o.locked_until is null or o.locked_until < ${nowIso}::timestamptz)
            and not exists (
              select 1 from outbox p
              where p.connection_id = o.connection_id and p.ticket_id = o.ticket_id and p.id < o.id
                and p.status in ('pending', 'dead'))
          order by o.id
          limit ${options.engine.sync.batchSize}
          for update of o skip locked)
        returning id`,
  );
  for (const { id } of claimed) {
    const [job] = await db
      .select()
      .from(outbox)
      .where(eq(outbox.id, Number(id)));
    if (job) await deliver(db, options, job);
  }
  return claimed.length;
}

interface Delivered {
  externalId: string | null;
  detail: Record<string, unknown>;
  /** Writes that commit with the delivery mark. */
  commit?: (tx: Tx) => Promise<void>;
  /** Nothing needed doing (already linked, no difference): no ledger entry. */
  noop?: boolean;
}

export type JobHandler = (
  db: Db,
  options: DispatchOptions,
  job: OutboxRow,
  loaded: LoadedConnection,
) => Promise<Delivered>;

/** Carrier work (delegations, hub listeners) registers its handlers here. */
export const extraJobHandlers = new Map<string, JobHandler>();

async function deliver(db: Db, options: DispatchOptions, job: OutboxRow) {
  const started = performance.now();
  const loaded = await loadConnection(db, options.engine, job.connectionId);
  if (!loaded) {
    await db
      .update(outbox)
      .set({ status: "skipped", lockedBy: null, lockedUntil: null })
      .where(eq(outbox.id, job.id));
    return;
  }
  try {
    const handler = extraJobHandlers.get(job.kind) ?? servicedeskHandlers[job.kind];
    if (!handler) throw new Error(`no handler for outbox job kind ${job.kind}`);
    const result = await handler(db, options, job, loaded);
    const latencyMs = Math.round(performance.now() - started);
    await db.transaction(async (tx) => {
      if (!(await stillMine(tx, job, options.workerId))) return;
      await result.commit?.(tx);
      await tx
        .update(outbox)
        .set({
          status: "delivered",
          deliveredAt: options.now(),
          lockedBy: null,
          lockedUntil: null,
          lastError: null,
        })
        .where(eq(outbox.id, job.id));
      if (!result.noop) {
        await appendLedger(tx, [
          syncEntry(job, loaded, "sync.sent", result.externalId, {
            ...result.detail,
            attempt: job.attempts,
            latencyMs,
          }),
        ]);
      }
    });
  } catch (error) {
    await recordFailure(db, options, job, loaded, error, Math.round(performance.now() - started));
  }
}

async function stillMine(tx: Tx, job: OutboxRow, workerId: string): Promise<boolean> {
  const [current] = await tx.select().from(outbox).where(eq(outbox.id, job.id)).for("update");
  return current !== undefined && current.status === "pending" && current.lockedBy === workerId;
}

export function syncEntry(
  job: Pick<OutboxRow, "tenantId" | "ticketId" | "connectionId" | "kind"> & {
    payload?: OutboxRow["payload"];
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

async function recordFailure(
  db: Db,
  options: DispatchOptions,
  job: OutboxRow,
  loaded: LoadedConnection,
  error: unknown,
  latencyMs: number,
) {
  const now = options.now();
  const http = error instanceof HttpError ? error : null;
  // Errors that are not HTTP (bad data, a bug) do not heal by retrying, unless they say they might.
  const permanent = http !== null ? !http.retryable : (error as { retryable?: unknown }).retryable !== true;
  const tooOld =
    job.firstAttemptAt !== null &&
    now.getTime() - job.firstAttemptAt.getTime() > options.engine.sync.maxAgeMs;
  const dead = permanent || job.attempts >= options.engine.sync.maxAttempts || tooOld;
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
  const retryAfter =
    http && "retryAfterMs" in http && typeof http.retryAfterMs === "number" ? http.retryAfterMs : 0;
  const delay = Math.max(backoffMs(options.engine.sync, job.attempts), retryAfter);
  await db.transaction(async (tx) => {
    if (!(await stillMine(tx, job, options.workerId))) return;
    await tx
      .update(outbox)
      .set({
        status: dead ? "dead" : "pending",
        deadAt: dead ? now : null,
        nextAttemptAt: new Date(now.getTime() + (dead ? 0 : delay)),
        lockedBy: null,
        lockedUntil: null,
        lastError: failureText(error, secretValues(loaded.settings, loaded.connector.secretPaths)),
      })
      .where(eq(outbox.id, job.id));
    const detail = {
      attempt: job.attempts,
      httpStatus: http?.status ?? null,
      latencyMs,
      error: message.slice(0, 200),
      retryable: !permanent,
    };
    const entries = [syncEntry(job, loaded, "sync.failed", null, detail)];
    if (dead) {
      entries.push(
        syncEntry(job, loaded, "sync.dead_lettered", null, {
          attempt: job.attempts,
          reason: permanent ? "permanent_error" : tooOld ? "max_age" : "max_attempts",
        }),
      );
    } else {
      entries.push(
        syncEntry(job, loaded, "sync.retry_scheduled", null, { attempt: job.attempts, delayMs: delay }),
      );
    }
    await appendLedger(tx, entries);
  });
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

async function ticketAndLink(db: Db, job: OutboxRow) {
  const [ticket] = await db.select().from(tickets).where(eq(tickets.id, job.ticketId));
  const [link] = await db
    .select()
    .from(externalLinks)
    .where(and(eq(externalLinks.connectionId, job.connectionId), eq(externalLinks.ticketId, job.ticketId)));
  return { ticket, link };
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
class PermanentSyncError extends Error {
  readonly retryable = false;
}

/** An error worth retrying with backoff (the target record does not exist yet). */
class RetryableSyncError extends Error {
  readonly retryable = true;
}

const servicedeskHandlers: Record<string, JobHandler> = {
  "ticket.create": async (db, options, job, loaded) => {
    const { ticket, link } = await ticketAndLink(db, job);
    if (!ticket) return { externalId: null, detail: {}, noop: true };
    const client = servicedeskClientFor(options.engine, loaded);
    if (link?.externalId) {
      // Linked meanwhile (the record came back by webhook carrying our id): send what it may lack.
      return servicedeskHandlers["ticket.update"]!(db, options, job, loaded);
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

  "ticket.update": async (db, options, job, loaded) => {
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
          .where(
            and(eq(externalLinks.connectionId, job.connectionId), eq(externalLinks.ticketId, ticket.id)),
          );
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
  },

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
    const [comment] = await db.select().from(comments).where(eq(comments.id, commentId));
    const { link } = await ticketAndLink(db, job);
    if (!comment || !link?.externalId) return { externalId: null, detail: {}, noop: true };
    const [already] = await db
      .select()
      .from(commentLinks)
      .where(and(eq(commentLinks.connectionId, job.connectionId), eq(commentLinks.commentId, commentId)));
    if (already) return { externalId: link.externalId, detail: {}, noop: true };
    const client = servicedeskClientFor(options.engine, loaded);
    const written = await client.addComment(
      link.externalId,
      {
        canonicalId: comment.id,
        body: comment.body,
        visibility: comment.visibility,
        ...(comment.authorName ? { authorName: comment.authorName } : {}),
      },
      { attempt: job.attempts, since: job.createdAt },
    );
    return {
      externalId: link.externalId,
      detail: { commentId, externalCommentId: written.externalId, visibility: comment.visibility },
      commit: async (tx) => {
        await tx
          .insert(commentLinks)
          .values({ connectionId: job.connectionId, commentId, externalCommentId: written.externalId })
          .onConflictDoNothing();
      },
    };
  },
};
