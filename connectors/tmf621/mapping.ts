import { createHash } from "node:crypto";
import {
  fromCanonical,
  type PriorityScheme,
  type PrioritySchemeTable,
  resolveScheme,
  toCanonical,
} from "../../schemas/priority.js";
import type { Priority } from "../../schemas/ticket.js";
import type {
  CarrierMapping,
  CarrierNote,
  CarrierTicket,
  CarrierTicketInput,
  DelegationState,
} from "../sdk/index.js";
import type { TmfNote, TmfStatus, TmfTroubleTicket } from "./api-types.js";
import type { Tmf621Settings, Tmf621Version } from "./config.js";
import { tmf621PriorityTable } from "./priority.js";

// Payload shapes: TMF621 v4.0.0 `TroubleTicket_Create` / `TroubleTicket_Update` and v5.0.1
// `TroubleTicket_FVO` / `TroubleTicket_MVO`. Every v5 object extends `Extensible`, which requires `@type`.
// https://github.com/tmforum-apis/TMF621_TroubleTicket

type JsonObject = Record<string, unknown>;

/** TMF status -> delegation state. The enum is the same in v4 and v5; the OAS calls its states an example. */
export const tmf621Statuses: readonly { carrier: string; state: DelegationState; note?: string }[] = [
  {
    carrier: "",
    state: "requested",
    note: "no status yet: the carrier holds the ticket but has not acknowledged it",
  },
  { carrier: "acknowledged", state: "open" },
  { carrier: "inProgress", state: "in_progress" },
  {
    carrier: "held",
    state: "in_progress",
    note: "lossy: the carrier parked it (third party, maintenance window); not waiting on us, so no clock stop",
  },
  { carrier: "pending", state: "pending", note: "the carrier waits for information from us" },
  { carrier: "resolved", state: "resolved" },
  { carrier: "closed", state: "closed" },
  { carrier: "cancelled", state: "cancelled" },
  { carrier: "rejected", state: "rejected" },
] satisfies readonly { carrier: TmfStatus | ""; state: DelegationState; note?: string }[];

const statesByStatus = new Map(tmf621Statuses.map((row) => [row.carrier.toLowerCase(), row.state]));

/** Case-insensitive exact match; anything else is unknown (null), never the nearest guess. */
export function toDelegationState(carrierStatus: string): DelegationState | null {
  return statesByStatus.get(carrierStatus.trim().toLowerCase()) ?? null;
}

export const tmf621Mapping: CarrierMapping = { toDelegationState, statuses: tmf621Statuses };

/**
 * TMF621's own severity examples ("Critical, Major, Minor"). Canonical Cosmetic has no fourth value, so P4
 * goes out as Minor and reads back as P3 (lossy). Not in `schemas/priority-schemes.ts`, which has only the
 * priority table, so it lives here.
 */
export const tmf621DefaultSeverityTable: PrioritySchemeTable = {
  id: "tmf621-severity-default",
  source: "TMF621 TroubleTicket.severity example values; carriers override per connection",
  field: "severity",
  values: [
    { value: "Critical", priority: "P1" },
    { value: "Major", priority: "P2" },
    { value: "Minor", priority: "P3" },
  ],
  outbound: { P1: "Critical", P2: "Major", P3: "Minor", P4: "Minor" },
};

export function prioritySchemeOf(settings: Pick<Tmf621Settings, "priorityTable">): PriorityScheme {
  return resolveScheme(tmf621PriorityTable, settings.priorityTable);
}

export function severitySchemeOf(settings: Pick<Tmf621Settings, "severityTable">): PriorityScheme {
  return resolveScheme(tmf621DefaultSeverityTable, settings.severityTable);
}

/** Reads a carrier priority or severity value; null when the table does not know it. */
export function readPriority(scheme: PriorityScheme, value: string | null | undefined): Priority | null {
  if (value === null || value === undefined || value.trim() === "") return null;
  const result = toCanonical(scheme, value);
  return "priority" in result ? result.priority : null;
}

/** The settings the payload builders read. */
export type PayloadSettings = Pick<
  Tmf621Settings,
  | "version"
  | "ticketType"
  | "relatedPartyRoles"
  | "serviceRole"
  | "externalIdentifierOwner"
  | "noteAuthorTag"
  | "priorityTable"
  | "severityTable"
>;

/** The author we write: the person, tagged so our notes can be told from the carrier's. */
export function noteAuthor(author: string, settings: Pick<Tmf621Settings, "noteAuthorTag">): string {
  return `${author.trim()} (${settings.noteAuthorTag})`;
}

