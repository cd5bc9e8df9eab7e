import type { Attachment, Comment, Ticket } from "../../schemas/ticket.js";
import type { attachments, comments, ledgerEntries, tickets } from "../db/schema/index.js";

const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);

export function ticketToApi(row: typeof tickets.$inferSelect): Ticket {
  return {
    id: row.id,
    tenantId: row.tenantId,
    title: row.title,
    description: row.description,
    priority: row.priority,
    status: row.status as Ticket["status"],
    requester: row.requester ?? null,
    assigneeGroup: row.assigneeGroup,
    category: row.category,
    affectedService: row.affectedService,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    acknowledgedAt: isoOrNull(row.acknowledgedAt),
    resolvedAt: isoOrNull(row.resolvedAt),
    closedAt: isoOrNull(row.closedAt),
    version: row.version,
  };
}

export function commentToApi(row: typeof comments.$inferSelect): Comment {
  return {
    id: row.id,
    ticketId: row.ticketId,
    body: row.body,
    visibility: row.visibility,
    author: { type: row.authorType as Comment["author"]["type"], id: row.authorId, name: row.authorName },
    side: row.side,
    createdAt: iso(row.createdAt),
  };
}

export function attachmentToApi(row: typeof attachments.$inferSelect): Attachment {
  return {
    id: row.id,
    ticketId: row.ticketId,
    fileName: row.fileName,
    contentType: row.contentType,
    sizeBytes: row.sizeBytes,
    sha256: row.sha256,
    createdAt: iso(row.createdAt),
  };
}

export function ledgerEntryToApi(row: typeof ledgerEntries.$inferSelect) {
  return {
    sequence: row.sequence,
    occurredAt: iso(row.occurredAt),
    chainKey: row.chainKey,
    tenantId: row.tenantId,
    ticketId: row.ticketId,
    connectionId: row.connectionId,
    direction: row.direction,
    kind: row.kind,
    actor: { type: row.actorType, id: row.actorId },
    side: row.side,
    externalId: row.externalId,
    payloadHash: row.payloadHash,
    detail: row.detail,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}
