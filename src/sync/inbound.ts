import { createHash } from "node:crypto";
import { and, eq, inArray, sql } from "drizzle-orm";
import {
  type ExternalAttachment,
  type ExternalTicket,
  type ExternalWorklog,
  HttpError,
  type InboundNotice,
  WebhookPayloadError,
} from "../../connectors/sdk/index.js";
import type { PlanCatalog } from "../../schemas/plan.js";
import type { TicketStatus } from "../../schemas/ticket.js";
import { type Db, type Queryable, queryRows, type Tx } from "../db/client.js";
import {
  attachmentLinks,
  attachments as attachmentsTable,
  commentLinks,
  comments,
  externalLinks,
  inbox,
  jobs,
  tickets,
  webhookRejections,
  worklogLinks,
} from "../db/schema/index.js";
import { tableRows } from "../db/table-rows.js";
import { isAllowedTransition } from "../domain/ticket-status.js";
import { GatewayError } from "../errors.js";
import { enqueueJobs, queuePriority, takeClaimedInboxRow } from "../jobs/queue.js";
import type { JobContext, JobResult, JobRow } from "../jobs/types.js";
import { appendLedger, type LedgerEntryInput } from "../ledger/append.js";
import { newId } from "../lib/ids.js";
import { webhooksAccepted, webhooksRejected } from "../observability/metrics.js";
import { activeTraceparent } from "../observability/tracing.js";
import type { EngineDeps } from "../services/context.js";
import { inboundPriority } from "../services/default-priority.js";
import {
  type Acting,
  applyTicketChanges,
  insertComment,
  insertTicket,
  type TicketRow,
} from "../services/ticket-writes.js";
import { servicedeskClientFor } from "./clients.js";
import type { LoadedConnection } from "./connections.js";
import { servicedeskCopyTargets } from "./copy-targets.js";
import {
  type Comparable,
  comparableCanonical,
  comparableVendor,
  type LinkBaselines,
  movedFields,
} from "./snapshot.js";
import { ticketById } from "./ticket-connections.js";
import { repairedVendorValue, storableVendorRecord, storableVendorValue } from "./vendor-text.js";
import {
  cachedConnection,
  forgetCachedConnection,
  loadConnectionCached,
  storeWebhook,
} from "./webhook-commit.js";
import { enqueueWorklogCopies, type WorklogCopy, worklogCopyTargets } from "./worklogs.js";

// Beyond this many rejected webhooks per connection and minute, rejections are counted but not ledgered.
const LEDGERED_REJECTIONS_PER_MINUTE = 5;

export interface WebhookResult {
  status: 202 | 401 | 400 | 404;
  body: Record<string, unknown>;
}

function connectionEntry(
  loaded: LoadedConnection,
  kind: string,
  detail: Record<string, unknown>,
  externalId: string | null = null,
): LedgerEntryInput {
  return {
    tenantId: loaded.row.tenantId,
    connectionId: loaded.row.id,
    direction: "inbound",
    kind,
    actor: { type: "connection", id: loaded.row.id },
    side: loaded.connector.kind === "carrier" ? "carrier" : "client",
    externalId,
    detail: { connector: loaded.row.type, ...detail },
  };
}

/**
 * A webhook: verified on the raw bytes before anything else, then every notice it carries is stored in the
 * inbox (de-duplicated) in one transaction, and only then answered 2xx: nothing accepted is lost.
 */
export async function acceptWebhook(
  db: Db,
  engine: EngineDeps,
  input: {
    connectionId: string;
    pathSecret?: string;
    subPath: string;
    headers: Headers;
    rawBody: Uint8Array;
    now: Date;
  },
): Promise<WebhookResult> {
  // A cached connection that refuses the webhook, or that changed before it was stored, is read again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const cached = attempt === 0 ? cachedConnection(db, engine, input.connectionId) : null;
    const loaded = cached ?? (await loadConnectionCached(db, engine, input.connectionId));
    const outcome = await acceptWebhookFor(db, loaded, input, cached !== null);
    if (outcome !== "reload") return outcome;
    forgetCachedConnection(db, input.connectionId);
  }
  throw new GatewayError("UNAVAILABLE", "The connection keeps changing; retry the webhook.");
}