export function isOwnNote(note: TmfNote, settings: Pick<Tmf621Settings, "noteAuthorTag">): boolean {
  return note.author?.endsWith(` (${settings.noteAuthorTag})`) ?? false;
}

/** A new note in the version's shape: v5 `Note` extends `Extensible`, so it needs `@type`. */
export function buildNote(
  version: Tmf621Version,
  note: { author: string; text: string },
  settings: Pick<Tmf621Settings, "noteAuthorTag">,
  now: Date,
): JsonObject {
  const body: JsonObject = {
    author: noteAuthor(note.author, settings),
    date: now.toISOString(),
    text: note.text,
  };
  return version === "v5" ? { ...body, "@type": "Note" } : body;
}

function descriptionOf(input: CarrierTicketInput): string {
  const contact = [input.reporter.name, input.reporter.email, input.reporter.phone]
    .filter((part): part is string => part !== null && part.trim() !== "")
    .join(", ");
  // TMF party references carry no contact medium, so the reporter's details travel in the text.
  return [
    input.description.trim(),
    "",
    "--",
    `Provider reference: ${input.canonicalId} (delegation ${input.delegationId})`,
    `Contact: ${contact}`,
  ].join("\n");
}

/**
 * `POST /troubleTicket` body. Our delegation id is the external id (v4 `externalId`, v5
 * `externalIdentifier[]`) that create-or-link looks for.
 */
export function buildCreateBody(input: CarrierTicketInput, settings: PayloadSettings, now: Date): JsonObject {
  const v5 = settings.version === "v5";
  const typed = (type: string, body: JsonObject): JsonObject => (v5 ? { ...body, "@type": type } : body);
  // The reporter is a person, not a party the carrier knows, so the e-mail (or the name) is the best id we have.
  const reporterId = input.reporter.email ?? input.reporter.name;
  const parties = [
    {
      role: settings.relatedPartyRoles.customer,
      id: input.customer.id,
      name: input.customer.name,
      referredType: "Organization",
    },
    {
      role: settings.relatedPartyRoles.reporter,
      id: reporterId,
      name: input.reporter.name,
      referredType: "Individual",
    },
  ];
  const relatedParty = parties.map((party) =>
    v5
      ? {
          role: party.role,
          partyOrPartyRole: {
            id: party.id,
            name: party.name,
            "@type": "PartyRef",
            "@referredType": party.referredType,
          },
          "@type": "RelatedPartyRefOrPartyRoleRef",
        }
      : { id: party.id, name: party.name, role: party.role, "@referredType": party.referredType },
  );

  const body: JsonObject = {
    name: input.title,
    description: descriptionOf(input),
    severity: fromCanonical(severitySchemeOf(settings), input.priority).value,
    priority: fromCanonical(prioritySchemeOf(settings), input.priority).value,
    ticketType: settings.ticketType,
    relatedParty,
  };
  if (v5) {
    body["externalIdentifier"] = [
      {
        id: input.delegationId,
        owner: settings.externalIdentifierOwner,
        externalIdentifierType: "Delegation",
        "@type": "ExternalIdentifier",
      },
    ];
  } else {
    body["externalId"] = input.delegationId;
  }
  if (input.service !== null) {
    const referredType = input.service.type ?? "Service";
    body["relatedEntity"] = [
      v5
        ? {
            role: settings.serviceRole,
            entity: { id: input.service.id, "@type": "EntityRef", "@referredType": referredType },
            "@type": "RelatedEntity",
          }
        : { id: input.service.id, role: settings.serviceRole, "@referredType": referredType },
    ];
  }
  if (input.reason !== null && input.reason.trim() !== "") {
    body["note"] = [
      buildNote(settings.version, { author: input.reporter.name, text: input.reason.trim() }, settings, now),
    ];
  }
  return typed("TroubleTicket", body);
}

/** A merge PATCH body (v4 `TroubleTicket_Update`, v5 `TroubleTicket_MVO`, which needs `@type`). */
export function buildMergePatch(version: Tmf621Version, fields: JsonObject): JsonObject {
  return version === "v5" ? { ...fields, "@type": "TroubleTicket" } : fields;
}

/** The status PATCH cancel, close and reopen send; TMF621 has no task resources for them. */
export function buildStatusPatch(
  version: Tmf621Version,
  status: TmfStatus,
  reason: string | null,
): JsonObject {
  return buildMergePatch(version, reason === null ? { status } : { status, statusChangeReason: reason });
}

