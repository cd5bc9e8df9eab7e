import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TicketStatus, ticketStatuses } from "../../schemas/ticket.js";
import { isAllowedTransition, isClientTransition, transitionTable } from "../../src/domain/ticket-status.js";
import { createTenant, createTestApp, openTicket, type TestContext } from "../harness.js";

// The documented lifecycle, written out by hand (docs/tickets.md) rather than derived from the code.
const expected: Record<TicketStatus, TicketStatus[]> = {
  new: [
    "acknowledged",
    "in_progress",
    "pending_customer",
    "pending_carrier",
    "on_hold",
    "resolved",
    "cancelled",
  ],
  acknowledged: ["in_progress", "pending_customer", "pending_carrier", "on_hold", "resolved", "cancelled"],
  in_progress: ["acknowledged", "pending_customer", "pending_carrier", "on_hold", "resolved", "cancelled"],
  pending_customer: ["acknowledged", "in_progress", "pending_carrier", "on_hold", "resolved", "cancelled"],
  pending_carrier: ["acknowledged", "in_progress", "pending_customer", "on_hold", "resolved", "cancelled"],
  on_hold: ["acknowledged", "in_progress", "pending_customer", "pending_carrier", "resolved", "cancelled"],
  resolved: ["in_progress", "closed"],
  closed: [],
  cancelled: [],
};

/** A path of legal provider moves from new to each state. */
const pathTo: Record<TicketStatus, TicketStatus[]> = {
  new: [],
  acknowledged: ["acknowledged"],
  in_progress: ["in_progress"],
  pending_customer: ["pending_customer"],
  pending_carrier: ["pending_carrier"],
  on_hold: ["on_hold"],
  resolved: ["resolved"],
  closed: ["resolved", "closed"],
  cancelled: ["cancelled"],
};

describe("status lifecycle (pure)", () => {
  it("matches the documented table", () => {
    const table = transitionTable();
    for (const from of ticketStatuses)
      expect([...table[from]].sort(), from).toEqual([...expected[from]].sort());
  });

  it("lets clients only cancel, reopen a resolved ticket, or close it", () => {
    for (const from of ticketStatuses) {
      for (const to of ticketStatuses) {
        const clientMay = isAllowedTransition(from, to) && (to === "cancelled" || from === "resolved");
        expect(isClientTransition(from, to), `${from} -> ${to}`).toBe(clientMay);
      }
    }
  });
});

let ctx: TestContext;
let tenant: Awaited<ReturnType<typeof createTenant>>;
beforeAll(async () => {
  ctx = await createTestApp();
  tenant = await createTenant(ctx);
});
afterAll(async () => ctx?.close());

async function ticketIn(status: TicketStatus) {
  const ticket = await openTicket(tenant.client);
  for (const step of pathTo[status]) {
    const res = await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { status: step });
    if (res.status !== 200) throw new Error(`setup ${step}: ${res.text}`);
  }
  return ticket.id;
}

describe("PATCH /v1/tickets/:id status, every pair, over HTTP", () => {
  for (const from of ticketStatuses) {
    it(`from ${from}`, async () => {
      for (const to of ticketStatuses) {
        if (to === from) continue;
        const id = await ticketIn(from);
        const provider = await ctx.admin.patch(`/v1/tickets/${id}`, { status: to });
        const allowed = expected[from].includes(to);
        expect(provider.status, `provider ${from} -> ${to}: ${provider.text}`).toBe(allowed ? 200 : 409);
        if (allowed) expect(provider.body.status).toBe(to);

        const again = await ticketIn(from);
        const asClient = await tenant.client.patch(`/v1/tickets/${again}`, { status: to });
        const clientStatus = !allowed ? 409 : isClientTransition(from, to) ? 200 : 403;
        expect(asClient.status, `client ${from} -> ${to}: ${asClient.text}`).toBe(clientStatus);
      }
    });
  }
});
