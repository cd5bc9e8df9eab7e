import type { ExternalTicket } from "../../connectors/sdk/index.js";

/**
 * Each link keeps two baselines taken at the last sync: what the vendor record held (in the vendor's own
 * values) and what the canonical ticket held. Inbound, only fields whose vendor value moved off the vendor
 * baseline are applied, so our own writes echoing back change nothing; outbound, only fields whose canonical
 * value moved off the canonical baseline are written. A field moved on both sides is a conflict, settled by
 * the later update time. Nothing ping-pongs, and a human edit in between is a real move and syncs.
 */
export interface Comparable {
  title: string;
  /** "" for none: vendors store an empty description where we store null. */
  description: string;
  status: string;
  priority: string | null;
}

export interface LinkBaselines {
  vendor?: Partial<Comparable>;
  canonical?: Partial<Comparable>;
}

export type SyncedField = keyof Comparable;
export const syncedFields: SyncedField[] = ["title", "description", "status", "priority"];

/** Fields where `current` moved off `baseline` (a field missing from the baseline counts as moved). */
export function movedFields(baseline: Partial<Comparable> | undefined, current: Comparable): SyncedField[] {
  return syncedFields.filter(
    (field) => !baseline || !(field in baseline) || baseline[field] !== current[field],
  );
}

export function comparableCanonical(ticket: {
  title: string;
  description: string | null;
  status: string;
  priority: string;
}): Comparable {
  return {
    title: ticket.title.trim(),
    description: (ticket.description ?? "").trim(),
    status: ticket.status,
    priority: ticket.priority,
  };
}

/** The vendor record in its own values (status and priority as the vendor names them). */
export function comparableVendor(
  external: Pick<ExternalTicket, "title" | "description" | "status" | "priority">,
): Comparable {
  return {
    title: external.title.trim(),
    description: (external.description ?? "").trim(),
    status: external.status,
    priority: external.priority,
  };
}
