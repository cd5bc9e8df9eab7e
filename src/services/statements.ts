import { and, asc, eq, gte, lt } from "drizzle-orm";
import { DateTime } from "luxon";
import { canAccessTenant } from "../auth/principal.js";
import { type BillingEntry, deriveBalances } from "../billing/balances.js";
import { ledgerEntries, tickets } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import { latestCheckpoints } from "../ledger/checkpoints.js";
import { verifyLedger } from "../ledger/verify.js";
import { canonicalJson, sha256Hex } from "../lib/hash.js";
import { billingEntries, DEFAULT_ROLLOVER_CAP, effectiveBilling } from "./billing.js";
import type { ServiceContext } from "./context.js";
import { checkpointToApi } from "./ledger.js";
import { slaReport } from "./sla-reports.js";

export interface StatementLine {
  sequence: number;
  occurredAt: string;
  ticketId: string | null;
  kind: string;
  account: string;
  rule: string | null;
  delta: number;
  unit: string;
  source: number | null;
  reverses: number | null;
}

const lineOf = (e: BillingEntry): StatementLine => ({
  sequence: e.sequence,
  occurredAt: e.occurredAt.toISOString(),
  ticketId: e.ticketId,
  kind: e.kind,
  account: String(e.detail.account),
  rule: typeof e.detail.rule === "string" ? e.detail.rule : null,
  delta: Number(e.detail.delta),
  unit: String(e.detail.unit),
  source: typeof e.detail.source === "number" ? e.detail.source : null,
  reverses: typeof e.detail.reverses === "number" ? e.detail.reverses : null,
});

/**
 * A month's statement for one tenant (month boundaries in the tenant's zone). The billing part is derived from
 * the `billing.*` entries alone; `billingDigest` hashes it, so a recomputation from the same chain matches.
 */
export async function monthlyStatement(ctx: ServiceContext, tenantId: string, month: string) {
  if (!canAccessTenant(ctx.principal, tenantId))
    throw new GatewayError("NOT_FOUND", `Tenant ${tenantId} was not found.`);
  const billing = await effectiveBilling(ctx.db, ctx, tenantId);
  const start = DateTime.fromISO(`${month}-01`, { zone: billing.zone });
  if (!start.isValid) {
    throw new GatewayError("VALIDATION_FAILED", "The month must be YYYY-MM.", {
      errors: [{ path: "month", message: "expected YYYY-MM" }],
    });
  }
  const from = start.toJSDate();
  const to = start.plus({ months: 1 }).toJSDate();
  const entries = await billingEntries(ctx.db, tenantId);
  const options = {
    zone: billing.zone,
    contractStart: billing.contractStart,
    rolloverCap: billing.terms.incidentRolloverCap ?? DEFAULT_ROLLOVER_CAP,
  };
  const opening = deriveBalances(entries, { ...options, asOf: from });
  const closing = deriveBalances(entries, { ...options, asOf: to });
  const lines = entries.filter((e) => e.occurredAt >= from && e.occurredAt < to).map(lineOf);
  const monthOf = (isoDate: string) => isoDate.slice(0, 7);
  const billingPart = {
    currency: billing.terms.currency,
    incidents: {
      opening: opening.incidents.balance,
      purchased: closing.incidents.purchased - opening.incidents.purchased,
      consumed: closing.incidents.consumed - opening.incidents.consumed,
      rollovers: closing.incidents.rollovers.filter((r) => monthOf(r.yearStart) === month),
      remaining: closing.incidents.balance,
    },
    hours: {
      consumedMinutes: closing.hours.consumedMinutes - opening.hours.consumedMinutes,
      remainingMinutes: closing.hours.remainingMinutes,
      overdraftMinutes: closing.hours.overdraftMinutes,
      blocks: closing.hours.blocks,
    },
    timeAndMaterials: {
      chargedCents: closing.timeAndMaterials.chargedCents - opening.timeAndMaterials.chargedCents,
    },
    lines,
  };
  const breachRows = await ctx.db
    .select({
      sequence: ledgerEntries.sequence,
      ticketId: ledgerEntries.ticketId,
      detail: ledgerEntries.detail,
      occurredAt: ledgerEntries.occurredAt,
      priority: tickets.priority,
    })
    .from(ledgerEntries)
    .leftJoin(tickets, eq(tickets.id, ledgerEntries.ticketId))
    .where(
      and(
        eq(ledgerEntries.tenantId, tenantId),
        eq(ledgerEntries.kind, "sla.breached"),
        gte(ledgerEntries.occurredAt, from),
        lt(ledgerEntries.occurredAt, to),
      ),
    )
    .orderBy(asc(ledgerEntries.sequence));
  const sla = await slaReport(ctx, {
    from: from.toISOString(),
    to: to.toISOString(),
    groupBy: "priority",
    tenantId,
  });
  const chain = await verifyLedger(ctx.db, { tenantId });
  // The tenant's newest signed checkpoint: a client keeps it to prove later that the chain it saw still stands.
  const [checkpoint] = await latestCheckpoints(ctx.db, [tenantId]);
  return {
    tenantId,
    month,
    zone: billing.zone,
    from: from.toISOString(),
    to: to.toISOString(),
    plan: billing.plan,
    sla: {
      byPriority: sla.groups,
      breaches: breachRows.map((b) => ({
        sequence: b.sequence,
        ticketId: b.ticketId,
        priority: b.priority,
        clock: String(b.detail.clock),
        dueAt: String(b.detail.dueAt),
        reason: `${String(b.detail.clock)} target missed: due ${String(b.detail.dueAt)}, still unmet at ${String(b.detail.detectedAt)}`,
      })),
    },
    ...billingPart,
    billingDigest: sha256Hex(canonicalJson(billingPart)),
    chain: { verified: chain.ok, checked: chain.checked, firstBrokenSequence: chain.firstBrokenSequence },
    checkpoint: checkpoint ? checkpointToApi(checkpoint) : null,
  };
}

