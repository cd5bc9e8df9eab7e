import { and, asc, eq, like, sql } from "drizzle-orm";
import { DateTime } from "luxon";
import type { z } from "zod";
import {
  type BillingRule,
  BillingTerms,
  type CreateWorklog,
  type Dispatch,
  type Purchase,
  TenantBillingTerms,
} from "../../schemas/billing.js";
import { actorOf, canAccessTenant, isProvider } from "../auth/principal.js";
import { type BillingEntry, deriveBalances } from "../billing/balances.js";
import { type BillableFacts, evaluateBillingRules } from "../billing/units.js";
import type { Queryable, Tx } from "../db/client.js";
import { ledgerEntries, tenants, type tickets } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import { appendLedger, type StoredLedgerEntry } from "../ledger/append.js";
import { newId } from "../lib/ids.js";
import { getPlan } from "../sla/catalog.js";
import { enqueueWorklogCopies, type WorklogCopy, worklogCopyTargets } from "../sync/worklogs.js";
import type { ServiceContext } from "./context.js";
import { findVisibleTicket, recordProviderEvent } from "./tickets.js";

type TicketRow = typeof tickets.$inferSelect;

export interface EffectiveBilling {
  rules: BillingRule[];
  terms: BillingTerms;
  contractStart: string | null;
  zone: string;
  plan: string;
}

const DEFAULT_ROLLOVER_CAP = 0;

/** The tenant's plan billing with its latest `billing.terms_set` override applied (the chain is the record). */
export async function effectiveBilling(
  db: Queryable,
  ctx: ServiceContext,
  tenantId: string,
): Promise<EffectiveBilling> {
  const [tenant] = await db.select().from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant) throw new GatewayError("NOT_FOUND", `Tenant ${tenantId} was not found.`);
  const plan = getPlan(ctx.catalog, tenant.plan);
  const [override] = await db
    .select({ detail: ledgerEntries.detail })
    .from(ledgerEntries)
    .where(and(eq(ledgerEntries.tenantId, tenantId), eq(ledgerEntries.kind, "billing.terms_set")))
    .orderBy(sql`${ledgerEntries.sequence} desc`)
    .limit(1);
  const tenantTerms = override ? TenantBillingTerms.parse(override.detail.terms) : {};
  const { rules, contractStart, ...termOverrides } = tenantTerms;
  const base = plan?.billing ?? { terms: BillingTerms.parse({}), rules: [] };
  return {
    rules: rules ?? base.rules,
    terms: BillingTerms.parse({ ...base.terms, ...termOverrides }),
    contractStart: contractStart ?? null,
    zone: tenant.timezone ?? plan?.calendar.timezone ?? "UTC",
    plan: tenant.plan,
  };
}

/** Consumption is a negative delta on prepaid accounts; T&M charges add to what is owed. */
const signed = (account: string, quantity: number) =>
  account === "time_and_materials" ? quantity : -quantity;

function chargeView(entry: StoredLedgerEntry) {
  const d = entry.detail as { account: "incidents"; delta: number; unit: string; rule?: string };
  return {
    sequence: entry.sequence,
    kind: entry.kind,
    account: d.account,
    delta: d.delta,
    unit: d.unit,
    rule: d.rule ?? null,
    ticketId: entry.ticketId,
  };
}

interface ActOptions {
  event: string;
  detail: Record<string, unknown>;
  facts?: BillableFacts;
  check?: (tx: Tx, ticket: TicketRow) => Promise<void>;
  /** Writes that belong to the act's transaction (queued sync work). */
  effects?: (tx: Tx, ticket: TicketRow) => Promise<void>;
}

