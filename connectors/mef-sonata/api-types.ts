import { z } from "@hono/zod-openapi";
import type { ObservedImpact, TroubleTicketType } from "./config.js";

// Shapes of MEF 124 v4 Trouble Ticket Management payloads, from the official OAS
// (MEF-GIT/MEF-LSO-Sonata-SDK productApi/troubleTicket/troubleTicketManagement.api.yaml).
// Reads are lenient where a seller's drift must not make a ticket unreadable: enums are read
// as strings and flagged by the mapping, and objects keep unknown keys (`looseObject`) because
// notes are resent verbatim on PATCH and must not lose anything a seller added.

/** `Note`: every field is required by the schema. */
export const Note = z.looseObject({
  id: z.string(),
  author: z.string(),
  date: z.string(),
  source: z.string(),
  text: z.string(),
});
export type Note = z.infer<typeof Note>;

export const TroubleTicketStatusChange = z.looseObject({
  changeDate: z.string().optional(),
  changeReason: z.string().optional(),
  status: z.string().optional(),
});

/** `TroubleTicket` as returned by create, retrieve and patch. */
export const TroubleTicket = z.looseObject({
  id: z.string().min(1),
  href: z.string().optional(),
  externalId: z.string().optional(),
  status: z.string(),
  description: z.string().optional(),
  creationDate: z.string().optional(),
  expectedResolutionDate: z.string().optional(),
  resolutionDate: z.string().optional(),
  /** Not in the v4 schema, but in the developer guide's example response; used when present. */
  lastUpdate: z.string().optional(),
  priority: z.string().optional(),
  severity: z.string().optional(),
  sellerPriority: z.string().optional(),
  sellerSeverity: z.string().optional(),
  note: z.array(Note).optional(),
  statusChange: z.array(TroubleTicketStatusChange).optional(),
  attachment: z.array(z.looseObject({ creationDate: z.string().optional() })).optional(),
});
export type TroubleTicket = z.infer<typeof TroubleTicket>;

/** `TroubleTicket_Find`: a list item of `GET /troubleTicket`. */
export const TroubleTicketFind = z.looseObject({
  id: z.string().min(1),
  externalId: z.string().optional(),
  status: z.string().optional(),
  creationDate: z.string().optional(),
});
export type TroubleTicketFind = z.infer<typeof TroubleTicketFind>;
export const TroubleTicketFindList = z.array(TroubleTicketFind);

/** `EventSubscription`: the answer to `POST /hub`. */
export const EventSubscription = z.looseObject({
  id: z.string().min(1),
  callback: z.string(),
  query: z.string().optional(),
});

/** 204 answers (tasks, hub delete) have no body; the HTTP client passes `undefined`. */
export const NoContent = z.unknown();

/** `RelatedContactInformation` (emailAddress, name, number and role required). */
export interface RelatedContactInformation {
  emailAddress: string;
  name: string;
  number: string;
  numberExtension?: string;
  organization?: string;
  role: string;
}

/** `RelatedEntity` (`@referredType`, id and role required). */
export interface RelatedEntity {
  "@referredType": string;
  id: string;
  role: string;
  href?: string;
}

/** `TroubleTicket_Create` (= `TroubleTicket_Common`), the fields we send. */
export interface TroubleTicketCreate {
  description: string;
  externalId: string;
  observedImpact: ObservedImpact;
  priority: string;
  severity: string;
  ticketType: TroubleTicketType;
  relatedContactInformation: RelatedContactInformation[];
  relatedEntity: [RelatedEntity];
  note: Note[];
}

/** `TroubleTicket_Update`, the part we send: `note` (append only, R29). */
export interface TroubleTicketNoteUpdate {
  note: Note[];
}

/** `EventSubscriptionInput`. */
export interface EventSubscriptionInput {
  callback: string;
  query?: string;
}

/** MEF 124 `TroubleTicketStatusType`, all eight values of v4. */
export const troubleTicketStatuses = [
  "acknowledged",
  "inProgress",
  "pending",
  "assessingCancellation",
  "cancelled",
  "resolved",
  "reopened",
  "closed",
] as const;
export type TroubleTicketStatus = (typeof troubleTicketStatuses)[number];

/** The notification API's listener paths: `TroubleTicketEventType` plus `IncidentEventType`. */
export const troubleTicketEventTypes = [
  "troubleTicketAttributeValueChangeEvent",
  "troubleTicketStatusChangeEvent",
  "troubleTicketResolvedEvent",
  "troubleTicketInformationRequiredEvent",
] as const;
export type TroubleTicketEventType = (typeof troubleTicketEventTypes)[number];
export const incidentEventTypes = [
  "incidentCreateEvent",
  "incidentAttributeValueChangeEvent",
  "incidentStatusChangeEvent",
] as const;
export type IncidentEventType = (typeof incidentEventTypes)[number];
export type EventType = TroubleTicketEventType | IncidentEventType;

/** `TroubleTicketEvent` / `IncidentEvent` as the seller posts them; the payload carries only the id. */
export const NotificationEvent = z.object({
  eventId: z.string().min(1),
  eventTime: z.iso.datetime({ offset: true }),
  eventType: z.string(),
  event: z.object({
    id: z.string().min(1),
    href: z.string().optional(),
    buyerId: z.string().optional(),
    sellerId: z.string().optional(),
  }),
});
export type NotificationEvent = z.infer<typeof NotificationEvent>;
