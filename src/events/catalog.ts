import type { EventType } from "../../schemas/event.js";
import type { StoredLedgerEntry } from "../ledger/entry-hash.js";

type Detail = Record<string, unknown>;

/** Queue priority of event jobs: with P1 ticket work, ahead of P2-P4, behind the SLA timers (0). */
export const eventJobPriority = 1;

/**
 * How one ledger kind becomes an event: its type, the data every provider subscription gets, and what a
 * tenant's subscription gets (`null`: nothing, the event is provider-internal).
 */
interface LedgerEventRule {
  type: EventType;
  data(detail: Detail, entry: Pick<StoredLedgerEntry, "kind" | "side" | "connectionId">): Detail;
  tenantData(detail: Detail, entry: Pick<StoredLedgerEntry, "kind" | "side">): Detail | null;
}

function pick(detail: Detail, keys: readonly string[]): Detail {
  return Object.fromEntries(keys.filter((k) => detail[k] !== undefined).map((k) => [k, detail[k]]));
}

const same = (keys: readonly string[]): Pick<LedgerEventRule, "data" | "tenantData"> => ({
  data: (detail) => pick(detail, keys),
  tenantData: (detail) => pick(detail, keys),
});

const providerOnly = (keys: readonly string[]): Pick<LedgerEventRule, "data" | "tenantData"> => ({
  data: (detail, entry) => ({ ...pick(detail, keys), connectionId: entry.connectionId }),
  tenantData: () => null,
});

// Delegation states as the ticket's client may see them: the state, never the carrier's name or status.
const delegationTo: Record<string, (detail: Detail) => unknown> = {
  "delegation.requested": () => "requested",
  "carrier.status_changed": (detail) => detail["to"],
  "carrier.rejected": () => "rejected",
  "carrier.failed": () => "failed",
};
const delegationChange: Pick<LedgerEventRule, "data" | "tenantData"> = {
  data: (detail, entry) => ({
    delegationId: detail["delegationId"],
    from: detail["from"] ?? null,
    to: delegationTo[entry.kind]?.(detail) ?? null,
    connectionId: entry.connectionId,
    ...pick(detail, ["carrier", "carrierStatus", "httpStatus", "businessSeconds"]),
  }),
  tenantData: (detail, entry) => ({
    delegationId: detail["delegationId"],
    from: detail["from"] ?? null,
    to: delegationTo[entry.kind]?.(detail) ?? null,
  }),
};

const slaWarning = ["clock", "cycle", "dueAt", "ratio", "businessSeconds"] as const;

/**
 * The one table from ledger kinds to events. A ledger entry of one of these kinds is an event, detected once
 * (the entry is written once, with the change) and identified by its sequence (`evt_<sequence>`).
 * `sla.warning`, `sla.update_due` and `connection.health_changed` are written by the SLA warning and
 * connection health work; their detail shapes are the ones agreed for them.
 */
export const ledgerEventRules = {
  "sla.at_risk": { type: "sla.at_risk", ...same(slaWarning) },
  // The earlier warnings (50 %, 75 %) are at-risk events with their own ratio.
  "sla.warning": { type: "sla.at_risk", ...same(slaWarning) },
  "sla.breached": { type: "sla.breached", ...same(["clock", "cycle", "dueAt", "detectedAt"]) },
  "sla.met": { type: "sla.met", ...same(["clock", "cycle", "reason", "metAt", "late", "businessSeconds"]) },
  "sla.update_due": { type: "sla.update_due", ...same(["clock", "cycle", "dueAt"]) },
  "ticket.created": { type: "ticket.created", ...same(["priority", "status"]) },
  "ticket.status_changed": { type: "ticket.status_changed", ...same(["from", "to"]) },
  "comment.added": {
    type: "comment.created",
    data: (detail, entry) => ({ ...pick(detail, ["commentId", "visibility"]), author: entry.side }),
    // Internal comments are the provider's notes (carrier notes among them): never sent to a tenant.
    tenantData: (detail, entry) =>
      detail["visibility"] === "public" ? { commentId: detail["commentId"], author: entry.side } : null,
  },
  "delegation.requested": { type: "delegation.status_changed", ...delegationChange },
  "carrier.status_changed": { type: "delegation.status_changed", ...delegationChange },
  "carrier.rejected": { type: "delegation.status_changed", ...delegationChange },
  "carrier.failed": { type: "delegation.status_changed", ...delegationChange },
  // The OLA is the provider's contract with its carrier, not the client's business.
  "carrier.ola_breached": {
    type: "carrier.ola_breached",
    ...providerOnly(["delegationId", "target", "businessSeconds", "targetSeconds", "detectedBy"]),
  },
  "sync.dead_lettered": {
    type: "dead_letter.created",
    ...providerOnly(["jobId", "job", "connector", "reason", "cause", "attempt"]),
  },
  "connection.health_changed": {
    type: "connection.health_changed",
    ...same(["connectionId", "from", "to", "reason"]),
  },
} as const satisfies Record<string, LedgerEventRule>;

export type EventLedgerKind = keyof typeof ledgerEventRules;

// Every event type has at least one ledger kind behind it (a type missing here fails `tsc`).
type Unsourced = Exclude<EventType, (typeof ledgerEventRules)[EventLedgerKind]["type"]>;
const everyTypeSourced: [Unsourced] extends [never] ? true : Unsourced = true;
void everyTypeSourced;

/**
 * The rule of a ledger entry that is an event, or null. A dead-lettered event job is not an event: a
 * subscriber that refuses deliveries would otherwise be sent a dead-letter event per refused delivery,
 * each of which could dead-letter in turn.
 */
export function eventRuleOf(entry: { kind: string; detail?: Detail | undefined }): LedgerEventRule | null {
  if (!Object.hasOwn(ledgerEventRules, entry.kind)) return null;
  if (entry.kind === "sync.dead_lettered" && isEventJobKind(entry.detail?.["job"])) return null;
  return ledgerEventRules[entry.kind as EventLedgerKind];
}

function isEventJobKind(kind: unknown): boolean {
  return typeof kind === "string" && kind.startsWith("event.");
}