/** A provider act with the `billing.consumed` entries its rules produce, each naming the act's sequence. */
async function providerAct(ctx: ServiceContext, ticketId: string, options: ActOptions) {
  const result = await recordProviderEvent(
    ctx,
    ticketId,
    options.event,
    options.detail,
    "This action is the provider's.",
    {
      ...(options.check ? { check: options.check } : {}),
      after: async (tx, ticket, act) => {
        await options.effects?.(tx, ticket);
        if (!options.facts) return [];
        const billing = await effectiveBilling(tx, ctx, ticket.tenantId);
        const units = evaluateBillingRules(billing.rules, billing.terms, options.facts);
        if (units.length === 0) return [];
        return appendLedger(
          tx,
          units.map((u) => ({
            tenantId: ticket.tenantId,
            ticketId: ticket.id,
            direction: "internal" as const,
            actor: actorOf(ctx.principal),
            side: "provider" as const,
            occurredAt: act.occurredAt,
            kind: "billing.consumed",
            detail: {
              account: u.account,
              unit: u.unit,
              delta: signed(u.account, u.quantity),
              rule: u.rule,
              event: options.facts!.event,
              source: act.sequence,
              ...(u.account === "time_and_materials" ? { currency: billing.terms.currency } : {}),
            },
          })),
        );
      },
    },
  );
  const { extra, ...rest } = result;
  return { ...rest, charges: (extra ?? []).map(chargeView) };
}

async function ticketEntries(tx: Queryable, ticket: TicketRow, kindPrefix: string) {
  return tx
    .select()
    .from(ledgerEntries)
    .where(
      and(
        eq(ledgerEntries.tenantId, ticket.tenantId),
        eq(ledgerEntries.ticketId, ticket.id),
        like(ledgerEntries.kind, `${kindPrefix}%`),
      ),
    )
    .orderBy(asc(ledgerEntries.sequence));
}

const instant = (at: string | undefined, ctx: ServiceContext) =>
  (at ? new Date(at) : ctx.now()).toISOString();

/** Handover to the support team: once per ticket; seed 003 charges one incident for it. */
export function handover(ctx: ServiceContext, ticketId: string, input: { at?: string | undefined }) {
  return providerAct(ctx, ticketId, {
    event: "handed_over",
    detail: { at: instant(input.at, ctx) },
    facts: { event: "handover" },
    check: async (tx, ticket) => {
      if ((await ticketEntries(tx, ticket, "ticket.handed_over")).length > 0) {
        throw new GatewayError("CONFLICT", `Ticket ${ticket.id} was already handed over.`);
      }
    },
  });
}

async function appointmentState(tx: Queryable, ticket: TicketRow, appointmentId: string) {
  const entries = (await ticketEntries(tx, ticket, "ticket.appointment_")).filter(
    (e) => e.detail.appointmentId === appointmentId,
  );
  const find = (kind: string) => entries.find((e) => e.kind === kind);
  if (!find("ticket.appointment_recorded")) {
    throw new GatewayError("NOT_FOUND", `Appointment ${appointmentId} was not found on ticket ${ticket.id}.`);
  }
  return {
    started: find("ticket.appointment_started"),
    concluded: find("ticket.appointment_concluded"),
  };
}

export function startAppointment(
  ctx: ServiceContext,
  ticketId: string,
  appointmentId: string,
  input: { at?: string | undefined },
) {
  return providerAct(ctx, ticketId, {
    event: "appointment_started",
    detail: { appointmentId, startedAt: instant(input.at, ctx) },
    check: async (tx, ticket) => {
      if ((await appointmentState(tx, ticket, appointmentId)).started) {
        throw new GatewayError("CONFLICT", `Appointment ${appointmentId} has already started.`);
      }
    },
  });
}

/** Concludes a started appointment; its duration (end - start, whole minutes started) is billed by the rules. */
export async function concludeAppointment(
  ctx: ServiceContext,
  ticketId: string,
  appointmentId: string,
  input: { at?: string | undefined },
) {
  const endedAt = instant(input.at, ctx);
  const facts: BillableFacts = { event: "appointment_concluded", durationMinutes: 0 };
  return providerAct(ctx, ticketId, {
    event: "appointment_concluded",
    detail: { appointmentId, endedAt },
    facts,
    check: async (tx, ticket) => {
      const state = await appointmentState(tx, ticket, appointmentId);
      if (!state.started) throw new GatewayError("CONFLICT", `Appointment ${appointmentId} has not started.`);
      if (state.concluded)
        throw new GatewayError("CONFLICT", `Appointment ${appointmentId} has already concluded.`);
      const ms = new Date(endedAt).getTime() - new Date(String(state.started.detail.startedAt)).getTime();
      if (ms <= 0) {
        throw new GatewayError("VALIDATION_FAILED", "The appointment must end after it started.", {
          errors: [{ path: "at", message: "must be after the start" }],
        });
      }
      // A started minute counts: 60 min 20 s is 61 minutes.
      facts.durationMinutes = Math.ceil(ms / 60_000);
    },
  });
}