export type MonthlyStatement = Awaited<ReturnType<typeof monthlyStatement>>;

const esc = (text: unknown) => String(text ?? "").replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** A printable page; every value is escaped. */
export function statementHtml(s: MonthlyStatement): string {
  const rows = (cells: unknown[][]) =>
    cells.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Statement ${esc(s.tenantId)} ${esc(s.month)}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #999;padding:.2em .5em}@media print{body{margin:0}}</style></head><body>
<h1>Statement ${esc(s.month)}</h1>
<p>Tenant ${esc(s.tenantId)}, plan ${esc(s.plan)}, ${esc(s.from)} to ${esc(s.to)} (${esc(s.zone)}).</p>
<p>Ledger chain: ${s.chain.verified ? "verified" : `BROKEN at ${esc(s.chain.firstBrokenSequence)}`} (${esc(s.chain.checked)} entries). Billing digest ${esc(s.billingDigest)}.${s.checkpoint ? ` Signed checkpoint ${esc(s.checkpoint.id)} (key ${esc(s.checkpoint.keyId)}, ${esc(s.checkpoint.entries)} entries, root ${esc(s.checkpoint.root)}).` : ""}</p>
<h2>SLA compliance per priority</h2>
<table><tr><th>Priority</th><th>Tickets</th><th>Response met</th><th>Response breached</th><th>Resolution met</th><th>Resolution breached</th></tr>
${rows(s.sla.byPriority.map((g) => [g.group, g.tickets, g.responseMet, g.responseBreached, g.resolutionMet, g.resolutionBreached]))}</table>
<h2>Breaches</h2>
<table><tr><th>Seq</th><th>Ticket</th><th>Priority</th><th>Reason</th></tr>${rows(s.sla.breaches.map((b) => [b.sequence, b.ticketId, b.priority, b.reason]))}</table>
<h2>Entitlements</h2>
<table><tr><th></th><th>Opening</th><th>Purchased</th><th>Consumed</th><th>Remaining</th></tr>
${rows([
  ["Incidents", s.incidents.opening, s.incidents.purchased, s.incidents.consumed, s.incidents.remaining],
  ["Hours (minutes)", "", "", s.hours.consumedMinutes, s.hours.remainingMinutes],
])}</table>
<p>Rollover: ${s.incidents.rollovers.map((r) => `${esc(r.carried)} carried, ${esc(r.forfeited)} forfeited on ${esc(r.yearStart)}`).join("; ") || "none this month"}.
T&amp;M charges: ${esc((s.timeAndMaterials.chargedCents / 100).toFixed(2))} ${esc(s.currency)}.</p>
<h2>Lines</h2>
<table><tr><th>Seq</th><th>When</th><th>Ticket</th><th>Kind</th><th>Account</th><th>Rule</th><th>Delta</th><th>Unit</th><th>Source seq</th><th>Reverses</th></tr>
${rows(s.lines.map((l) => [l.sequence, l.occurredAt, l.ticketId, l.kind, l.account, l.rule, l.delta, l.unit, l.source, l.reverses]))}</table>
</body></html>`;
}