/**
 * The JSON Patch (RFC 6902) that appends one note. `/note/-` needs the array to exist, so a ticket without
 * notes gets the array itself added.
 */
export function buildNoteJsonPatch(existingNotes: readonly unknown[] | null, note: JsonObject): JsonObject[] {
  return existingNotes === null
    ? [{ op: "add", path: "/note", value: [note] }]
    : [{ op: "add", path: "/note/-", value: note }];
}

/** `POST /hub` body: v4 `EventSubscriptionInput`, v5 `Hub_FVO`. */
export function buildHubBody(
  version: Tmf621Version,
  callback: string,
  query: string | undefined,
): JsonObject {
  const body: JsonObject = query === undefined ? { callback } : { callback, query };
  return version === "v5" ? { ...body, "@type": "Hub" } : body;
}

/** Whether a carrier ticket carries our delegation id (v4 `externalId`, v5 any `externalIdentifier[].id`). */
export function carriesExternalId(
  record: TmfTroubleTicket,
  delegationId: string,
  version: Tmf621Version,
): boolean {
  if (version === "v4") return record.externalId === delegationId;
  return (record.externalIdentifier ?? []).some((identifier) => identifier.id === delegationId);
}

/** ISO-8601 UTC, or null for a missing or unreadable date. */
export function toUtcIso(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === "") return null;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : new Date(parsed).toISOString();
}

function correlationIdOf(
  record: TmfTroubleTicket,
  settings: Pick<Tmf621Settings, "version" | "externalIdentifierOwner">,
) {
  if (settings.version === "v4") return record.externalId ?? null;
  const ours = (record.externalIdentifier ?? []).find(
    (identifier) => identifier.owner === settings.externalIdentifierOwner,
  );
  return ours?.id ?? null;
}

/** Status history as `{status, date}` whichever version's field and names carry it. */
function historyOf(record: TmfTroubleTicket): { status: string; date: string | null }[] {
  const v4 = (record.statusChange ?? []).map((change) => ({
    status: change.status ?? "",
    date: toUtcIso(change.changeDate),
  }));
  const v5 = (record.statusChangeHistory ?? []).map((change) => ({
    status: change.status ?? "",
    date: toUtcIso(change.statusChangeDate),
  }));
  return [...v4, ...v5];
}

function firstDateOf(history: { status: string; date: string | null }[], status: TmfStatus): string | null {
  return history.find((change) => change.status === status && change.date !== null)?.date ?? null;
}

function lastDateOf(history: { status: string; date: string | null }[], status: TmfStatus): string | null {
  return history.findLast((change) => change.status === status && change.date !== null)?.date ?? null;
}

export function toCarrierNote(note: TmfNote, settings: Pick<Tmf621Settings, "noteAuthorTag">): CarrierNote {
  const author = note.author ?? null;
  const createdAt = toUtcIso(note.date);
  const text = note.text ?? "";
  const externalId =
    note.id ??
    `sha256:${createHash("sha256")
      .update(`${author ?? ""}\u0000${note.date ?? ""}\u0000${text}`)
      .digest("hex")
      .slice(0, 32)}`;
  return {
    externalId,
    text,
    author,
    // A note without a date gets the epoch so it sorts first instead of pretending to be new.
    createdAt: createdAt ?? new Date(0).toISOString(),
    source: isOwnNote(note, settings) ? "buyer" : "seller",
  };
}

/** A carrier ticket read back, normalised. */
export function toCarrierTicket(
  record: TmfTroubleTicket,
  settings: Pick<Tmf621Settings, "version" | "externalIdentifierOwner" | "noteAuthorTag">,
): CarrierTicket {
  const status = record.status ?? "";
  const history = historyOf(record);
  const statusDate = toUtcIso(record.statusChangeDate);
  return {
    externalId: record.id,
    correlationId: correlationIdOf(record, settings),
    status,
    state: toDelegationState(status),
    statusReason: record.statusChangeReason ?? null,
    updatedAt: toUtcIso(record.lastUpdate),
    acknowledgedAt: firstDateOf(history, "acknowledged") ?? (status === "acknowledged" ? statusDate : null),
    resolvedAt:
      toUtcIso(record.resolutionDate) ??
      lastDateOf(history, "resolved") ??
      (status === "resolved" ? statusDate : null),
    notes: (record.note ?? []).map((note) => toCarrierNote(note, settings)),
  };
}