export function dispatch(ctx: ServiceContext, ticketId: string, input: z.infer<typeof Dispatch>) {
  return providerAct(ctx, ticketId, {
    event: "dispatched",
    detail: {
      dispatchId: newId("dispatch"),
      at: instant(input.at, ctx),
      travelMinutes: input.travelMinutes,
      technician: input.technician ?? null,
    },
    facts: { event: "dispatch", travelMinutes: input.travelMinutes },
  });
}

/** Adds a work log; `source` names the connector for inbound ones, whose `externalId` dedupes them. */
export async function addWorklog(
  ctx: ServiceContext,
  ticketId: string,
  input: CreateWorklog,
  origin: { source: string; externalId?: string } = { source: "api" },
) {
  const worklogId = newId("worklog");
  const copy: WorklogCopy = {
    worklogId,
    ticketId,
    author: input.author,
    startedAt: new Date(input.startedAt).toISOString(),
    durationMinutes: input.durationMinutes,
    comment: null,
  };
  const result = await providerAct(ctx, ticketId, {
    event: "worklog_added",
    detail: {
      worklogId,
      author: copy.author,
      startedAt: copy.startedAt,
      durationMinutes: copy.durationMinutes,
      billable: input.billable,
      source: origin.source,
      externalWorklogId: origin.externalId ?? null,
    },
    facts: { event: "worklog", durationMinutes: input.durationMinutes, billable: input.billable },
    // Copied to every servicedesk of the ticket that keeps work logs (Jira worklogs, ServiceNow time worked).
    effects: async (tx, ticket) => {
      const targets = await worklogCopyTargets(tx, ctx.engine, ticket, null);
      await enqueueWorklogCopies(tx, ticket, targets, copy, ctx.now());
    },
  });
  return {
    worklog: {
      id: worklogId,
      ticketId,
      author: input.author,
      startedAt: new Date(input.startedAt).toISOString(),
      durationMinutes: input.durationMinutes,
      billable: input.billable,
      source: origin.source,
      sequence: result.sequence,
    },
    charges: result.charges,
    version: result.version,
  };
}

export async function listWorklogs(ctx: ServiceContext, ticketId: string) {
  const ticket = await findVisibleTicket(ctx.db, ctx, ticketId);
  const entries = await ticketEntries(ctx.db, ticket, "ticket.worklog_added");
  return {
    items: entries.map((e) => {
      const d = e.detail as Record<string, string | number | boolean>;
      return {
        id: String(d.worklogId),
        ticketId,
        author: String(d.author),
        startedAt: String(d.startedAt),
        durationMinutes: Number(d.durationMinutes),
        billable: Boolean(d.billable),
        source: String(d.source),
        sequence: e.sequence,
      };
    }),
  };
}

function requireTenant(ctx: ServiceContext, tenantId: string, providerOnly: boolean) {
  if (!canAccessTenant(ctx.principal, tenantId))
    throw new GatewayError("NOT_FOUND", `Tenant ${tenantId} was not found.`);
  if (providerOnly && !isProvider(ctx.principal)) {
    throw new GatewayError("FORBIDDEN", "This action is the provider's; a tenant key may not do it.");
  }
}

async function tenantEntry(
  ctx: ServiceContext,
  tenantId: string,
  kind: string,
  detail: Record<string, unknown>,
) {
  return ctx.db.transaction(async (tx) => {
    const [stored] = await appendLedger(tx, [
      {
        tenantId,
        direction: "internal",
        actor: actorOf(ctx.principal),
        side: "provider",
        kind,
        detail,
        occurredAt: ctx.now(),
      },
    ]);
    return stored!;
  });
}

