import {
  accountUnit,
  type BillingAccount,
  type BillingEvent,
  type BillingQuantity,
  type BillingRule,
  type BillingTerms,
} from "../../schemas/billing.js";

/** What happened, as the rules see it. Minutes are whole minutes. */
export interface BillableFacts {
  event: BillingEvent;
  durationMinutes?: number;
  travelMinutes?: number;
  billable?: boolean;
}

export interface BillableUnits {
  rule: string;
  account: BillingAccount;
  unit: (typeof accountUnit)[BillingAccount];
  quantity: number;
}

/** `firstUnits` for up to `firstMinutes` (a minimum), then `thenUnits` per started `thenEveryMinutes`. */
export function steppedUnits(
  minutes: number,
  step: { firstMinutes: number; firstUnits: number; thenEveryMinutes: number; thenUnits: number },
): number {
  const beyond = Math.max(0, minutes - step.firstMinutes);
  return step.firstUnits + Math.ceil(beyond / step.thenEveryMinutes) * step.thenUnits;
}

function quantityOf(quantity: BillingQuantity, facts: BillableFacts, terms: BillingTerms): number | null {
  if ("fixed" in quantity) return quantity.fixed;
  if ("stepped" in quantity) return steppedUnits(facts.durationMinutes ?? 0, quantity.stepped);
  if ("amount" in quantity) return terms.tripFeeCents ?? null;
  const minutes = (quantity.minutesOf === "duration" ? facts.durationMinutes : facts.travelMinutes) ?? 0;
  if (quantity.atRate === undefined) return minutes;
  if (terms.hourlyRateCents === undefined) return null;
  return Math.round((minutes * terms.hourlyRateCents) / 60);
}

/**
 * The billable units an event produces under the rules: pure, no I/O. A rule whose terms lack a rate or fee
 * (null quantity) or that comes to zero produces nothing.
 */
export function evaluateBillingRules(
  rules: readonly BillingRule[],
  terms: BillingTerms,
  facts: BillableFacts,
): BillableUnits[] {
  const out: BillableUnits[] = [];
  for (const rule of rules) {
    if (rule.on !== facts.event) continue;
    if (rule.billableOnly && facts.billable !== true) continue;
    if (rule.unlessIncluded !== undefined && terms.included[rule.unlessIncluded]) continue;
    const quantity = quantityOf(rule.quantity, facts, terms);
    if (quantity === null || quantity <= 0) continue;
    out.push({ rule: rule.name, account: rule.account, unit: accountUnit[rule.account], quantity });
  }
  return out;
}
