import { describe, expect, it } from "vitest";
import { type BillingEntry, deriveBalances } from "../../src/billing/balances.js";
import { evaluateBillingRules } from "../../src/billing/units.js";
import { getPlan, loadPlanCatalog } from "../../src/sla/catalog.js";

const catalog = loadPlanCatalog();
const billingOf = (id: string) => {
  const billing = getPlan(catalog, id)?.billing;
  if (!billing) throw new Error(`plan ${id} has no billing`);
  return billing;
};

describe("seed 003 rules from the catalog (helpdesk-incidents)", () => {
  const { rules, terms } = billingOf("helpdesk-incidents");

  it("charges one incident at handover", () => {
    expect(evaluateBillingRules(rules, terms, { event: "handover" })).toEqual([
      { rule: "handover", account: "incidents", unit: "incident", quantity: 1 },
    ]);
  });

  it.each([
    [20, 2],
    [60, 2],
    [61, 3],
    [90, 3],
    [91, 4],
  ])("an appointment of %i minutes charges %i incidents", (minutes, incidents) => {
    const units = evaluateBillingRules(rules, terms, {
      event: "appointment_concluded",
      durationMinutes: minutes,
    });
    expect(units).toEqual([
      { rule: "appointment", account: "incidents", unit: "incident", quantity: incidents },
    ]);
  });

  it("caps rollover at fifteen", () => {
    expect(terms.incidentRolloverCap).toBe(15);
  });
});

describe("seed 000 rules from the catalog", () => {
  it("T&M bills billable work-log time at the rate, trip fee and travel time", () => {
    const { rules, terms } = billingOf("roi-time-and-materials");
    const t = { ...terms, hourlyRateCents: 12_000, tripFeeCents: 7_500 };
    expect(evaluateBillingRules(rules, t, { event: "worklog", durationMinutes: 45, billable: true })).toEqual(
      [{ rule: "labor", account: "time_and_materials", unit: "cent", quantity: 9_000 }],
    );
    expect(
      evaluateBillingRules(rules, t, { event: "worklog", durationMinutes: 45, billable: false }),
    ).toEqual([]);
    expect(evaluateBillingRules(rules, t, { event: "dispatch", travelMinutes: 30 })).toEqual([
      { rule: "trip-fee", account: "time_and_materials", unit: "cent", quantity: 7_500 },
      { rule: "travel-time", account: "time_and_materials", unit: "cent", quantity: 6_000 },
    ]);
  });

  it("SPP-SA bills no trip fee or travel time", () => {
    const { rules, terms } = billingOf("roi-protection-plan-advantage");
    const t = { ...terms, hourlyRateCents: 12_000, tripFeeCents: 7_500 };
    expect(evaluateBillingRules(rules, t, { event: "dispatch", travelMinutes: 30 })).toEqual([]);
  });

  it("block of hours draws billable work-log minutes", () => {
    const { rules, terms } = billingOf("roi-block-of-hours");
    expect(
      evaluateBillingRules(rules, terms, { event: "worklog", durationMinutes: 50, billable: true }),
    ).toEqual([{ rule: "block-time", account: "hours", unit: "minute", quantity: 50 }]);
  });
});

let seq = 0;
const entry = (at: string, kind: string, detail: Record<string, unknown>): BillingEntry => ({
  sequence: ++seq,
  occurredAt: new Date(at),
  kind,
  ticketId: null,
  detail,
});

describe("deriveBalances", () => {
  const zone = "America/New_York";

  it("rolls over at most fifteen incidents at the calendar year boundary (tenant zone)", () => {
    const entries = [
      entry("2026-01-10T15:00:00Z", "billing.purchased", { account: "incidents", delta: 25 }),
      entry("2026-06-01T15:00:00Z", "billing.consumed", { account: "incidents", delta: -3 }),
    ];
    const opts = { zone, contractStart: null, rolloverCap: 15 };
    // 2027-01-01T04:59Z is still 2026 in New York.
    expect(
      deriveBalances(entries, { ...opts, asOf: new Date("2027-01-01T04:59:00Z") }).incidents.balance,
    ).toBe(22);
    const next = deriveBalances(entries, { ...opts, asOf: new Date("2027-01-01T05:01:00Z") });
    expect(next.incidents.balance).toBe(15);
    expect(next.incidents.rollovers).toEqual([{ yearStart: "2027-01-01", carried: 15, forfeited: 7 }]);
    // Below the cap everything carries; two idle years cap each time.
    const small = [entry("2026-02-01T15:00:00Z", "billing.purchased", { account: "incidents", delta: 4 })];
    expect(
      deriveBalances(small, { ...opts, asOf: new Date("2028-06-01T00:00:00Z") }).incidents,
    ).toMatchObject({
      balance: 4,
      rollovers: [
        { yearStart: "2027-01-01", carried: 4, forfeited: 0 },
        { yearStart: "2028-01-01", carried: 4, forfeited: 0 },
      ],
    });
  });

  it("runs contract years from the contract start date", () => {
    const entries = [entry("2026-03-01T15:00:00Z", "billing.purchased", { account: "incidents", delta: 20 })];
    const opts = { zone, contractStart: "2025-07-15", rolloverCap: 15 };
    expect(
      deriveBalances(entries, { ...opts, asOf: new Date("2026-07-15T03:00:00Z") }).incidents.balance,
    ).toBe(20);
    const after = deriveBalances(entries, { ...opts, asOf: new Date("2026-07-15T05:00:00Z") });
    expect(after.incidents.rollovers).toEqual([{ yearStart: "2026-07-15", carried: 15, forfeited: 5 }]);
  });

  it("undoes a reversed consumption at the reversal's time; hours go back to their block", () => {
    const buy = entry("2026-01-02T15:00:00Z", "billing.purchased", {
      account: "hours",
      delta: 600,
      expiresAt: "2026-12-31T05:00:00Z",
    });
    const use = entry("2026-01-03T15:00:00Z", "billing.consumed", { account: "hours", delta: -90 });
    const fix = entry("2026-01-04T15:00:00Z", "billing.reversed", {
      account: "hours",
      delta: 90,
      reverses: use.sequence,
    });
    const opts = { zone, contractStart: null, rolloverCap: 15, asOf: new Date("2026-02-01T00:00:00Z") };
    expect(deriveBalances([buy, use], opts).hours).toMatchObject({
      remainingMinutes: 510,
      consumedMinutes: 90,
    });
    expect(deriveBalances([buy, use, fix], opts).hours).toMatchObject({
      remainingMinutes: 600,
      consumedMinutes: 0,
    });
    const expired = deriveBalances([buy, use], { ...opts, asOf: new Date("2027-01-01T00:00:00Z") });
    expect(expired.hours.remainingMinutes).toBe(0);
    expect(expired.hours.blocks[0]).toMatchObject({ expired: true, remainingMinutes: 510 });
  });
});
