import { fromCanonical, type PriorityScheme, resolveScheme, toCanonical } from "../../schemas/priority.js";
import type { Priority } from "../../schemas/ticket.js";
import type {
  CarrierMapping,
  CarrierNote,
  CarrierTicket,
  CarrierTicketInput,
  DelegationState,
} from "../sdk/index.js";
import type {
  Note,
  RelatedContactInformation,
  TroubleTicket,
  TroubleTicketCreate,
  TroubleTicketStatus,
} from "./api-types.js";
import { type MefSonataSettings, observedImpactFor } from "./config.js";
import { mefSonataPriorityTable, mefSonataSeverityTable } from "./priority.js";

/**
 * The delegation cannot be sent as MEF requires it (e.g. no product to relate the ticket to).
 * Retrying cannot help, so it says so the way `HttpError` does.
 */
export class DelegationInputError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = "DelegationInputError";
  }
}

/**
 * MEF 124 v4 `TroubleTicketStatusType` -> delegation state, with the reason for each choice.
 * v4 has no `rejected` status: a seller refuses a ticket by answering the create with 422.
 */
export const mefStatusTable: readonly {
  carrier: TroubleTicketStatus;
  state: DelegationState;
  note?: string;
}[] = [
  {
    carrier: "acknowledged",
    state: "open",
    note: "Validated and accepted; the create response always says this",
  },
  { carrier: "inProgress", state: "in_progress" },
  {
    carrier: "pending",
    state: "pending",
    note: "The seller waits on the buyer (information or an appointment): a clock stop",
  },
  {
    carrier: "assessingCancellation",
    state: "in_progress",
    note: "Our cancel was accepted for assessment; the seller may still work on it until it says cancelled",
  },
  { carrier: "cancelled", state: "cancelled", note: "Terminal" },
  {
    carrier: "resolved",
    state: "resolved",
    note: "Awaits our close or reopen (or closes on the agreed timeout)",
  },
  {
    carrier: "reopened",
    state: "in_progress",
    note: "We rejected the resolution; the seller owes further action",
  },
  { carrier: "closed", state: "closed", note: "Terminal: confirmed by us or by timeout" },
];

const stateByStatus = new Map<string, DelegationState>(mefStatusTable.map((row) => [row.carrier, row.state]));

/**
 * The v4 state machine (MEF 124 §6.1.4 Figure 9, troubleTicketStates.puml): which status may follow
 * which. Buyer operations drive acknowledged|inProgress|pending -> assessingCancellation (cancel),
 * resolved -> closed (close) and resolved -> reopened (reopen); the seller drives the rest, including
 * resolved -> closed when the buyer does not answer in the agreed time.
 */
export const troubleTicketTransitions: Readonly<Record<TroubleTicketStatus, readonly TroubleTicketStatus[]>> =
  {
    acknowledged: ["inProgress", "assessingCancellation"],
    inProgress: ["pending", "resolved", "assessingCancellation"],
    pending: ["inProgress", "assessingCancellation"],
    assessingCancellation: ["cancelled"],
    resolved: ["closed", "reopened"],
    reopened: ["inProgress"],
    closed: [],
    cancelled: [],
  };

/** Statuses after which nothing more happens (no notifications, PATCH refused). */
export const terminalStatuses: ReadonlySet<string> = new Set<TroubleTicketStatus>(["closed", "cancelled"]);

/** MEF status -> delegation state; null for a value v4 does not define (flagged, not guessed). */
export function toDelegationState(status: string): DelegationState | null {
  return stateByStatus.get(status) ?? null;
}

export const mefSonataMapping: CarrierMapping = {
  toDelegationState,
  statuses: mefStatusTable,
};

/** The connection's priority and severity schemes: the built-in MEF tables with its overrides. */
export interface MefSchemes {
  priority: PriorityScheme;
  severity: PriorityScheme;
}

export function schemesFor(settings: MefSonataSettings): MefSchemes {
  return {
    priority: resolveScheme(mefSonataPriorityTable, settings.priorityScheme),
    severity: resolveScheme(mefSonataSeverityTable, settings.severityScheme),
  };
}

/** Canonical priority -> MEF `priority` and `severity`, both ranked the same way (see ./priority.ts). */
export function toMefPriorityAndSeverity(
  priority: Priority,
  schemes: MefSchemes,
): { priority: string; severity: string } {
  return {
    priority: fromCanonical(schemes.priority, priority).value,
    severity: fromCanonical(schemes.severity, priority).value,
  };
}

/** MEF `priority`/`sellerPriority` -> canonical, or null when the value is unknown. */
export function fromMefPriority(value: string, schemes: MefSchemes): Priority | null {
  const result = toCanonical(schemes.priority, value);
  return "priority" in result ? result.priority : null;
}

/** MEF `severity`/`sellerSeverity` -> canonical, or null when the value is unknown. */
export function fromMefSeverity(value: string, schemes: MefSchemes): Priority | null {
  const result = toCanonical(schemes.severity, value);
  return "priority" in result ? result.priority : null;
}

/** A buyer note as MEF requires it (R16: `source=buyer`); the id is ours, so a retry can find it. */
export function buyerNote(input: { id: string; text: string; author: string; date: Date }): Note {
  return {
    id: input.id,
    author: input.author,
    date: input.date.toISOString(),
    source: "buyer",
    text: input.text,
  };
}

/** The id of the note that opens a delegation: derived from the delegation, so a retried create reuses it. */
export function delegationNoteId(delegationId: string): string {
  return `${delegationId}-delegation`;
}