export async function purchase(ctx: ServiceContext, tenantId: string, input: Purchase) {
  requireTenant(ctx, tenantId, true);
  const billing = await effectiveBilling(ctx.db, ctx, tenantId);
  const detail =
    input.kind === "incident_pack"
      ? { account: "incidents", unit: "incident", delta: input.incidents, purchase: input.kind }
      : {
          account: "hours",
          unit: "minute",
          delta: Math.round(input.hours * 60),
          purchase: input.kind,
          rateCents: input.rateCents ?? billing.terms.hourlyRateCents ?? null,
          currency: billing.terms.currency,
          // The block may be drawn on through its last day in the tenant's zone.
          expiresAt: DateTime.fromISO(input.expiresOn, { zone: billing.zone })
            .plus({ days: 1 })
            .toUTC()
            .toISO(),
        };
  const entry = await tenantEntry(ctx, tenantId, "billing.purchased", detail);
  return chargeView(entry);
}

/** A correction is a reversing entry: the opposite delta, naming the entry it reverses; never an edit. */
export async function correct(
  ctx: ServiceContext,
  tenantId: string,
  input: { reverses: number; reason: string },
) {
  requireTenant(ctx, tenantId, true);
  return ctx.db.transaction(async (tx) => {
    const rows = await tx
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.tenantId, tenantId), like(ledgerEntries.kind, "billing.%")));
    const original = rows.find((r) => r.sequence === input.reverses);
    if (!original || !["billing.purchased", "billing.consumed"].includes(original.kind)) {
      throw new GatewayError(
        "NOT_FOUND",
        `Billing entry ${input.reverses} was not found for tenant ${tenantId}.`,
      );
    }
    if (rows.some((r) => r.kind === "billing.reversed" && r.detail.reverses === input.reverses)) {
      throw new GatewayError("CONFLICT", `Billing entry ${input.reverses} was already reversed.`);
    }
    const d = original.detail as { account: string; unit: string; delta: number; rule?: string };
    const [stored] = await appendLedger(tx, [
      {
        tenantId,
        ticketId: original.ticketId,
        direction: "internal",
        actor: actorOf(ctx.principal),
        side: "provider",
        kind: "billing.reversed",
        occurredAt: ctx.now(),
        detail: {
          account: d.account,
          unit: d.unit,
          delta: -d.delta,
          reverses: input.reverses,
          reason: input.reason,
        },
      },
    ]);
    return chargeView(stored!);
  });
}

export async function setTerms(ctx: ServiceContext, tenantId: string, input: TenantBillingTerms) {
  requireTenant(ctx, tenantId, true);
  await effectiveBilling(ctx.db, ctx, tenantId); // 404 before anything is written for an unknown tenant
  const entry = await tenantEntry(ctx, tenantId, "billing.terms_set", { terms: input });
  return { sequence: entry.sequence, ...(await effectiveBilling(ctx.db, ctx, tenantId)) };
}

export async function billingEntries(db: Queryable, tenantId: string): Promise<BillingEntry[]> {
  const rows = await db
    .select()
    .from(ledgerEntries)
    .where(and(eq(ledgerEntries.tenantId, tenantId), like(ledgerEntries.kind, "billing.%")))
    .orderBy(asc(ledgerEntries.sequence));
  return rows
    .filter((r) => r.kind !== "billing.terms_set")
    .map((r) => ({
      sequence: r.sequence,
      occurredAt: r.occurredAt,
      kind: r.kind,
      ticketId: r.ticketId,
      detail: r.detail,
    }));
}

export async function getBalances(ctx: ServiceContext, tenantId: string) {
  requireTenant(ctx, tenantId, false);
  const billing = await effectiveBilling(ctx.db, ctx, tenantId);
  const balances = deriveBalances(await billingEntries(ctx.db, tenantId), {
    asOf: new Date(ctx.now().getTime() + 1),
    zone: billing.zone,
    contractStart: billing.contractStart,
    rolloverCap: billing.terms.incidentRolloverCap ?? DEFAULT_ROLLOVER_CAP,
  });
  return {
    tenantId,
    plan: billing.plan,
    terms: billing.terms,
    contractStart: billing.contractStart,
    ...balances,
  };
}

export { DEFAULT_ROLLOVER_CAP };
