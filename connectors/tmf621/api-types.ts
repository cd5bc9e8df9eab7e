import { z } from "@hono/zod-openapi";

// Shapes read from TMF621 v4.0.0 (Swagger 2.0, `definitions.TroubleTicket`) and v5.0.1 (OAS 3.0,
// `components.schemas.TroubleTicket_RES`). One lenient superset reads both: every field but `id` is
// optional in both specs, and carriers send nulls for absent values. Objects are loose so the notes we
// resend with a v4 merge PATCH keep every property the carrier gave them.
// https://github.com/tmforum-apis/TMF621_TroubleTicket

const optionalText = z.string().nullish();

export const tmfStatuses = [
  "acknowledged",
  "rejected",
  "pending",
  "held",
  "inProgress",
  "cancelled",
  "closed",
  "resolved",
] as const;
/** `TroubleTicketStatusType`, identical in v4 and v5. */
export type TmfStatus = (typeof tmfStatuses)[number];

export const TmfNote = z.looseObject({
  id: optionalText,
  author: optionalText,
  date: optionalText,
  text: optionalText,
});
export type TmfNote = z.infer<typeof TmfNote>;

/** v4 `StatusChange`. */
const StatusChangeV4 = z.looseObject({
  status: optionalText,
  changeDate: optionalText,
  changeReason: optionalText,
});
/** v5 `StatusChange` (renamed fields, in `statusChangeHistory`). */
const StatusChangeV5 = z.looseObject({
  status: optionalText,
  statusChangeDate: optionalText,
  statusChangeReason: optionalText,
});

export const TmfTroubleTicket = z.looseObject({
  id: z.string().min(1),
  href: optionalText,
  name: optionalText,
  status: optionalText,
  statusChangeReason: optionalText,
  statusChangeDate: optionalText,
  creationDate: optionalText,
  lastUpdate: optionalText,
  resolutionDate: optionalText,
  /** v4: one external id string. */
  externalId: optionalText,
  /** v5: external ids of every system the ticket passed through, most recent first. */
  externalIdentifier: z
    .array(z.looseObject({ id: optionalText, owner: optionalText, externalIdentifierType: optionalText }))
    .nullish(),
  statusChange: z.array(StatusChangeV4).nullish(),
  statusChangeHistory: z.array(StatusChangeV5).nullish(),
  note: z.array(TmfNote).nullish(),
});
export type TmfTroubleTicket = z.infer<typeof TmfTroubleTicket>;

export const TmfTroubleTicketList = z.array(TmfTroubleTicket);

/**
 * v4 `EventSubscription` / v5 `Hub`. v5 leaves `id` optional; without it the listener cannot be removed,
 * so the client falls back to the `Location` header.
 */
export const TmfHub = z.looseObject({
  id: z.string().min(1).nullish(),
  callback: z.string(),
  query: optionalText,
});

/** The TMF `Error` body (v5 adds `@type: "Error"`). */
export const TmfError = z.looseObject({
  code: z.string(),
  reason: z.string(),
  message: optionalText,
  status: optionalText,
});

/** The event envelope, v4 and v5: only what a notice needs is required. */
export const TmfEventEnvelope = z.looseObject({
  eventId: optionalText,
  eventTime: optionalText,
  eventType: optionalText,
  event: z.looseObject({
    troubleTicket: z.looseObject({ id: z.string().min(1) }),
  }),
});
export type TmfEventEnvelope = z.infer<typeof TmfEventEnvelope>;

/** Listener paths of the trouble ticket events (`/listener/<name>`), the same in v4 and v5. */
export const troubleTicketEventNames = [
  "troubleTicketCreateEvent",
  "troubleTicketAttributeValueChangeEvent",
  "troubleTicketStatusChangeEvent",
  "troubleTicketDeleteEvent",
  "troubleTicketResolvedEvent",
  "troubleTicketInformationRequiredEvent",
] as const;
export type TroubleTicketEventName = (typeof troubleTicketEventNames)[number];

/** v5 only: events about ticket specifications (the catalogue), which carry no trouble ticket. */
export const troubleTicketSpecificationEventNames = [
  "troubleTicketSpecificationCreateEvent",
  "troubleTicketSpecificationAttributeValueChangeEvent",
  "troubleTicketSpecificationStatusChangeEvent",
  "troubleTicketSpecificationDeleteEvent",
] as const;

/** `TroubleTicketStatusChangeEvent` travels to `/listener/troubleTicketStatusChangeEvent`. */
export function eventTypeOf(name: TroubleTicketEventName): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
