import type { Priority, TicketStatus } from "../../schemas/ticket.js";

/**
 * What we last knew a linked record held, in comparable form: the vendor's status value (lossy
 * statuses compare as vendor values), the canonical priority it reads as, title and description.
 * Inbound, a field equal to the snapshot is no change (our own write echoing back); outbound, a field
 * equal to the snapshot needs no write. Only real differences cross, so nothing ping-pongs.
 */
export interface LinkSnapshot {
  title?: string;
  description?: string;
  status?: string;
  priority?: Priority | null;
}

export interface ComparableTicket {
  title: string;
  /** "" for none: vendors store an empty description where we store null. */
  description: string;
  /** Vendor status value for the canonical status. */
  status: string;
  priority: Priority | null;
}

export type SnapshotField = keyof ComparableTicket;
export const snapshotFields: SnapshotField[] = ["title", "description", "status", "priority"];

/** Fields where `current` differs from the snapshot (an absent snapshot field counts as different). */
export function changedFields(snapshot: LinkSnapshot, current: ComparableTicket): SnapshotField[] {
  return snapshotFields.filter((field) => !(field in snapshot) || snapshot[field] !== current[field]);
}

export function comparableCanonical(
  ticket: { title: string; description: string | null; status: string; priority: Priority },
  vendorStatusOf: (status: TicketStatus) => string,
): ComparableTicket {
  return {
    title: ticket.title.trim(),
    description: (ticket.description ?? "").trim(),
    status: vendorStatusOf(ticket.status as TicketStatus),
    priority: ticket.priority,
  };
}
