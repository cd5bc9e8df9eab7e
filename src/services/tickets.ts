import { and, asc, eq, gt, gte, inArray, or, type SQL } from "drizzle-orm";
import type { z } from "zod";
import type { RecordPartFailure, RecordReplacementShipment } from "../../schemas/sla.js";
import type {
  CreateComment,
  CreateTicket,
  TicketListQuery,
  TicketStatus,
  UpdateTicket,
} from "../../schemas/ticket.js";
import { actorOf, canAccessTenant, isProvider, sideOf, tenantScope } from "../auth/principal.js";
import { type Queryable, sqlState, type Tx } from "../db/client.js";
import { attachments, comments, tickets } from "../db/schema/index.js";
import { isAllowedTransition, isClientTransition } from "../domain/ticket-status.js";
import { GatewayError } from "../errors.js";
import { appendLedger, type StoredLedgerEntry } from "../ledger/append.js";
import { decodeCursor, page } from "../lib/cursor.js";
import { newId } from "../lib/ids.js";
import { lockTicketWithOutbound, tenantWithOutbound } from "../sync/ticket-connections.js";
import { type ServiceContext, slaContext } from "./context.js";
import { defaultPriorityOf } from "./default-priority.js";
import { attachmentToApi, commentToApi, ticketToApi } from "./serialize.js";
import { applySlaEvent, ticketSla } from "./sla.js";
import { type Acting, applyTicketChanges, insertComment, insertTicket } from "./ticket-writes.js";

type TicketRow = typeof tickets.$inferSelect;

/** Reads a ticket the principal may see; anything else is 404, so ids of other tenants leak nothing. */
export async function findVisibleTicket(db: Queryable, ctx: ServiceContext, id: string, forUpdate = false) {
  const query = db.select().from(tickets).where(eq(tickets.id, id));
  const [row] = forUpdate ? await query.for("update") : await query;
  return visible(ctx, id, row);
}

function visible(ctx: ServiceContext, id: string, row: TicketRow | undefined): TicketRow {
  if (!row || !canAccessTenant(ctx.principal, row.tenantId)) {
    throw new GatewayError("NOT_FOUND", `Ticket ${id} was not found.`);
  }
  return row;
}

/**
 * {@link findVisibleTicket} for a change: the row locked, with its tenant's outbound connections (read in the
 * same query, for the outbound jobs the change queues).
 */
async function lockVisibleTicket(tx: Tx, ctx: ServiceContext, id: string) {
  const { ticket, outbound } = await lockTicketWithOutbound(tx, id);
  return { ticket: visible(ctx, id, ticket), outbound };
}

function resolveTenantId(ctx: ServiceContext, requested: string | undefined): string {
  const { principal } = ctx;
  if (principal.kind === "tenant") {
    if (requested !== undefined && requested !== principal.tenantId) {
      throw new GatewayError("NOT_FOUND", `Tenant ${requested} was not found.`);
    }
    return principal.tenantId;
  }
  if (requested === undefined) {
    throw new GatewayError("VALIDATION_FAILED", "Provider credentials must name the tenant.", {
      errors: [{ path: "tenantId", message: "required with provider credentials" }],
    });
  }
  if (!canAccessTenant(principal, requested)) {
    throw new GatewayError("NOT_FOUND", `Tenant ${requested} was not found.`);
  }
  return requested;
}

/** How an API caller acts on tickets. */
export function actingFor(ctx: ServiceContext): Acting {
  return {
    actor: actorOf(ctx.principal),
    side: sideOf(ctx.principal),
    provider: isProvider(ctx.principal),
    now: ctx.now,
    catalog: ctx.catalog,
    direction: "internal",
  };
}

export async function createTicket(ctx: ServiceContext, input: CreateTicket) {
  const tenantId = resolveTenantId(ctx, input.tenantId);
  const create = ctx.db.transaction(async (tx) => {
    // One query for the tenant (its plan's default priority, its SLA settings) and its outbound connections.
    const tenant = await tenantWithOutbound(tx, tenantId);
    const priority = input.priority ?? defaultPriorityOf(ctx.catalog, tenant.tenant);
    if (priority === null) {
      throw new GatewayError("VALIDATION_FAILED", "The tenant's plan has no default priority; give one.", {
        errors: [{ path: "priority", message: "required: the tenant's plan names no defaultPriority" }],
      });
    }
    const row = await insertTicket(
      tx,
      actingFor(ctx),
      {
        tenantId,
        title: input.title,
        description: input.description ?? null,
        priority,
        requester: input.requester ?? null,
        assigneeGroup: input.assigneeGroup ?? null,
        category: input.category ?? null,
        affectedService: input.affectedService ?? null,
      },
      tenant,
    );
    return ticketToApi(row);
  });
  // The tenant's existence is checked by the foreign key rather than an extra query on this hot path.
  return create.catch((error: unknown) => {
    if (sqlState(error) === "23503") throw new GatewayError("NOT_FOUND", `Tenant ${tenantId} was not found.`);
    throw error;
  });
}

