import { and, asc, eq, gte, lt } from "drizzle-orm";
import type { z } from "zod";
import type { DelegationState } from "../../connectors/sdk/index.js";
import type { CreateDelegation } from "../../schemas/delegation.js";
import type { Priority } from "../../schemas/ticket.js";
import { actorOf, isProvider, tenantScope } from "../auth/principal.js";
import { connections, delegations, tenants } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import { enqueueJobs, queuePriority } from "../jobs/queue.js";
import { appendLedger } from "../ledger/append.js";
import { newId } from "../lib/ids.js";
import {
  carrierBusinessSeconds,
  carrierOptionsOf,
  delegationOla,
  isTicketStatusForDelegation,
  terminalDelegationStates,
} from "../sync/carrier.js";
import type { ServiceContext } from "./context.js";
import { applyTicketChanges, insertComment } from "./ticket-writes.js";
import { actingFor, findVisibleTicket } from "./tickets.js";

type DelegationRow = typeof delegations.$inferSelect;

export function delegationToApi(row: DelegationRow) {
  return {
    id: row.id,
    ticketId: row.ticketId,
    connectionId: row.connectionId,
    state: row.state as DelegationState,
    carrierTicketId: row.carrierTicketId,
    carrierStatus: row.carrierStatus,
    reason: row.reason,
    service: row.service ? { id: row.service.id, type: row.service.type ?? null } : null,
    acknowledgedAt: row.acknowledgedAt?.toISOString() ?? null,
    resolvedAt: row.resolvedAt?.toISOString() ?? null,
    closedAt: row.closedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function requireProvider(ctx: ServiceContext, what: string) {
  if (!isProvider(ctx.principal)) throw new GatewayError("FORBIDDEN", `${what} is the provider's act.`);
}

/** Hands a ticket to a carrier: the carrier ticket is opened by a job, so a carrier outage loses nothing. */
export async function createDelegation(
  ctx: ServiceContext,
  ticketId: string,
  input: z.infer<typeof CreateDelegation>,
) {
  requireProvider(ctx, "Delegating to a carrier");
  return ctx.db.transaction(async (tx) => {
    const ticket = await findVisibleTicket(tx, ctx, ticketId, true);
    const [connection] = await tx
      .select()
      .from(connections)
      .where(and(eq(connections.id, input.connectionId), eq(connections.status, "active")));
    if (connection?.role !== "carrier") {
      throw new GatewayError("VALIDATION_FAILED", "Delegations go to an active carrier connection.", {
        errors: [{ path: "connectionId", message: "not an active carrier connection" }],
      });
    }
    if (["closed", "cancelled"].includes(ticket.status)) {
      throw new GatewayError("CONFLICT", `Ticket ${ticketId} is ${ticket.status}; it cannot be delegated.`);
    }
    const [tenant] = await tx
      .select({ name: tenants.name })
      .from(tenants)
      .where(eq(tenants.id, ticket.tenantId));
    const now = ctx.now();
    const [row] = await tx
      .insert(delegations)
      .values({
        id: newId("delegation"),
        ticketId,
        tenantId: ticket.tenantId,
        connectionId: connection.id,
        state: "requested",
        reason: input.reason ?? null,
        service: input.service ? { id: input.service.id, type: input.service.type ?? null } : null,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    await enqueueJobs(tx, [
      {
        kind: "delegation.open",
        connectionId: connection.id,
        orderKey: row!.id,
        tenantId: ticket.tenantId,
        priority: queuePriority(ticket.priority),
        payload: { tenantName: tenant?.name ?? ticket.tenantId, ticketId },
        runAt: now,
      },
    ]);
    await appendLedger(tx, [
      {
        tenantId: ticket.tenantId,
        ticketId,
        connectionId: connection.id,
        direction: "internal",
        kind: "delegation.requested",
        actor: actorOf(ctx.principal),
        side: "provider",
        detail: { delegationId: row!.id, carrier: connection.name, type: connection.type },
      },
    ]);
    if (
      input.pendingCarrier &&
      ticket.status !== "pending_carrier" &&
      isTicketStatusForDelegation(ticket.status)
    ) {
      await applyTicketChanges(tx, actingFor(ctx), ticket, { status: "pending_carrier" });
    }
    return delegationToApi(row!);
  });
}

export async function listTicketDelegations(ctx: ServiceContext, ticketId: string) {
  await findVisibleTicket(ctx.db, ctx, ticketId);
  const rows = await ctx.db
    .select()
    .from(delegations)
    .where(eq(delegations.ticketId, ticketId))
    .orderBy(asc(delegations.id));
  return { items: rows.map(delegationToApi), nextCursor: null };
}

/**
 * The OLA times of a ticket's delegations against each carrier's targets, by delegation id: the provider's
 * view (the carrier report's measure per delegation).
 */
export async function ticketDelegationOla(ctx: ServiceContext, ticketId: string) {
  requireProvider(ctx, "The OLA view");
  const ticket = await findVisibleTicket(ctx.db, ctx, ticketId);
  const rows = await ctx.db
    .select({ delegation: delegations, carrierOptions: connections.carrierOptions })
    .from(delegations)
    .innerJoin(connections, eq(connections.id, delegations.connectionId))
    .where(eq(delegations.ticketId, ticketId));
  const now = ctx.now().getTime();
  return new Map(
    rows.map(({ delegation, carrierOptions }) => [
      delegation.id,
      delegationOla(delegation, carrierOptionsOf({ carrierOptions }), ticket.priority as Priority, now),
    ]),
  );
}

async function visibleDelegation(ctx: ServiceContext, id: string) {
  const [row] = await ctx.db.select().from(delegations).where(eq(delegations.id, id));
  const scope = tenantScope(ctx.principal);
  if (!row || (scope !== null && !scope.includes(row.tenantId)))
    throw new GatewayError("NOT_FOUND", `Delegation ${id} was not found.`);
  return row;
}

export async function getDelegation(ctx: ServiceContext, id: string) {
  return delegationToApi(await visibleDelegation(ctx, id));
}

const allowedFrom: Record<"cancel" | "close" | "reopen", DelegationState[]> = {
  cancel: ["requested", "open", "in_progress", "pending"],
  close: ["resolved"],
  reopen: ["resolved"],
};

/** Cancel, close (confirm the carrier's resolution) or reopen: queued for the carrier, answered 202. */
export async function requestDelegationAction(
  ctx: ServiceContext,
  id: string,
  action: "cancel" | "close" | "reopen",
  reason: string | undefined,
) {
  requireProvider(ctx, `Asking a carrier to ${action}`);
  const delegation = await visibleDelegation(ctx, id);
  if (!allowedFrom[action].includes(delegation.state as DelegationState)) {
    throw new GatewayError(
      "INVALID_TRANSITION",
      `A ${delegation.state} delegation cannot be asked to ${action}.`,
      {
        extra: { from: delegation.state, action },
      },
    );
  }
  await ctx.db.transaction(async (tx) => {
    await enqueueJobs(tx, [
      {
        kind: `delegation.${action}`,
        connectionId: delegation.connectionId,
        orderKey: delegation.id,
        tenantId: delegation.tenantId,
        payload: { ticketId: delegation.ticketId, ...(reason ? { reason } : {}) },
        runAt: ctx.now(),
      },
    ]);
    await appendLedger(tx, [
      {
        tenantId: delegation.tenantId,
        ticketId: delegation.ticketId,
        connectionId: delegation.connectionId,
        direction: "internal",
        kind: `delegation.${action}_requested`,
        actor: actorOf(ctx.principal),
        side: "provider",
        externalId: delegation.carrierTicketId,
        detail: { delegationId: delegation.id },
      },
    ]);
  });
  return { ...delegationToApi(delegation), accepted: true };
}

/** A note for the carrier (e.g. the information it asked for), kept on the ticket as an internal comment. */
export async function sendDelegationNote(ctx: ServiceContext, id: string, text: string) {
  requireProvider(ctx, "Writing to a carrier");
  const delegation = await visibleDelegation(ctx, id);
  if (terminalDelegationStates.includes(delegation.state as DelegationState)) {
    throw new GatewayError("CONFLICT", `Delegation ${id} is ${delegation.state}.`);
  }
  return ctx.db.transaction(async (tx) => {
    const ticket = await findVisibleTicket(tx, ctx, delegation.ticketId, true);
    const [connection] = await tx
      .select({ name: connections.name })
      .from(connections)
      .where(eq(connections.id, delegation.connectionId));
    const { comment } = await insertComment(tx, actingFor(ctx), ticket, {
      body: `To ${connection?.name ?? "the carrier"}: ${text}`,
      visibility: "internal",
      authorId: null,
      authorName: null,
    });
    await enqueueJobs(tx, [
      {
        kind: "delegation.note",
        connectionId: delegation.connectionId,
        orderKey: delegation.id,
        tenantId: delegation.tenantId,
        payload: { noteId: comment.id, text, author: "Service desk", ticketId: delegation.ticketId },
        runAt: ctx.now(),
      },
    ]);
    return { ...delegationToApi(delegation), noteCommentId: comment.id };
  });
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}
const minutes = (seconds: number | null) => (seconds === null ? null : Math.round((seconds / 60) * 10) / 10);

/** Carriers compared over delegations made in [from, to): OLA business times, breaches and waiting. */
export async function carrierReport(ctx: ServiceContext, query: { from: string; to: string }) {
  requireProvider(ctx, "The carrier report");
  const from = new Date(query.from);
  const to = new Date(query.to);
  if (!(from < to)) {
    throw new GatewayError("VALIDATION_FAILED", "`from` must be before `to`.", {
      errors: [{ path: "to", message: "must be after from" }],
    });
  }
  const carrierConnections = await ctx.db.select().from(connections).where(eq(connections.role, "carrier"));
  const rows = await ctx.db
    .select()
    .from(delegations)
    .where(and(gte(delegations.createdAt, from), lt(delegations.createdAt, to)));
  const scope = tenantScope(ctx.principal);
  const now = ctx.now().getTime();
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    carriers: carrierConnections
      .map((connection) => {
        const options = carrierOptionsOf(connection);
        const mine = rows.filter(
          (d) => d.connectionId === connection.id && (scope === null || scope.includes(d.tenantId)),
        );
        const ack = mine
          .filter((d) => d.acknowledgedAt)
          .map((d) => carrierBusinessSeconds(d, options, d.acknowledgedAt!.getTime()))
          .sort((a, b) => a - b);
        const resolved = mine
          .filter((d) => d.resolvedAt)
          .map((d) => carrierBusinessSeconds(d, options, d.resolvedAt!.getTime()))
          .sort((a, b) => a - b);
        const waits = mine
          .map((d) =>
            carrierBusinessSeconds(d, options, (d.resolvedAt ?? d.closedAt ?? new Date(now)).getTime()),
          )
          .sort((a, b) => a - b);
        return {
          connectionId: connection.id,
          name: connection.name,
          type: connection.type,
          delegations: mine.length,
          acknowledged: ack.length,
          resolved: resolved.length,
          rejected: mine.filter((d) => d.state === "rejected").length,
          medianAcknowledgeBusinessMinutes: minutes(quantile(ack, 0.5)),
          p90AcknowledgeBusinessMinutes: minutes(quantile(ack, 0.9)),
          medianResolveBusinessMinutes: minutes(quantile(resolved, 0.5)),
          p90ResolveBusinessMinutes: minutes(quantile(resolved, 0.9)),
          olaBreaches: mine.reduce((sum, d) => sum + d.breaches.length, 0),
          totalWaitBusinessMinutes: minutes(waits.reduce((s, v) => s + v, 0)) ?? 0,
          medianWaitBusinessMinutes: minutes(quantile(waits, 0.5)),
        };
      })
      .filter((row) => row.delegations > 0),
  };
}
