import { openStatuses, type TicketStatus, ticketStatuses } from "../../schemas/ticket.js";

const openSet = new Set<TicketStatus>(openStatuses);

export function isOpenStatus(status: TicketStatus): boolean {
  return openSet.has(status);
}

/**
 * The lifecycle: an open state may move to any other open state except back to `new`, and to
 * resolved or cancelled; resolved may reopen (to in_progress) or close; closed and cancelled are terminal.
 */
export function isAllowedTransition(from: TicketStatus, to: TicketStatus): boolean {
  if (from === to) return false;
  if (isOpenStatus(from))
    return (isOpenStatus(to) && to !== "new") || to === "resolved" || to === "cancelled";
  if (from === "resolved") return to === "in_progress" || to === "closed";
  return false;
}

/** What a tenant key may do itself: cancel, reopen a resolved ticket, close it. */
export function isClientTransition(from: TicketStatus, to: TicketStatus): boolean {
  if (!isAllowedTransition(from, to)) return false;
  if (to === "cancelled") return true;
  return from === "resolved" && (to === "in_progress" || to === "closed");
}

/** The full table, for docs and tests. */
export function transitionTable(): Record<TicketStatus, TicketStatus[]> {
  const table = {} as Record<TicketStatus, TicketStatus[]>;
  for (const from of ticketStatuses)
    table[from] = ticketStatuses.filter((to) => isAllowedTransition(from, to));
  return table;
}