export async function getTicket(ctx: ServiceContext, id: string) {
  const row = await findVisibleTicket(ctx.db, ctx, id);
  return { ...ticketToApi(row), sla: await ticketSla(ctx.db, ctx, row) };
}

/** Extra work a provider act does in its transaction: a precondition, and writes after its ledger entry. */
export interface ProviderActHooks<T> {
  check?: (tx: Tx, ticket: TicketRow) => Promise<void>;
  after?: (tx: Tx, ticket: TicketRow, act: StoredLedgerEntry) => Promise<T>;
}

/**
 * A provider act on a ticket that plan clocks can start or meet by name (`appointment_recorded`,
 * `part_failure_recorded`, `replacement_shipped`, `handed_over`, ...): version bump, `ticket.<event>` ledger
 * entry, the hooks' writes (billing charges) and the SLA event, in one transaction.
 */
export async function recordProviderEvent<T = undefined>(
  ctx: ServiceContext,
  ticketId: string,
  event: string,
  detail: Record<string, unknown>,
  forbidden: string,
  hooks: ProviderActHooks<T> = {},
) {
  if (!isProvider(ctx.principal)) throw new GatewayError("FORBIDDEN", forbidden);
  return ctx.db.transaction(async (tx) => {
    const ticket = await findVisibleTicket(tx, ctx, ticketId, true);
    await hooks.check?.(tx, ticket);
    const now = ctx.now();
    const version = ticket.version + 1;
    const [updated] = await tx
      .update(tickets)
      .set({ updatedAt: now, version })
      .where(eq(tickets.id, ticketId))
      .returning();
    const [act] = await appendLedger(tx, [
      {
        tenantId: ticket.tenantId,
        ticketId: ticket.id,
        direction: "internal",
        actor: actorOf(ctx.principal),
        side: "provider",
        kind: `ticket.${event}`,
        detail: { ...detail, version },
        occurredAt: now,
      },
    ]);
    const extra = await hooks.after?.(tx, ticket, act!);
    await applySlaEvent(tx, slaContext(ctx), updated!, { type: "named", event });
    return { ticketId, recordedAt: now.toISOString(), version, sequence: act!.sequence, extra };
  });
}

/** Records an appointment (the provider's act); it meets any plan clock met by `appointment_recorded`. */
export async function recordAppointment(ctx: ServiceContext, ticketId: string, scheduledFor: string) {
  const iso = new Date(scheduledFor).toISOString();
  const appointmentId = newId("appointment");
  const result = await recordProviderEvent(
    ctx,
    ticketId,
    "appointment_recorded",
    { appointmentId, scheduledFor: iso },
    "Recording an appointment is the provider's act.",
  );
  return {
    appointmentId,
    ticketId,
    scheduledFor: iso,
    recordedAt: result.recordedAt,
    version: result.version,
  };
}

/** The provider confirms a part failed: starts a plan's `part_failure_recorded` clock (ROI's replacement). */
export async function recordPartFailure(ctx: ServiceContext, ticketId: string, input: RecordPartFailure) {
  const detail = { part: input.part, serialNumber: input.serialNumber ?? null };
  const result = await recordProviderEvent(
    ctx,
    ticketId,
    "part_failure_recorded",
    detail,
    "Confirming a failed part is the provider's act.",
  );
  return { ticketId, recordedAt: result.recordedAt, version: result.version, ...detail };
}

/** The provider ships the replacement: meets a plan's `replacement_shipped` clock. */
export async function recordReplacementShipment(
  ctx: ServiceContext,
  ticketId: string,
  input: RecordReplacementShipment,
) {
  const detail = { carrier: input.carrier ?? null, trackingNumber: input.trackingNumber ?? null };
  const result = await recordProviderEvent(
    ctx,
    ticketId,
    "replacement_shipped",
    detail,
    "Recording a replacement shipment is the provider's act.",
  );
  return { ticketId, recordedAt: result.recordedAt, version: result.version, ...detail };
}

const clientEditableFields = new Set(["title", "description", "priority", "status"]);

