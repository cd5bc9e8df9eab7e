import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { type Plan, PlanCatalog } from "../../schemas/plan.js";

export type { Plan, PlanCatalog };

const presetsFile = new URL("./plans.yaml", import.meta.url);

function formatIssues(
  source: string,
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
): string {
  const lines = issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "(root)";
    return `  - ${path}: ${issue.message}`;
  });
  return `Invalid plan catalog ${source}:\n${lines.join("\n")}`;
}

/** Parses and validates catalog text; JSON when the source ends in .json, YAML otherwise. */
export function parsePlanCatalog(text: string, source: string): PlanCatalog {
  let data: unknown;
  if (source.toLowerCase().endsWith(".json")) {
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new Error(`Invalid plan catalog ${source}: ${(error as Error).message}`);
    }
  } else {
    const document = parseDocument(text);
    if (document.errors.length > 0) {
      throw new Error(
        `Invalid plan catalog ${source}:\n${document.errors.map((error) => `  - ${error.message}`).join("\n")}`,
      );
    }
    data = document.toJS();
  }
  const parsed = PlanCatalog.safeParse(data);
  if (!parsed.success) throw new Error(formatIssues(source, parsed.error.issues));
  return parsed.data;
}

/** Extra plans replace presets with the same id in place; new ids are appended. */
export function mergePlanCatalogs(base: PlanCatalog, extra: PlanCatalog): PlanCatalog {
  const extraById = new Map(extra.plans.map((plan) => [plan.id, plan]));
  const baseIds = new Set(base.plans.map((plan) => plan.id));
  return {
    plans: [
      ...base.plans.map((plan) => extraById.get(plan.id) ?? plan),
      ...extra.plans.filter((plan) => !baseIds.has(plan.id)),
    ],
  };
}

/** The shipped presets, plus an operator's extra file (YAML or JSON, `{plans: [...]}`) when given. */
export function loadPlanCatalog(opts: { extraFile?: string } = {}): PlanCatalog {
  const presets = parsePlanCatalog(readFileSync(presetsFile, "utf8"), fileURLToPath(presetsFile));
  if (opts.extraFile === undefined) return presets;
  const extra = parsePlanCatalog(readFileSync(opts.extraFile, "utf8"), opts.extraFile);
  return mergePlanCatalogs(presets, extra);
}

export function getPlan(catalog: PlanCatalog, id: string): Plan | undefined {
  return catalog.plans.find((plan) => plan.id === id);
}
