import { createRoute, z } from "@hono/zod-openapi";
import { stringify } from "csv-stringify/sync";
import { eq } from "drizzle-orm";
import { listOf, text } from "../../../schemas/common.js";
import { Plan } from "../../../schemas/plan.js";
import {
  fromCanonical,
  type PriorityTableOverride,
  resolveScheme,
  toCanonical,
} from "../../../schemas/priority.js";
import {
  PrioritySchemeView as PrioritySchemeViewBase,
  TranslatedPriority,
  TranslatePriority as TranslatePriorityBase,
} from "../../../schemas/priority-api.js";
import { SlaPreviewRequest, SlaPreviewResponse, SlaReport, SlaReportQuery } from "../../../schemas/sla.js";
import { canAccessTenant } from "../../auth/principal.js";
import { tenants } from "../../db/schema/index.js";
import { prioritySchemeIds, prioritySchemes } from "../../domain/priority-schemes.js";
import { GatewayError } from "../../errors.js";
import { findPlan } from "../../services/sla.js";
import { previewSla } from "../../services/sla-preview.js";
import { slaReport } from "../../services/sla-reports.js";
import {
  bearerSecurity,
  createRouter,
  jsonBody,
  jsonResponse,
  problemResponses,
  serviceContext,
} from "../openapi.js";

const { 404: notFound } = problemResponses;

// Scheme ids are the seeds plus the registered connectors' schemes, known here and not in schemas/.
const SchemeId = z.enum(prioritySchemeIds).openapi("PrioritySchemeId");
const PrioritySchemeView = PrioritySchemeViewBase.extend({ id: SchemeId }).openapi("PriorityScheme");
const TranslatePriority = TranslatePriorityBase.safeExtend({ scheme: SchemeId }).openapi("TranslatePriority");

export function slaRoutes() {
  const router = createRouter();

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/sla/preview",
      tags: ["SLA"],
      summary: "Compute SLA due times without a ticket",
      description:
        "Either a plan and priority (the plan's default zone unless `timezone` is given), or an explicit calendar and targets. Instants must carry an offset; answers are UTC. Only the part of a pause after openedAt counts.",
      security: bearerSecurity,
      request: { body: jsonBody(SlaPreviewRequest) },
      responses: {
        200: jsonResponse(SlaPreviewResponse, "Due times; null where there is no target."),
        404: notFound,
      },
    }),
    async (c) => c.json(previewSla(c.get("deps").catalog, c.req.valid("json")), 200),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/plans",
      tags: ["SLA"],
      summary: "The plan catalog",
      security: bearerSecurity,
      responses: { 200: jsonResponse(listOf(Plan, "PlanList"), "Every plan.") },
    }),
    async (c) => c.json({ items: c.get("deps").catalog.plans, nextCursor: null }, 200),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/plans/{id}",
      tags: ["SLA"],
      summary: "One plan: calendar and targets per priority",
      security: bearerSecurity,
      request: { params: z.object({ id: text().min(1).max(100) }) },
      responses: { 200: jsonResponse(Plan, "The plan.") },
    }),
    async (c) => {
      const plan = findPlan(c.get("deps").catalog, c.req.valid("param").id);
      if (!plan)
        throw new GatewayError("NOT_FOUND", `Plan ${c.req.valid("param").id} is not in the plan catalog.`);
      return c.json(plan, 200);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/priority-schemes",
      tags: ["SLA"],
      summary: "The priority translation tables (inbound values, outbound value per level, lossless flags)",
      security: bearerSecurity,
      responses: {
        200: jsonResponse(listOf(PrioritySchemeView, "PrioritySchemeList"), "Every built-in scheme."),
      },
    }),
    async (c) =>
      c.json(
        {
          items: Object.values(prioritySchemes).map((scheme) => ({
            id: scheme.id,
            source: scheme.source,
            field: scheme.field,
            values: scheme.values.map((v) => ({
              value: v.value,
              aliases: [...(v.aliases ?? [])],
              priority: v.priority,
            })),
            outbound: scheme.outbound,
            lossless: scheme.lossless,
          })),
          nextCursor: null,
        },
        200,
      ),
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/priority/translate",
      tags: ["SLA"],
      summary: "Translate a priority between a scheme and the canonical levels (with a tenant's overrides)",
      security: bearerSecurity,
      request: { body: jsonBody(TranslatePriority) },
      responses: {
        200: jsonResponse(TranslatedPriority, "The translation."),
        404: notFound,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const ctx = serviceContext(c);
      const principal = ctx.principal;
      const tenantId = principal.kind === "tenant" ? principal.tenantId : body.tenantId;
      let override: PriorityTableOverride | undefined;
      if (tenantId) {
        if (!canAccessTenant(principal, tenantId))
          throw new GatewayError("NOT_FOUND", `Tenant ${tenantId} was not found.`);
        const [tenant] = await ctx.db
          .select({ overrides: tenants.priorityOverrides })
          .from(tenants)
          .where(eq(tenants.id, tenantId));
        if (!tenant) throw new GatewayError("NOT_FOUND", `Tenant ${tenantId} was not found.`);
        override = (tenant.overrides as Record<string, PriorityTableOverride>)[body.scheme];
      }
      const base = prioritySchemes[body.scheme];
      if (!base) throw new GatewayError("NOT_FOUND", `Priority scheme ${body.scheme} was not found.`);
      const scheme = resolveScheme(base, override);
      if (body.priority !== undefined) {
        const out = fromCanonical(scheme, body.priority);
        return c.json({ scheme: body.scheme, value: out.value, lossy: out.lossy }, 200);
      }
      const read = toCanonical(scheme, body.value!);
      if ("error" in read) {
        throw new GatewayError("VALIDATION_FAILED", read.error, {
          errors: [{ path: "value", message: read.error }],
        });
      }
      return c.json({ scheme: body.scheme, priority: read.priority, exact: read.exact }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/reports/sla",
      tags: ["SLA"],
      summary:
        "SLA report: met and breached, median and p90 business minutes, status-update compliance, per group",
      description:
        "Tickets opened in [from, to), grouped by priority, plan, tenant or ticket. Update compliance counts status-update cycles met and missed and the longest silence in business minutes. JSON by default; CSV with `Accept: text/csv`.",
      security: bearerSecurity,
      request: { query: SlaReportQuery },
      responses: {
        200: {
          description: "The report.",
          content: { "application/json": { schema: SlaReport }, "text/csv": { schema: text() } },
        },
        404: notFound,
      },
    }),
    async (c) => {
      const report = await slaReport(serviceContext(c), c.req.valid("query"));
      if ((c.req.header("accept") ?? "").includes("text/csv")) {
        const csv = stringify(report.groups, { header: true });
        c.header("content-type", "text/csv; charset=utf-8");
        return c.body(csv, 200) as never;
      }
      return c.json(report, 200);
    },
  );
  return router;
}