async function acceptWebhookFor(
  db: Db,
  loaded: LoadedConnection | null,
  input: Parameters<typeof acceptWebhook>[2],
  cached: boolean,
): Promise<WebhookResult | "reload"> {
  if (!loaded) {
    webhooksRejected.inc({ connector: "unknown", reason: "unknown_connection" });
    return { status: 404, body: { detail: "Unknown connection." } };
  }
  const verification = loaded.connector.verifyWebhook(
    {
      headers: input.headers,
      rawBody: input.rawBody,
      ...(input.pathSecret !== undefined ? { pathSecret: input.pathSecret } : {}),
      subPath: input.subPath,
    },
    loaded.settings,
    input.now,
  );
  if (!verification.ok) {
    if (cached) return "reload";
    webhooksRejected.inc({ connector: loaded.row.type, reason: "unverified" });
    await recordRejection(db, loaded, input.now, verification.reason);
    return { status: 401, body: { detail: "The webhook signature or secret does not verify." } };
  }
  let notices: InboundNotice[];
  try {
    notices =
      loaded.connector.kind === "carrier"
        ? loaded.connector.parseWebhook(input.rawBody, input.headers, input.subPath)
        : loaded.connector.parseWebhook(input.rawBody, input.headers);
  } catch (error) {
    if (error instanceof WebhookPayloadError) {
      if (cached) return "reload";
      webhooksRejected.inc({ connector: loaded.row.type, reason: "malformed" });
      await recordRejection(db, loaded, input.now, `malformed: ${error.message.slice(0, 200)}`);
      return {
        status: 400,
        body: { detail: `The webhook body is not what ${loaded.row.type} sends: ${error.message}` },
      };
    }
    throw error;
  }
  const payloadHash = createHash("sha256").update(input.rawBody).digest("hex");
  const repairs: LedgerEntryInput[] = [];
  // A vendor's NUL or lone surrogate must not make the notice unstorable (jsonb refuses NUL).
  const storable = notices.map((received) => {
    const { value, repairEntry } = repairedVendorValue(loaded, received, received.externalId);
    if (repairEntry) repairs.push(repairEntry);
    return value;
  });
  const traceParent = activeTraceparent();
  let stored: Awaited<ReturnType<typeof storeWebhook>>;
  try {
    stored = await storeWebhook(db, {
      loaded,
      notices: storable,
      repairs,
      now: input.now,
      inboxJobOf: (inboxId, notice) => ({
        ...inboxJob(loaded, inboxId, notice.externalId, input.now),
        traceParent,
      }),
      entryOf: (notice, isNew) => ({
        ...connectionEntry(
          loaded,
          isNew ? "sync.received" : "sync.duplicate",
          { source: "webhook", operation: notice.operation ?? null, deliveryId: notice.deliveryId ?? null },
          notice.externalId,
        ),
        payloadHash,
      }),
    });
  } catch (error) {
    // Nothing of the batch was stored: the vendor retries on a 5xx.
    throw new GatewayError("UNAVAILABLE", "The webhook could not be stored; retry it.", { cause: error });
  }
  if ("stale" in stored) return "reload";
  webhooksAccepted.inc({ connector: loaded.row.type });
  return { status: 202, body: stored };
}

async function recordRejection(db: Db, loaded: LoadedConnection, now: Date, reason: string) {
  const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  await db.transaction(async (tx) => {
    const [row] = await tx
      .insert(webhookRejections)
      .values({ connectionId: loaded.row.id, minute, count: 1 })
      .onConflictDoUpdate({
        target: [webhookRejections.connectionId, webhookRejections.minute],
        set: { count: sql`${webhookRejections.count} + 1` },
      })
      .returning({ count: webhookRejections.count });
    // Noise must not grow the ledger without bound: only the first few per minute are recorded.
    if ((row?.count ?? 0) <= LEDGERED_REJECTIONS_PER_MINUTE) {
      await appendLedger(tx, [
        connectionEntry(loaded, "sync.rejected", { reason, countThisMinute: row?.count ?? 1 }),
      ]);
    }
  });
}

/** The job that applies a stored notice; notices of one record are applied one at a time, in order. */
export function inboxJob(
  loaded: Pick<LoadedConnection, "row">,
  inboxId: number,
  externalId: string,
  now: Date,
) {
  return {
    kind: "inbox.apply" as const,
    tenantId: loaded.row.tenantId,
    connectionId: loaded.row.id,
    orderKey: `in:${externalId}`,
    // Inbound changes come before outbound P2-P4 work: the record's priority is unknown until it is read.
    priority: 2,
    payload: { inboxId },
    runAt: now,
  };
}