function reporterContact(input: CarrierTicketInput, settings: MefSonataSettings): RelatedContactInformation {
  const defaults = settings.reporterContact;
  const name = input.reporter.name.trim();
  return {
    emailAddress: input.reporter.email ?? defaults.emailAddress,
    name: name === "" ? defaults.name : name,
    number: input.reporter.phone ?? defaults.number,
    ...(defaults.organization === undefined ? {} : { organization: defaults.organization }),
    role: "reporterContact",
  };
}

function delegationNoteText(input: CarrierTicketInput): string {
  const lines = [
    input.reason === null || input.reason.trim() === "" ? null : `Reason: ${input.reason.trim()}`,
    `End customer: ${input.customer.name} (${input.customer.id})`,
    `Our references: ticket ${input.canonicalId}, delegation ${input.delegationId}`,
  ];
  return lines.filter((line) => line !== null).join("\n");
}

/**
 * `TroubleTicket_Create` for a delegation (MEF 124 §6.1.2, R9: description, observedImpact,
 * priority, severity, ticketType, a reporterContact and the related product are required).
 */
export function toTroubleTicketCreate(
  input: CarrierTicketInput,
  settings: MefSonataSettings,
  schemes: MefSchemes,
  now: Date,
): TroubleTicketCreate {
  if (input.service === null || input.service.id.trim() === "") {
    throw new DelegationInputError(
      `delegation ${input.delegationId} names no carrier service: MEF requires the product the trouble is about (relatedEntity)`,
    );
  }
  const description = input.description.trim();
  return {
    description:
      description === "" || description === input.title.trim()
        ? input.title
        : `${input.title}\n\n${description}`,
    externalId: input.delegationId,
    observedImpact: observedImpactFor(settings, input.priority),
    ...toMefPriorityAndSeverity(input.priority, schemes),
    ticketType: settings.ticketType,
    relatedContactInformation: [reporterContact(input, settings)],
    // MEF 124 knows only Product as the referred type (its default); our service type (circuit,
    // number range) has no MEF field and is not sent.
    relatedEntity: [{ "@referredType": "Product", id: input.service.id, role: "Issue Source" }],
    note: [
      buyerNote({
        id: delegationNoteId(input.delegationId),
        text: delegationNoteText(input),
        author: reporterContact(input, settings).name,
        date: now,
      }),
    ],
  };
}

/** An instant as ISO-8601 UTC, or null when absent or unreadable. */
export function isoUtc(value: string | undefined | null): string | null {
  if (value === undefined || value === null || value === "") return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : new Date(time).toISOString();
}

function latest(values: (string | null)[]): string | null {
  let best: string | null = null;
  for (const value of values) if (value !== null && (best === null || value > best)) best = value;
  return best;
}

/**
 * The ticket's last change. v4 has no `lastUpdate` (only the guide's example has it), so this is
 * the newest of the dates the ticket carries: status changes, notes, attachments, creation.
 */
export function updatedAtOf(ticket: TroubleTicket): string | null {
  return latest([
    isoUtc(ticket.lastUpdate),
    isoUtc(ticket.creationDate),
    isoUtc(ticket.resolutionDate),
    ...(ticket.statusChange ?? []).map((change) => isoUtc(change.changeDate)),
    ...(ticket.note ?? []).map((note) => isoUtc(note.date)),
    ...(ticket.attachment ?? []).map((attachment) => isoUtc(attachment.creationDate)),
  ]);
}

function statusChangesOldestFirst(ticket: TroubleTicket) {
  return [...(ticket.statusChange ?? [])]
    .map((change, index) => ({ ...change, at: isoUtc(change.changeDate), index }))
    .sort((a, b) => (a.at ?? "").localeCompare(b.at ?? "") || a.index - b.index);
}

function noteSource(source: string): CarrierNote["source"] {
  return source === "buyer" || source === "seller" ? source : null;
}

/** Notes as the engine reads them; a note id repeated in one ticket (ids are only locally unique) gets a suffix. */
export function toCarrierNotes(ticket: TroubleTicket): CarrierNote[] {
  const seen = new Map<string, number>();
  const fallbackDate = isoUtc(ticket.creationDate) ?? new Date(0).toISOString();
  return (ticket.note ?? []).map((note) => {
    const count = (seen.get(note.id) ?? 0) + 1;
    seen.set(note.id, count);
    return {
      externalId: count === 1 ? note.id : `${note.id}#${count}`,
      text: note.text,
      author: note.author === "" ? null : note.author,
      // `date` is required date-time; a seller sending garbage still gets its note read.
      createdAt: isoUtc(note.date) ?? fallbackDate,
      source: noteSource(note.source),
    };
  });
}

/** A retrieved `TroubleTicket`, normalised. */
export function toCarrierTicket(ticket: TroubleTicket): CarrierTicket {
  const changes = statusChangesOldestFirst(ticket);
  const lastChange = changes.at(-1);
  const state = toDelegationState(ticket.status);
  const resolvedChange = changes.filter((change) => change.status === "resolved").at(-1);
  return {
    externalId: ticket.id,
    correlationId: ticket.externalId ?? null,
    status: ticket.status,
    state,
    statusReason: lastChange?.changeReason ?? null,
    updatedAt: updatedAtOf(ticket),
    acknowledgedAt:
      changes.find((change) => change.status === "acknowledged")?.at ?? isoUtc(ticket.creationDate) ?? null,
    // A reopened ticket may keep its old resolutionDate; it only counts while resolved or closed.
    resolvedAt:
      state === "resolved" || state === "closed"
        ? (isoUtc(ticket.resolutionDate) ?? resolvedChange?.at ?? null)
        : null,
    notes: toCarrierNotes(ticket),
  };
}
