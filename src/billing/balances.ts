import { DateTime } from "luxon";
import type { BillingAccount } from "../../schemas/billing.js";

/** A `billing.*` ledger entry as balances need it. */
export interface BillingEntry {
  sequence: number;
  occurredAt: Date;
  kind: string;
  ticketId: string | null;
  detail: Record<string, unknown>;
}

export interface Rollover {
  yearStart: string;
  carried: number;
  forfeited: number;
}

export interface HourBlock {
  sequence: number;
  minutes: number;
  remainingMinutes: number;
  expiresAt: string;
  expired: boolean;
}

export interface Balances {
  incidents: { balance: number; purchased: number; consumed: number; rollovers: Rollover[] };
  hours: { remainingMinutes: number; consumedMinutes: number; overdraftMinutes: number; blocks: HourBlock[] };
  timeAndMaterials: { chargedCents: number };
}

export interface BalanceOptions {
  /** Entries at or after this instant are ignored. */
  asOf: Date;
  zone: string;
  /** `YYYY-MM-DD`: contract years start on its anniversary; null: calendar years. */
  contractStart: string | null;
  rolloverCap: number;
}

const accountOf = (entry: BillingEntry) => entry.detail.account as BillingAccount;
const deltaOf = (entry: BillingEntry) => Number(entry.detail.delta);

/** The start of the contract year holding `at`, in the tenant's zone. */
export function contractYearStart(at: Date, zone: string, contractStart: string | null): DateTime {
  const local = DateTime.fromJSDate(at, { zone });
  const anchor = contractStart ? DateTime.fromISO(contractStart, { zone }) : null;
  const month = anchor?.month ?? 1;
  const day = anchor?.day ?? 1;
  const candidate = (year: number) =>
    DateTime.fromObject(
      { year, month, day: Math.min(day, DateTime.local(year, month).daysInMonth!) },
      { zone },
    );
  const thisYear = candidate(local.year);
  return local < thisYear ? candidate(local.year - 1) : thisYear;
}

/**
 * Balances derived from billing entries alone (pure): incidents with annual rollover capped at `rolloverCap`
 * (what is left at a contract year's end, at most the cap, opens the next; a deficit carries in full), hours
 * drawn from blocks soonest-expiring first, T&M money charged. A reversal undoes its entry at the reversal's
 * own time: incidents and T&M by the opposite delta, hours by returning minutes to the blocks they came from.
 */
export function deriveBalances(entries: readonly BillingEntry[], options: BalanceOptions): Balances {
  const ordered = [...entries]
    .filter((e) => e.occurredAt < options.asOf)
    .sort((a, b) => a.sequence - b.sequence);
  const incidents = { balance: 0, purchased: 0, consumed: 0, rollovers: [] as Rollover[] };
  let yearStart: DateTime | null = null;
  const rollTo = (at: Date) => {
    const start = contractYearStart(at, options.zone, options.contractStart);
    if (yearStart === null) {
      yearStart = start;
      return;
    }
    // One step per contract year crossed, so an idle year still caps what it carries.
    while (yearStart < start) {
      const next = contractYearStart(
        yearStart.plus({ years: 1 }).toJSDate(),
        options.zone,
        options.contractStart,
      );
      const carried =
        incidents.balance > 0 ? Math.min(incidents.balance, options.rolloverCap) : incidents.balance;
      const forfeited = incidents.balance > 0 ? incidents.balance - carried : 0;
      incidents.rollovers.push({ yearStart: next.toISODate()!, carried, forfeited });
      incidents.balance = carried;
      yearStart = next;
    }
  };
  const blocks: (HourBlock & { expiresAtMs: number })[] = [];
  const drawn = new Map<number, { block: number; minutes: number }[]>();
  let overdraft = 0;
  let consumedMinutes = 0;
  let chargedCents = 0;
  const bySequence = new Map(ordered.map((e) => [e.sequence, e]));

  const drawMinutes = (sequence: number, minutes: number, at: Date) => {
    const takes: { block: number; minutes: number }[] = [];
    let left = minutes;
    const open = blocks
      .filter((b) => b.expiresAtMs > at.getTime() && b.remainingMinutes > 0)
      .sort((a, b) => a.expiresAtMs - b.expiresAtMs || a.sequence - b.sequence);
    for (const block of open) {
      if (left === 0) break;
      const take = Math.min(left, block.remainingMinutes);
      block.remainingMinutes -= take;
      left -= take;
      takes.push({ block: block.sequence, minutes: take });
    }
    overdraft += left;
    if (left > 0) takes.push({ block: 0, minutes: left });
    drawn.set(sequence, takes);
  };

  for (const entry of ordered) {
    rollTo(entry.occurredAt);
    const account = accountOf(entry);
    const reversed =
      entry.kind === "billing.reversed" ? bySequence.get(Number(entry.detail.reverses)) : undefined;
    const delta = deltaOf(entry);
    if (account === "incidents") {
      incidents.balance += delta;
      const original = reversed ?? entry;
      if (original.kind === "billing.purchased") incidents.purchased += delta;
      else incidents.consumed -= delta;
    } else if (account === "time_and_materials") {
      chargedCents += delta;
    } else if (reversed?.kind === "billing.purchased") {
      const block = blocks.find((b) => b.sequence === reversed.sequence);
      if (block) block.remainingMinutes += delta;
    } else if (reversed) {
      consumedMinutes -= delta;
      for (const take of drawn.get(reversed.sequence) ?? []) {
        const block = blocks.find((b) => b.sequence === take.block);
        if (block) block.remainingMinutes += take.minutes;
        else overdraft -= take.minutes;
      }
    } else if (entry.kind === "billing.purchased") {
      const expiresAt = new Date(String(entry.detail.expiresAt));
      blocks.push({
        sequence: entry.sequence,
        minutes: delta,
        remainingMinutes: delta,
        expiresAt: expiresAt.toISOString(),
        expiresAtMs: expiresAt.getTime(),
        expired: false,
      });
    } else {
      consumedMinutes -= delta;
      drawMinutes(entry.sequence, -delta, entry.occurredAt);
    }
  }
  rollTo(new Date(options.asOf.getTime() - 1));
  const asOfMs = options.asOf.getTime();
  const blockViews: HourBlock[] = blocks.map(({ expiresAtMs, ...block }) => ({
    ...block,
    expired: expiresAtMs <= asOfMs,
  }));
  return {
    incidents,
    hours: {
      remainingMinutes: blockViews.filter((b) => !b.expired).reduce((sum, b) => sum + b.remainingMinutes, 0),
      consumedMinutes,
      overdraftMinutes: overdraft,
      blocks: blockViews,
    },
    timeAndMaterials: { chargedCents },
  };
}