export interface InboxOptions {
  engine: EngineDeps;
  workerId: string;
  now: () => Date;
  catalog: PlanCatalog;
}

/** Marks the notice applied in the transaction that applied it. */
export async function markApplied(tx: Tx | Db, inboxId: number, now: Date) {
  await tx.update(inbox).set({ status: "applied", appliedAt: now }).where(eq(inbox.id, inboxId));
}

/** The stored notice of an `inbox.apply` job (as its claim read it, when it did), or null when it was pruned. */
export async function inboxRowOf(db: Db, job: JobRow) {
  const claimed = takeClaimedInboxRow(job);
  if (claimed !== undefined) return claimed;
  const [row] = await db
    .select()
    .from(inbox)
    .where(eq(inbox.id, Number(job.payload["inboxId"])));
  return row ?? null;
}

/** What a link's state is summed up by, to tell whether a sync step committed on it in the meantime. */
function linkStamp(link: typeof externalLinks.$inferSelect): string {
  return `${link.updatedAt.getTime()}|${link.lastSyncedVersion}|${JSON.stringify(link.snapshot)}`;
}

// Read before and while applying every notice: selected raw, the select list built once (src/db/table-rows.ts).
const linkRows = tableRows(externalLinks);

/** The link of a connection's record, if there is one. */
async function linkOfRecord(db: Queryable, connectionId: string, externalId: string) {
  const [row] = await queryRows<Record<string, unknown>>(
    db,
    sql`select ${linkRows.columns} from ${externalLinks}
        where ${externalLinks.connectionId} = ${connectionId} and ${externalLinks.externalId} = ${externalId}`,
  );
  return linkRows.rowOf(row);
}

/** The link of a connection's record as {@link linkStamp} sums it up, or null when there is none. */
export async function linkStampOf(db: Db, connectionId: string, externalId: string): Promise<string | null> {
  const link = await linkOfRecord(db, connectionId, externalId);
  return link ? linkStamp(link) : null;
}

/**
 * Applies a servicedesk notice: the record is re-read through the connector's client (no transaction open
 * during HTTP, never trusting the event body) and applied in one transaction.
 */
export async function applyServicedeskNotice(
  ctx: JobContext,
  loaded: LoadedConnection,
  row: typeof inbox.$inferSelect,
): Promise<JobResult> {
  const { db } = ctx;
  const options: InboxOptions = ctx;
  const client = servicedeskClientFor(options.engine, loaded);
  // The record's link as it stands before the read: if a delivery of ours commits while we read, the read may
  // predate that write, and applying it would undo it (see applyServicedeskRecord's `linkBeforeRead`).
  const linkBeforeRead = await linkStampOf(db, loaded.row.id, row.externalId);
  let external: ExternalTicket | null = null;
  try {
    external = await client.getTicket(row.externalId);
  } catch (error) {
    if (!(error instanceof HttpError && error.status === 404)) throw error;
  }
  // A record not linked yet is imported only if it is within the connection's inboundQuery.
  let inScope = true;
  if (external && client.matchesInboundQuery && loaded.settings["inboundQuery"] !== undefined) {
    // Usually the record read is the one noticed, whose link was read above.
    const linked =
      external.externalId === row.externalId
        ? linkBeforeRead
        : await linkStampOf(db, loaded.row.id, external.externalId);
    if (linked === null) inScope = await client.matchesInboundQuery(external.externalId);
  }
  // Attachment metadata is read here too, outside the transaction; content moves later, in jobs of its own.
  const files = external && client.listAttachments ? await client.listAttachments(external.externalId) : null;
  const worklogs = external && client.listWorklogs ? await client.listWorklogs(external.externalId) : null;
  return {
    outcome: "done",
    commit: async (tx) => {
      if (external) {
        const applied = await applyServicedeskRecord(
          tx,
          options,
          loaded,
          await storableVendorRecord(tx, loaded, external),
          row.source,
          inScope,
          row.notice,
          files ? await storableVendorValue(tx, loaded, files, external.externalId) : files,
          worklogs ? await storableVendorValue(tx, loaded, worklogs, external.externalId) : worklogs,
          external.externalId === row.externalId ? linkBeforeRead : undefined,
        );
        if (applied === "reread") {
          // The notice stays pending and is read again by a job of its own, queued behind this one.
          await enqueueJobs(tx, [{ ...inboxJob(loaded, row.id, row.externalId, options.now()) }]);
          return;
        }
      } else await appendLedger(tx, [connectionEntry(loaded, "sync.vendor_missing", {}, row.externalId)]);
      await markApplied(tx, row.id, options.now());
    },
  };
}

