import { and, asc, eq, gt, gte, inArray, or, type SQL } from "drizzle-orm";
import type { z } from "zod";
import type { CreateComment, CreateTicket, TicketListQuery, UpdateTicket } from "../../schemas/ticket.js";
import { actorOf, canAccessTenant, isProvider, sideOf, tenantScope } from "../auth/principal.js";
import { type Queryable, sqlState, type Tx } from "../db/client.js";
import { comments, tickets } from "../db/schema/index.js";
import { isAllowedTransition, isClientTransition } from "../domain/ticket-status.js";
import { GatewayError } from "../errors.js";
import { appendLedger, type LedgerEntryInput } from "../ledger/append.js";
import { decodeCursor, page } from "../lib/cursor.js";
import { hashPayload } from "../lib/hash.js";
import { newId } from "../lib/ids.js";
import { type ServiceContext, slaContext } from "./context.js";
import { commentToApi, ticketToApi } from "./serialize.js";
import { applySlaEvent, startClocks, ticketSla } from "./sla.js";

type TicketRow = typeof tickets.$inferSelect;

/** Reads a ticket the principal may see; anything else is 404, so ids of other tenants leak nothing. */
export async function findVisibleTicket(db: Queryable, ctx: ServiceContext, id: string, forUpdate = false) {
  const query = db.select().from(tickets).where(eq(tickets.id, id));
  const [row] = forUpdate ? await query.for("update") : await query;
  if (!row || !canAccessTenant(ctx.principal, row.tenantId)) {
    throw new GatewayError("NOT_FOUND", `Ticket ${id} was not found.`);
  }
  return row;
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

export async function createTicket(ctx: ServiceContext, input: CreateTicket) {
  const tenantId = resolveTenantId(ctx, input.tenantId);
  const create = ctx.db.transaction(async (tx) => {
    const now = ctx.now();
    const [row] = await tx
      .insert(tickets)
      .values({
        id: newId("ticket"),
        tenantId,
        title: input.title,
        description: input.description ?? null,
        priority: input.priority,
        status: "new",
        requester: input.requester ?? null,
        assigneeGroup: input.assigneeGroup ?? null,
        category: input.category ?? null,
        affectedService: input.affectedService ?? null,
        createdAt: now,
        updatedAt: now,
        version: 1,
      })
      .returning();
    await appendLedger(tx, [
      {
        ...ledgerBase(ctx, row!),
        occurredAt: now,
        kind: "ticket.created",
        payloadHash: hashPayload(ticketToApi(row!)),
        detail: { priority: row!.priority, status: row!.status, version: 1 },
      },
    ]);
    await startClocks(tx, slaContext(ctx), row!);
    return ticketToApi(row!);
  });
  // The tenant's existence is checked by the foreign key rather than an extra query on this hot path.
  return create.catch((error: unknown) => {
    if (sqlState(error) === "23503") throw new GatewayError("NOT_FOUND", `Tenant ${tenantId} was not found.`);
    throw error;
  });
}

function ledgerBase(ctx: ServiceContext, row: TicketRow): Omit<LedgerEntryInput, "kind"> {
  return {
    tenantId: row.tenantId,
    ticketId: row.id,
    direction: "internal",
    actor: actorOf(ctx.principal),
    side: sideOf(ctx.principal),
  };
}

export async function getTicket(ctx: ServiceContext, id: string) {
  const row = await findVisibleTicket(ctx.db, ctx, id);
  return { ...ticketToApi(row), sla: await ticketSla(ctx.db, ctx, row) };
}

/** Records an appointment (the provider's act); it meets any plan clock met by `appointment_recorded`. */
export async function recordAppointment(ctx: ServiceContext, ticketId: string, scheduledFor: string) {
  if (!isProvider(ctx.principal)) {
    throw new GatewayError("FORBIDDEN", "Recording an appointment is the provider's act.");
  }
  return ctx.db.transaction(async (tx) => {
    const ticket = await findVisibleTicket(tx, ctx, ticketId, true);
    const now = ctx.now();
    const version = ticket.version + 1;
    const [updated] = await tx
      .update(tickets)
      .set({ updatedAt: now, version })
      .where(eq(tickets.id, ticketId))
      .returning();
    await appendLedger(tx, [
      {
        ...ledgerBase(ctx, ticket),
        kind: "ticket.appointment_recorded",
        detail: { scheduledFor: new Date(scheduledFor).toISOString(), version },
      },
    ]);
    await applySlaEvent(tx, slaContext(ctx), updated!, { type: "named", event: "appointment_recorded" });
    return {
      ticketId,
      scheduledFor: new Date(scheduledFor).toISOString(),
      recordedAt: now.toISOString(),
      version,
    };
  });
}

const clientEditableFields = new Set(["title", "description", "priority", "status"]);

export async function updateTicket(
  ctx: ServiceContext,
  id: string,
  input: UpdateTicket,
  options: { ifMatchVersion?: number | null } = {},
) {
  return ctx.db.transaction(async (tx) => {
    const current = await findVisibleTicket(tx, ctx, id, true);
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
    return applyTicketChanges(tx, ctx, current, input);
  });
}

async function applyTicketChanges(tx: Tx, ctx: ServiceContext, current: TicketRow, input: UpdateTicket) {
  const changes: Partial<TicketRow> = {};
  const changedFields: string[] = [];
  const entries: LedgerEntryInput[] = [];
  const base = ledgerBase(ctx, current);
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
  const now = ctx.now();
  if (input.status !== undefined && input.status !== current.status) {
    const from = current.status as NonNullable<UpdateTicket["status"]>;
    const to = input.status;
    if (!isAllowedTransition(from, to)) {
      throw new GatewayError("INVALID_TRANSITION", `A ticket cannot move from ${from} to ${to}.`, {
        extra: { from, to },
      });
    }
    if (!isProvider(ctx.principal) && !isClientTransition(from, to)) {
      throw new GatewayError(
        "FORBIDDEN",
        `Moving a ticket from ${from} to ${to} is the provider's act; a tenant may cancel, reopen a resolved ticket or close it.`,
      );
    }
    changes.status = to;
    if (from === "new" && isProvider(ctx.principal) && !current.acknowledgedAt && to !== "cancelled") {
      changes.acknowledgedAt = now;
    }
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
  if (entries.length === 0) return ticketToApi(current);
  const version = current.version + 1;
  const [row] = await tx
    .update(tickets)
    .set({ ...changes, updatedAt: now, version })
    .where(eq(tickets.id, current.id))
    .returning();
  await appendLedger(
    tx,
    entries.map((e) => ({ ...e, detail: { ...e.detail, version } })),
  );
  const sla = slaContext(ctx);
  if (changes.priority !== undefined) {
    await applySlaEvent(tx, sla, row!, { type: "priority", from: current.priority, to: changes.priority });
  }
  if (changes.status !== undefined) {
    await applySlaEvent(tx, sla, row!, {
      type: "status",
      from: current.status,
      to: changes.status,
      byProvider: isProvider(ctx.principal),
    });
  }
  return ticketToApi(row!);
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
    const ticket = await findVisibleTicket(tx, ctx, ticketId, true);
    const now = ctx.now();
    const [comment] = await tx
      .insert(comments)
      .values({
        id: newId("comment"),
        ticketId,
        tenantId: ticket.tenantId,
        body: input.body,
        visibility: input.visibility,
        authorType: actorOf(ctx.principal).type,
        authorId: principalId(ctx),
        authorName: null,
        side: sideOf(ctx.principal),
        createdAt: now,
      })
      .returning();
    const version = ticket.version + 1;
    const [updated] = await tx
      .update(tickets)
      .set({ updatedAt: now, version })
      .where(eq(tickets.id, ticketId))
      .returning();
    await appendLedger(tx, [
      {
        ...ledgerBase(ctx, ticket),
        kind: "comment.added",
        payloadHash: hashPayload({ body: input.body }),
        detail: { commentId: comment!.id, visibility: input.visibility, version },
      },
    ]);
    if (input.visibility === "public" && isProvider(ctx.principal)) {
      await applySlaEvent(tx, slaContext(ctx), updated!, { type: "provider_public_update" });
    }
    return { comment: commentToApi(comment!), ticketVersion: updated!.version };
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
