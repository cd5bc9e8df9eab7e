import { createRoute, z } from "@hono/zod-openapi";
import { stringify } from "csv-stringify/sync";
import { IdParam, listOf } from "../../../schemas/common.js";
import { Plan } from "../../../schemas/plan.js";
import { SlaPreviewRequest, SlaPreviewResponse, SlaReport, SlaReportQuery } from "../../../schemas/sla.js";
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

const { 400: badRequest, 401: unauthorized, 404: notFound } = problemResponses;

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
        400: badRequest,
        401: unauthorized,
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
      responses: { 200: jsonResponse(listOf(Plan, "PlanList"), "Every plan."), 401: unauthorized },
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
      request: { params: IdParam },
      responses: { 200: jsonResponse(Plan, "The plan."), 401: unauthorized, 404: notFound },
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
      path: "/v1/reports/sla",
      tags: ["SLA"],
      summary: "SLA report: met and breached, median and p90 business minutes, per group",
      description: "Tickets opened in [from, to). JSON by default; CSV with `Accept: text/csv`.",
      security: bearerSecurity,
      request: { query: SlaReportQuery },
      responses: {
        200: {
          description: "The report.",
          content: { "application/json": { schema: SlaReport }, "text/csv": { schema: z.string() } },
        },
        400: badRequest,
        401: unauthorized,
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
