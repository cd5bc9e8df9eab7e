import Holidays from "date-holidays";
import type { CalendarInput } from "../../schemas/calendar.js";
import type { Plan } from "../../schemas/plan.js";
import { type CompiledCalendar, compileCalendar } from "./business-time.js";

export interface TenantCalendarSettings {
  timezone: string | null;
  holidays: readonly string[];
  holidayCountry: string | null;
}

// Public holidays are resolved for a window of years around the present; SLA targets never span more.
const HOLIDAY_YEARS_BEFORE = 1;
const HOLIDAY_YEARS_AFTER = 3;

/** Public holidays of a country ("SE") or region ("DE-BY") as local dates, from the date-holidays data. */
export function publicHolidays(country: string, fromYear: number, toYear: number): string[] {
  const [code, region] = country.split("-");
  const hd = new Holidays(code!, region ?? "");
  const dates = new Set<string>();
  for (let year = fromYear; year <= toYear; year++) {
    for (const holiday of hd.getHolidays(year) ?? []) {
      if (holiday.type === "public") dates.add(holiday.date.slice(0, 10));
    }
  }
  return [...dates].sort();
}

export function isKnownHolidayCountry(country: string): boolean {
  const [code, region] = country.split("-");
  const hd = new Holidays();
  const countries = hd.getCountries();
  if (!code || !countries[code]) return false;
  if (region === undefined) return true;
  return Boolean(hd.getStates(code)?.[region]);
}

/** The calendar input a tenant's clocks run on: the plan's hours, the tenant's zone, and holidays. */
export function tenantCalendarInput(plan: Plan, tenant: TenantCalendarSettings, year: number): CalendarInput {
  const holidays = new Set([...(plan.calendar.holidays ?? []), ...tenant.holidays]);
  if (tenant.holidayCountry) {
    for (const date of publicHolidays(
      tenant.holidayCountry,
      year - HOLIDAY_YEARS_BEFORE,
      year + HOLIDAY_YEARS_AFTER,
    )) {
      holidays.add(date);
    }
  }
  return {
    timezone: tenant.timezone ?? plan.calendar.timezone,
    hours: plan.calendar.hours,
    holidays: [...holidays].sort(),
  };
}

const cache = new Map<string, CompiledCalendar>();
const CACHE_LIMIT = 500;

/** Compiled calendars are cached by content, so their per-day caches are shared by every clock. */
export function tenantCalendar(plan: Plan, tenant: TenantCalendarSettings, now: Date): CompiledCalendar {
  const input = tenantCalendarInput(plan, tenant, now.getUTCFullYear());
  const key = JSON.stringify(input);
  let compiled = cache.get(key);
  if (!compiled) {
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    compiled = compileCalendar(input);
    cache.set(key, compiled);
  }
  return compiled;
}
