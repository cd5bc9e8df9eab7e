/**
 * The ticket page's per-delegation OLA marks (pure): business time on the carrier's OLA calendar against its
 * targets, less the stretches the carrier waited on us, as the carrier report measures it.
 */
import { describe, expect, it } from "vitest";
import type { CarrierOptions } from "../../schemas/delegation.js";
import type { delegations } from "../../src/db/schema/index.js";
import { delegationOla } from "../../src/sync/carrier.js";

const t0 = Date.parse("2026-03-02T08:00:00Z"); // a Monday
const minute = 60_000;
const options: CarrierOptions = {
  resolveTicketOnCarrierResolution: false,
  relayStatusToClient: true,
  ola: {
    // Weekdays 08:00-18:00 UTC: business time stops overnight.
    calendar: {
      timezone: "UTC",
      hours: Object.fromEntries(["mon", "tue", "wed", "thu", "fri"].map((d) => [d, [["08:00", "18:00"]]])),
    },
    targets: { P1: { acknowledgeMinutes: 15, restoreMinutes: 240 } },
  },
} as CarrierOptions;

function delegation(
  overrides: Partial<typeof delegations.$inferSelect> = {},
): typeof delegations.$inferSelect {
  return {
    id: "dlg_1",
    ticketId: "tkt_1",
    tenantId: "ten_1",
    connectionId: "con_1",
    state: "open",
    carrierTicketId: "TT-1",
    carrierStatus: "acknowledged",
    reason: null,
    service: null,
    pauses: [],
    acknowledgedAt: null,
    resolvedAt: null,
    closedAt: null,
    breaches: [],
    createdAt: new Date(t0),
    updatedAt: new Date(t0),
    ...overrides,
  };
}

describe("delegation OLA marks", () => {
  it("an acknowledgement within the target is met; the restore clock still runs", () => {
    const ola = delegationOla(
      delegation({ acknowledgedAt: new Date(t0 + 10 * minute) }),
      options,
      "P1",
      t0 + 60 * minute,
    );
    expect(ola.acknowledge).toEqual({ targetSeconds: 900, businessSeconds: 600, state: "met" });
    expect(ola.restore).toEqual({ targetSeconds: 14_400, businessSeconds: 3600, state: "running" });
  });

  it("no acknowledgement past the target is breached before the breach is recorded", () => {
    const ola = delegationOla(delegation(), options, "P1", t0 + 20 * minute);
    expect(ola.acknowledge.state).toBe("breached");
    expect(ola.acknowledge.businessSeconds).toBe(1200);
  });

  it("counts business time only, without the carrier's waits on us", () => {
    // Delegated at 17:50; acknowledged at 08:10 the next day: 20 business minutes, less a 5-minute wait.
    const created = Date.parse("2026-03-02T17:50:00Z");
    const ola = delegationOla(
      delegation({
        createdAt: new Date(created),
        acknowledgedAt: new Date(Date.parse("2026-03-03T08:10:00Z")),
        pauses: [{ from: created + minute, to: created + 6 * minute }],
      }),
      options,
      "P1",
      Date.parse("2026-03-03T09:00:00Z"),
    );
    expect(ola.acknowledge).toEqual({ targetSeconds: 900, businessSeconds: 900, state: "met" });
  });

  it("a recorded breach stays a breach; a priority without a target has none", () => {
    const recorded = delegation({ acknowledgedAt: new Date(t0 + minute), breaches: ["acknowledge"] });
    expect(delegationOla(recorded, options, "P1", t0 + 2 * minute).acknowledge.state).toBe("breached");
    const untargeted = delegationOla(delegation(), options, "P3", t0 + 600 * minute);
    expect(untargeted.acknowledge).toMatchObject({ targetSeconds: null, state: "none" });
    expect(untargeted.restore.state).toBe("none");
  });
});