export async function updateTicket(
  ctx: ServiceContext,
  id: string,
  input: UpdateTicket,
  options: { ifMatchVersion?: number | null } = {},
) {
  return ctx.db.transaction(async (tx) => {
    const { ticket: current, outbound } = await lockVisibleTicket(tx, ctx, id);
    if (options.ifMatchVersion != null && options.ifMatchVersion !== current.version) {
      throw new GatewayError(
        "PRECONDITION_FAILED",
        `If-Match names version ${options.ifMatchVersion}, the ticket is at version ${current.version}.`,
      );
    }
    if (!isProvider(ctx.principal)) {
      const forbidden = Object.keys(input).filter((field) => !clientEditableFields.has(field));
      if (forbidden.length > 0) {
        throw new GatewayError("FORBIDDEN", `A tenant key may not change ${forbidden.join(", ")}.`);
      }
    }
    if (input.status !== undefined && input.status !== current.status && !isProvider(ctx.principal)) {
      const from = current.status as TicketStatus;
      if (isAllowedTransition(from, input.status) && !isClientTransition(from, input.status)) {
        throw new GatewayError(
          "FORBIDDEN",
          `Moving a ticket from ${from} to ${input.status} is the provider's act; a tenant may cancel, reopen a resolved ticket or close it.`,
        );
      }
    }
    return ticketToApi(await applyTicketChanges(tx, actingFor(ctx), current, input, outbound));
  });
}

export async function listTickets(
  ctx: ServiceContext,
  query: z.infer<typeof TicketListQuery> & { limit: number; cursor?: string | undefined },
) {
  const conditions: SQL[] = [];
  const scope = tenantScope(ctx.principal);
  if (scope !== null) conditions.push(inArray(tickets.tenantId, scope));
  if (query.tenantId) conditions.push(eq(tickets.tenantId, query.tenantId));
  if (query.status) conditions.push(eq(tickets.status, query.status));
  if (query.priority) conditions.push(eq(tickets.priority, query.priority));
  if (query.updatedSince) conditions.push(gte(tickets.updatedAt, new Date(query.updatedSince)));
  const after = decodeCursor<string>(query.cursor, "string");
  if (after) conditions.push(gt(tickets.id, after));
  const rows = await ctx.db
    .select()
    .from(tickets)
    .where(and(...conditions))
    .orderBy(asc(tickets.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (r) => r.id);
  return { items: result.items.map(ticketToApi), nextCursor: result.nextCursor };
}

export async function addComment(ctx: ServiceContext, ticketId: string, input: CreateComment) {
  return ctx.db.transaction(async (tx) => {
    const { ticket, outbound } = await lockVisibleTicket(tx, ctx, ticketId);
    const { comment, ticket: updated } = await insertComment(
      tx,
      actingFor(ctx),
      ticket,
      { body: input.body, visibility: input.visibility, authorId: principalId(ctx), authorName: null },
      outbound,
    );
    return { comment: commentToApi(comment), ticketVersion: updated.version };
  });
}

function principalId(ctx: ServiceContext): string | null {
  const actor = actorOf(ctx.principal);
  return "id" in actor ? actor.id : null;
}

/** Tenant keys see public comments and their own side's notes; provider-internal notes stay hidden. */
export async function listComments(
  ctx: ServiceContext,
  ticketId: string,
  query: { limit: number; cursor?: string },
) {
  await findVisibleTicket(ctx.db, ctx, ticketId);
  const conditions: SQL[] = [eq(comments.ticketId, ticketId)];
  if (!isProvider(ctx.principal)) {
    conditions.push(or(eq(comments.visibility, "public"), eq(comments.side, "client"))!);
  }
  const after = decodeCursor<string>(query.cursor, "string");
  if (after) conditions.push(gt(comments.id, after));
  const rows = await ctx.db
    .select()
    .from(comments)
    .where(and(...conditions))
    .orderBy(asc(comments.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (r) => r.id);
  return { items: result.items.map(commentToApi), nextCursor: result.nextCursor };
}

/** A ticket's attachments (metadata: name, type, size, hash once the content passed through), oldest first. */
export async function listAttachments(
  ctx: ServiceContext,
  ticketId: string,
  query: { limit: number; cursor?: string },
) {
  await findVisibleTicket(ctx.db, ctx, ticketId);
  const conditions: SQL[] = [eq(attachments.ticketId, ticketId)];
  const after = decodeCursor<string>(query.cursor, "string");
  if (after) conditions.push(gt(attachments.id, after));
  const rows = await ctx.db
    .select()
    .from(attachments)
    .where(and(...conditions))
    .orderBy(asc(attachments.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (r) => r.id);
  return { items: result.items.map(attachmentToApi), nextCursor: result.nextCursor };
}
