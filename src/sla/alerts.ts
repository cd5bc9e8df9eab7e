/**
 * SLA alerting settings of a ticket: the plan's, overridden field by field by the tenant's `slaAlerts`,
 * and the automatic status update's template. Pure: no I/O.
 */
import type { AutoStatusUpdate, Plan, SlaAlertSettings } from "../../schemas/plan.js";
import type { ClockAlerts } from "./clocks.js";

export interface EffectiveAlerts extends ClockAlerts {
  autoStatusUpdate: AutoStatusUpdate | null;
}

export function effectiveAlerts(plan: Plan, tenant: SlaAlertSettings | null | undefined): EffectiveAlerts {
  const auto = tenant?.autoStatusUpdate ?? plan.autoStatusUpdate ?? null;
  return {
    atRiskRatio: plan.atRiskRatio,
    warningRatios: [...(tenant?.warningRatios ?? plan.warningRatios)].sort((a, b) => a - b),
    updateDueLeadMs: (tenant?.updateDueWarningMinutes ?? plan.updateDueWarningMinutes) * 60_000,
    autoStatusUpdate: auto?.enabled ? auto : null,
  };
}

export interface StatusUpdateValues {
  ticketId: string;
  title: string;
  status: string;
  priority: string;
  nextUpdateDue: string;
}

/** Fills `{{name}}` placeholders; the schema admits only known names, so every one has a value. */
export function renderStatusUpdate(template: string, values: StatusUpdateValues): string {
  return template.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (whole, name: string) =>
    name in values ? values[name as keyof StatusUpdateValues] : whole,
  );
}