function actingAs(options: InboxOptions, loaded: LoadedConnection, externalId: string): Acting {
  return {
    actor: { type: "connection", id: loaded.row.id },
    side: "client",
    provider: false,
    now: options.now,
    catalog: options.catalog,
    direction: "inbound",
    connectionId: loaded.row.id,
    externalId,
    originConnectionId: loaded.row.id,
  };
}

/**
 * Applies a vendor record, read back after a notice, to its canonical ticket: creating and linking it when it
 * is new; otherwise applying only the fields that differ from what we last knew the vendor held (our own
 * writes come back equal to that snapshot and are suppressed), resolving fields changed on both sides by the
 * later update time, and importing comments not seen before.
 */
export async function applyServicedeskRecord(
  tx: Tx,
  options: InboxOptions,
  loaded: LoadedConnection,
  external: ExternalTicket,
  source: string,
  /** Whether the record is within the connection's inboundQuery (asked before the transaction). */
  inScope = true,
  /** The notice that triggered the read (a deleted comment is only known from it). */
  notice: Record<string, unknown> | null = null,
  /** The record's attachments, listed before the transaction; null when the connector does not sync files. */
  files: ExternalAttachment[] | null = null,
  /** The record's work logs, listed before the transaction; null when the connector does not sync them. */
  worklogs: ExternalWorklog[] | null = null,
  /**
   * The record's link ({@link linkStampOf}) before `external` was read, when the caller knows it. If the link
   * changed since (a delivery of ours committed while the record was read), the read may be older than that
   * write: applying it would take the vendor's old values for a change of theirs and undo ours. Nothing is
   * applied then; `"reread"` asks the caller to read the record again.
   */
  linkBeforeRead?: string | null,
): Promise<"reread" | undefined> {
  const connectionId = loaded.row.id;
  const tenantId = loaded.row.tenantId!;
  // Notices for one record may be applied by two workers at once; the first to lock goes first.
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtextextended(${`inbox:${connectionId}:${external.externalId}`}, 0))`,
  );
  const acting = actingAs(options, loaded, external.externalId);
  const vendorNow = comparableVendor(external);
  const now = options.now();
  let link = await linkOfRecord(tx, connectionId, external.externalId);
  if (linkBeforeRead !== undefined && (link ? linkStamp(link) : null) !== linkBeforeRead) {
    await appendLedger(tx, [
      {
        ...connectionEntry(
          loaded,
          "sync.reread",
          { source, reason: "link_changed_during_read" },
          external.externalId,
        ),
        ticketId: link?.ticketId ?? null,
      },
    ]);
    return "reread";
  }

  if (!link) {
    let ticket: TicketRow | undefined;
    if (external.correlationId) {
      [ticket] = await tx
        .select()
        .from(tickets)
        .where(and(eq(tickets.id, external.correlationId), eq(tickets.tenantId, tenantId)));
    }
    let created = false;
    if (!ticket) {
      if (loaded.row.direction === "outbound") return;
      if (!inScope) {
        await appendLedger(tx, [
          connectionEntry(loaded, "sync.out_of_scope", { source }, external.externalId),
        ]);
        return;
      }
      const ours =
        loaded.connector.kind === "servicedesk"
          ? loaded.connector.integrationIdentity(loaded.settings)
          : null;
      if (ours !== null && external.updatedBy === ours) {
        // Our own create, seen before our id is on it (a vendor that creates in two steps): the outbox job
        // that made it links it; importing it would duplicate the ticket.
        await appendLedger(tx, [
          connectionEntry(loaded, "sync.own_record_skipped", { source }, external.externalId),
        ]);
        return;
      }
      ticket = await insertTicket(tx, acting, {
        tenantId,
        title: external.title.trim() || `(untitled ${external.externalKey ?? external.externalId})`,
        description: external.description,
        priority: await inboundPriority(tx, acting.catalog, tenantId, external.canonicalPriority),
        requester: external.requester,
        assigneeGroup: null,
        category: null,
        affectedService: null,
      });
      created = true;
    }
    [link] = await tx
      .insert(externalLinks)
      .values({
        connectionId,
        ticketId: ticket.id,
        externalId: external.externalId,
        externalKey: external.externalKey,
        url: external.url,
        lastSyncedVersion: ticket.version,
        externalUpdatedAt: new Date(external.updatedAt),
        // A ticket we created links with an unknown canonical baseline: our pending create sends it all.
        snapshot: {
          vendor: vendorNow,
          ...(created ? { canonical: comparableCanonical(ticket) } : {}),
        } as Record<string, unknown>,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: [externalLinks.connectionId, externalLinks.ticketId],
        set: {
          externalId: external.externalId,
          externalKey: external.externalKey,
          url: external.url,
          updatedAt: now,
        },
      })
      .returning();
    await appendLedger(tx, [
      {
        ...connectionEntry(loaded, "sync.linked", { created, source }, external.externalId),
        ticketId: ticket.id,
        tenantId,
      },
    ]);
    if (created && external.correlationId !== ticket.id && loaded.row.direction === "both") {
      // The record was created at the vendor: write our id onto it so every later lookup finds it.
      await enqueueJobs(tx, [
        {
          kind: "ticket.link",
          connectionId,
          orderKey: ticket.id,
          tenantId,
          priority: queuePriority(ticket.priority),
          runAt: now,
        },
      ]);
    }
    const commentsAdded = await importComments(tx, acting, loaded, ticket, external);
    const attachmentsAdded = await importAttachments(tx, options, loaded, ticket, external, files);
    const worklogsAdded = await importWorklogs(tx, options, loaded, ticket, external, worklogs);
    await appendLedger(tx, [
      {
        ...connectionEntry(
          loaded,
          "sync.applied",
          {
            action: created ? "created" : "linked",
            comments: commentsAdded,
            ...(attachmentsAdded > 0 ? { attachments: attachmentsAdded } : {}),
            ...(worklogsAdded > 0 ? { worklogs: worklogsAdded } : {}),
            source,
          },
          external.externalId,
        ),
        ticketId: ticket.id,
        tenantId,
      },
    ]);
    return;
  }

  let ticket = await ticketById(tx, link.ticketId, true);
  if (!ticket) return;
  const baselines = link.snapshot as LinkBaselines;
  const canonicalBefore = comparableCanonical(ticket);
  const vendorMoved = movedFields(baselines.vendor, vendorNow);
  const canonicalMoved = new Set(movedFields(baselines.canonical, canonicalBefore));
  const vendorIsLater = new Date(external.updatedAt).getTime() >= ticket.updatedAt.getTime();
  const update: Record<string, unknown> = {};
  const entries: LedgerEntryInput[] = [];
  let canonicalWon = false;
  const base = { ...connectionEntry(loaded, "", {}, external.externalId), ticketId: ticket.id, tenantId };
  // What the vendor's value means canonically; null where it cannot be mapped.
  const canonicalValueOf = (field: keyof Comparable): string | null => {
    if (field === "status") return external.canonicalStatus;
    if (field === "priority") return external.canonicalPriority;
    return vendorNow[field];
  };
  for (const field of vendorMoved) {
    const incoming = canonicalValueOf(field);
    if (incoming === null) {
      entries.push({
        ...base,
        kind: "sync.unmapped",
        detail: { ...base.detail, field, value: vendorNow[field] },
      });
      continue;
    }
    if (incoming === canonicalBefore[field]) continue;
    if (canonicalMoved.has(field)) {
      // Both sides changed it since the last sync: the later update wins; the loser is recorded, not applied.
      const winner = vendorIsLater ? "vendor" : "canonical";
      const loser = vendorIsLater ? canonicalBefore[field] : incoming;
      entries.push({
        ...base,
        kind: "sync.conflict",
        detail: { ...base.detail, field, winner, loserHash: hashOf(loser) },
      });
      if (!vendorIsLater) {
        canonicalWon = true;
        continue;
      }
    }
    if (field === "status") {
      const from = ticket.status as TicketStatus;
      const to = incoming as TicketStatus;
      if (!isAllowedTransition(from, to)) {
        entries.push({ ...base, kind: "sync.status_rejected", detail: { ...base.detail, from, to } });
        continue;
      }
      update["status"] = to;
    } else if (field === "description") {
      update["description"] = external.description;
    } else if (field === "title") {
      if (incoming) update["title"] = incoming;
    } else {
      update[field] = incoming;
    }
  }
  ticket = await applyTicketChanges(tx, acting, ticket, update);
  const commentsAdded = await importComments(tx, acting, loaded, ticket, external, notice);
  if (commentsAdded > 0) ticket = await ticketById(tx, link.ticketId);
  const attachmentsAdded = await importAttachments(tx, options, loaded, ticket!, external, files);
  const worklogsAdded = await importWorklogs(tx, options, loaded, ticket!, external, worklogs);
  const applied = Object.keys(update);
  entries.push({
    ...base,
    kind:
      applied.length === 0 && commentsAdded === 0 && attachmentsAdded === 0 && worklogsAdded === 0
        ? "sync.echo_suppressed"
        : "sync.applied",
    detail: {
      ...base.detail,
      fields: applied,
      comments: commentsAdded,
      ...(attachmentsAdded > 0 ? { attachments: attachmentsAdded } : {}),
      ...(worklogsAdded > 0 ? { worklogs: worklogsAdded } : {}),
      source,
      vendorMoved,
    },
  });
  await appendLedger(tx, entries);
  // The vendor baseline moves to what was read; the canonical one only for the fields now in sync, so
  // canonical changes not yet sent still differ from it and are still written.
  const canonicalAfter = comparableCanonical(ticket!);
  const canonicalBaseline: Partial<Comparable> = { ...baselines.canonical };
  for (const field of applied as (keyof Comparable)[])
    canonicalBaseline[field] = canonicalAfter[field] as never;
  await tx
    .update(externalLinks)
    .set({
      snapshot: { vendor: vendorNow, canonical: canonicalBaseline } as Record<string, unknown>,
      externalUpdatedAt: new Date(external.updatedAt),
      updatedAt: now,
    })
    .where(and(eq(externalLinks.connectionId, connectionId), eq(externalLinks.ticketId, link.ticketId)));
  // Where the canonical value won a conflict, the vendor must be brought back in line.
  if (canonicalWon && loaded.row.direction === "both") {
    await queueUpdateUnlessPending(tx, connectionId, ticket!, now);
  }
}

async function queueUpdateUnlessPending(tx: Tx, connectionId: string, ticket: TicketRow, now: Date) {
  const pending = await tx
    .select({ id: jobs.id })
    .from(jobs)
    .where(
      and(
        eq(jobs.connectionId, connectionId),
        eq(jobs.orderKey, ticket.id),
        inArray(jobs.kind, ["ticket.update", "ticket.create"]),
        eq(jobs.status, "pending"),
        sql`${jobs.lockedBy} is null`,
      ),
    );
  if (pending.length > 0) return;
  await enqueueJobs(tx, [
    {
      kind: "ticket.update",
      connectionId,
      orderKey: ticket.id,
      tenantId: ticket.tenantId,
      priority: queuePriority(ticket.priority),
      runAt: now,
    },
  ]);
}

function hashOf(value: unknown): string {
  return createHash("sha256")
    .update(JSON.stringify(value ?? null))
    .digest("hex")
    .slice(0, 16);
}

/** Vendor comments we have not seen: not linked yet and not written by our integration identity. */
async function importComments(
  tx: Tx,
  acting: Acting,
  loaded: LoadedConnection,
  ticket: TicketRow,
  external: ExternalTicket,
  notice: Record<string, unknown> | null = null,
): Promise<number> {
  const ids = external.comments.map((c) => c.externalId);
  const deletedId = notice?.["kind"] === "comment_deleted" ? String(notice["commentId"] ?? "") : "";
  if (deletedId) ids.push(deletedId);
  if (ids.length === 0) return 0;
  const linked = new Map(
    (
      await tx
        .select({
          externalCommentId: commentLinks.externalCommentId,
          commentId: commentLinks.commentId,
          body: comments.body,
        })
        .from(commentLinks)
        .innerJoin(comments, eq(comments.id, commentLinks.commentId))
        .where(
          and(eq(commentLinks.connectionId, loaded.row.id), inArray(commentLinks.externalCommentId, ids)),
        )
    ).map((c) => [c.externalCommentId, c]),
  );
  const ours = loaded.connector.integrationIdentity(loaded.settings);
  const base = {
    ...connectionEntry(loaded, "", {}, external.externalId),
    ticketId: ticket.id,
    tenantId: ticket.tenantId,
  };
  let changes = 0;
  let current = ticket;
  for (const comment of external.comments) {
    // Our own write (linked, or not linked yet: its outbox job links it by read-back when it completes).
    if (ours !== null && comment.author === ours) continue;
    const known = linked.get(comment.externalId);
    if (known) {
      if (known.body !== comment.body) {
        // Edited at the vendor: the canonical comment follows, and the ledger keeps the old body's hash.
        await tx.update(comments).set({ body: comment.body }).where(eq(comments.id, known.commentId));
        const [bumped] = await tx
          .update(tickets)
          .set({ version: sql`${tickets.version} + 1`, updatedAt: acting.now() })
          .where(eq(tickets.id, current.id))
          .returning();
        current = bumped!;
        await appendLedger(tx, [
          {
            ...base,
            kind: "comment.edited",
            payloadHash: hashOf(comment.body),
            detail: {
              ...base.detail,
              commentId: known.commentId,
              previousHash: hashOf(known.body),
              version: current.version,
            },
          },
        ]);
        changes++;
      }
      continue;
    }
    const { comment: row, ticket: updated } = await insertComment(tx, acting, current, {
      body: comment.body,
      visibility: comment.visibility,
      authorId: loaded.row.id,
      authorName: comment.author,
    });
    current = updated;
    await tx
      .insert(commentLinks)
      .values({ connectionId: loaded.row.id, commentId: row.id, externalCommentId: comment.externalId })
      .onConflictDoNothing();
    changes++;
  }
  const deleted = deletedId ? linked.get(deletedId) : undefined;
  if (deleted && !external.comments.some((c) => c.externalId === deletedId)) {
    // Deleted at the vendor: recorded, never erased here (the canonical comment and its history stay).
    await appendLedger(tx, [
      {
        ...base,
        kind: "comment.deleted_at_vendor",
        detail: { ...base.detail, commentId: deleted.commentId, externalCommentId: deletedId },
      },
    ]);
    changes++;
  }
  return changes;
}

/**
 * Vendor files not seen before (not linked, not attached by our integration identity) become canonical
 * attachments: metadata only, the content is hashed when it first passes through. Each is linked, ledgered
 * and queued for copying to the ticket's other servicedesks. Files the vendor scopes as internal stay where
 * they are, as a client's internal notes do.
 */
async function importAttachments(
  tx: Tx,
  options: InboxOptions,
  loaded: LoadedConnection,
  ticket: TicketRow,
  external: ExternalTicket,
  files: ExternalAttachment[] | null,
): Promise<number> {
  if (files === null || files.length === 0) return 0;
  const connectionId = loaded.row.id;
  const linked = new Set(
    (
      await tx
        .select({ externalAttachmentId: attachmentLinks.externalAttachmentId })
        .from(attachmentLinks)
        .where(
          and(
            eq(attachmentLinks.connectionId, connectionId),
            inArray(
              attachmentLinks.externalAttachmentId,
              files.map((file) => file.externalId),
            ),
          ),
        )
    ).map((row) => row.externalAttachmentId),
  );
  const ours =
    loaded.connector.kind === "servicedesk" ? loaded.connector.integrationIdentity(loaded.settings) : null;
  const fresh = files.filter(
    (file) =>
      !linked.has(file.externalId) && !(ours !== null && file.author !== undefined && file.author === ours),
  );
  if (fresh.length === 0) return 0;
  const now = options.now();
  const targets = await servicedeskCopyTargets(
    tx,
    options.engine,
    ticket,
    connectionId,
    (client) => typeof client.putAttachment === "function",
  );
  const entries: LedgerEntryInput[] = [];
  for (const file of fresh) {
    const id = newId("attachment");
    await tx.insert(attachmentsTable).values({
      id,
      ticketId: ticket.id,
      tenantId: ticket.tenantId,
      fileName: file.fileName,
      contentType: file.contentType,
      sizeBytes: file.sizeBytes,
      sha256: null,
      sourceConnectionId: connectionId,
      sourceExternalId: file.externalId,
      createdAt: now,
    });
    await tx
      .insert(attachmentLinks)
      .values({ connectionId, attachmentId: id, externalAttachmentId: file.externalId, createdAt: now });
    const visibility = file.visibility ?? "public";
    const copyTo = visibility === "public" ? targets : [];
    entries.push({
      ...connectionEntry(
        loaded,
        "attachment.added",
        {
          attachmentId: id,
          externalAttachmentId: file.externalId,
          fileName: file.fileName,
          contentType: file.contentType,
          sizeBytes: file.sizeBytes,
          visibility,
          copyTo,
        },
        external.externalId,
      ),
      ticketId: ticket.id,
      tenantId: ticket.tenantId,
    });
    if (copyTo.length > 0) {
      // Keyed by the attachment, not the ticket: a file that cannot be copied (too large) is dead-lettered
      // without holding up the ticket's other updates to that connection.
      await enqueueJobs(
        tx,
        copyTo.map((target) => ({
          kind: "attachment.copy" as const,
          connectionId: target,
          orderKey: id,
          tenantId: ticket.tenantId,
          priority: queuePriority(ticket.priority),
          payload: { attachmentId: id, ticketId: ticket.id },
          runAt: now,
        })),
      );
    }
  }
  await appendLedger(tx, entries);
  return fresh.length;
}

/**
 * Vendor work logs not seen before (not linked, not written by our integration identity, not stamped with one
 * of our worklog ids) become canonical work logs on the ticket: ledgered as `ticket.worklog_added` with the
 * connector as source, linked, and queued for the ticket's other servicedesks. They are recorded as not
 * billable: time the client's desk logs is not the provider's to bill (docs/billing.md).
 */
async function importWorklogs(
  tx: Tx,
  options: InboxOptions,
  loaded: LoadedConnection,
  ticket: TicketRow,
  external: ExternalTicket,
  worklogs: ExternalWorklog[] | null,
): Promise<number> {
  if (worklogs === null || worklogs.length === 0) return 0;
  const connectionId = loaded.row.id;
  const linked = new Set(
    (
      await tx
        .select({ externalWorklogId: worklogLinks.externalWorklogId })
        .from(worklogLinks)
        .where(
          and(
            eq(worklogLinks.connectionId, connectionId),
            inArray(
              worklogLinks.externalWorklogId,
              worklogs.map((worklog) => worklog.externalId),
            ),
          ),
        )
    ).map((row) => row.externalWorklogId),
  );
  const ours =
    loaded.connector.kind === "servicedesk" ? loaded.connector.integrationIdentity(loaded.settings) : null;
  const fresh = worklogs.filter(
    (worklog) =>
      !linked.has(worklog.externalId) &&
      !worklog.canonicalId &&
      !(ours !== null && worklog.author !== undefined && worklog.author === ours),
  );
  if (fresh.length === 0) return 0;
  const now = options.now();
  const targets = await worklogCopyTargets(tx, options.engine, ticket, connectionId);
  const entries: LedgerEntryInput[] = [];
  for (const worklog of fresh) {
    const worklogId = newId("worklog");
    await tx
      .insert(worklogLinks)
      .values({ connectionId, worklogId, externalWorklogId: worklog.externalId, createdAt: now });
    const copy: WorklogCopy = {
      worklogId,
      ticketId: ticket.id,
      author: worklog.authorName ?? worklog.author ?? loaded.row.type,
      startedAt: new Date(worklog.startedAt).toISOString(),
      // Canonical work logs count whole minutes, at least one.
      durationMinutes: Math.max(1, Math.round(worklog.durationSeconds / 60)),
      comment: worklog.comment ?? null,
    };
    entries.push({
      ...connectionEntry(
        loaded,
        "ticket.worklog_added",
        {
          // The vendor's free text rides in the copy job only: the ledger keeps identifiers and figures.
          worklogId,
          author: copy.author,
          startedAt: copy.startedAt,
          durationMinutes: copy.durationMinutes,
          billable: false,
          source: loaded.row.type,
          externalWorklogId: worklog.externalId,
          copyTo: targets,
        },
        external.externalId,
      ),
      ticketId: ticket.id,
      tenantId: ticket.tenantId,
    });
    await enqueueWorklogCopies(tx, ticket, targets, copy, now);
  }
  await appendLedger(tx, entries);
  return fresh.length;
}
