import { createRoute, z } from "@hono/zod-openapi";
import { stringify } from "csv-stringify/sync";
import {
  AppointmentInstant,
  BillingCharge,
  Correction,
  CreateWorklog,
  Dispatch,
  Handover,
  ProviderActResult,
  Purchase,
  TenantBillingTerms,
  Worklog,
} from "../../../schemas/billing.js";
import { idParam, text } from "../../../schemas/common.js";
import * as billing from "../../services/billing.js";
import { monthlyStatement, statementHtml } from "../../services/statements.js";
import {
  bearerSecurity,
  createRouter,
  etagOf,
  jsonBody,
  jsonResponse,
  problemResponses,
  serviceContext,
} from "../openapi.js";

const tags = ["Billing"];
const AppointmentParams = idParam("ticket").extend({ appointmentId: text().min(1).max(100) });
const StatementParams = idParam("tenant").extend({
  month: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "expected YYYY-MM")
    .openapi({ example: "2026-11" }),
});

/** Provider acts on tickets that billing rules charge for, and a tenant's entitlements and statements. */
export function billingRoutes() {
  const router = createRouter();

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/tickets/{id}/handover",
      tags,
      summary: "Hand the ticket over to the support team (provider); charges by the plan's handover rules",
      security: bearerSecurity,
      request: { params: idParam("ticket"), body: jsonBody(Handover) },
      responses: { 201: jsonResponse(ProviderActResult, "Recorded, with the charges."), ...problemResponses },
    }),
    async (c) => {
      const result = await billing.handover(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
      c.header("ETag", etagOf(result.version));
      return c.json(result, 201);
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/tickets/{id}/appointments/{appointmentId}/start",
      tags,
      summary: "Record an appointment's start (provider)",
      security: bearerSecurity,
      request: { params: AppointmentParams, body: jsonBody(AppointmentInstant) },
      responses: { 201: jsonResponse(ProviderActResult, "Recorded."), ...problemResponses },
    }),
    async (c) => {
      const { id, appointmentId } = c.req.valid("param");
      const result = await billing.startAppointment(
        serviceContext(c),
        id,
        appointmentId,
        c.req.valid("json"),
      );
      c.header("ETag", etagOf(result.version));
      return c.json(result, 201);
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/tickets/{id}/appointments/{appointmentId}/conclusion",
      tags,
      summary: "Record an appointment's conclusion (provider); charges its duration by the plan's rules",
      security: bearerSecurity,
      request: { params: AppointmentParams, body: jsonBody(AppointmentInstant) },
      responses: { 201: jsonResponse(ProviderActResult, "Recorded, with the charges."), ...problemResponses },
    }),
    async (c) => {
      const { id, appointmentId } = c.req.valid("param");
      const result = await billing.concludeAppointment(
        serviceContext(c),
        id,
        appointmentId,
        c.req.valid("json"),
      );
      c.header("ETag", etagOf(result.version));
      return c.json(result, 201);
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/tickets/{id}/dispatches",
      tags,
      summary: "Record an on-site dispatch with its travel time (provider); trip fee and travel per the plan",
      security: bearerSecurity,
      request: { params: idParam("ticket"), body: jsonBody(Dispatch) },
      responses: { 201: jsonResponse(ProviderActResult, "Recorded, with the charges."), ...problemResponses },
    }),
    async (c) => {
      const result = await billing.dispatch(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
      c.header("ETag", etagOf(result.version));
      return c.json(result, 201);
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/tickets/{id}/worklogs",
      tags,
      summary: "Log time worked on a ticket (provider); billable time is charged by the plan's rules",
      security: bearerSecurity,
      request: { params: idParam("ticket"), body: jsonBody(CreateWorklog) },
      responses: {
        201: jsonResponse(
          z.object({ worklog: Worklog, charges: z.array(BillingCharge), version: z.number().int() }),
          "Logged.",
        ),
        ...problemResponses,
      },
    }),
    async (c) => {
      const result = await billing.addWorklog(
        serviceContext(c),
        c.req.valid("param").id,
        c.req.valid("json"),
      );
      c.header("ETag", etagOf(result.version));
      return c.json(result, 201);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/tickets/{id}/worklogs",
      tags,
      summary: "A ticket's work logs, oldest first",
      security: bearerSecurity,
      request: { params: idParam("ticket") },
      responses: {
        200: jsonResponse(z.object({ items: z.array(Worklog) }), "The work logs."),
        401: problemResponses[401],
        404: problemResponses[404],
      },
    }),
    async (c) => c.json(await billing.listWorklogs(serviceContext(c), c.req.valid("param").id), 200),
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/tenants/{id}/billing/purchases",
      tags,
      summary: "Record a purchase of incidents or a block of hours (provider)",
      security: bearerSecurity,
      request: { params: idParam("tenant"), body: jsonBody(Purchase) },
      responses: { 201: jsonResponse(BillingCharge, "The billing.purchased entry."), ...problemResponses },
    }),
    async (c) =>
      c.json(await billing.purchase(serviceContext(c), c.req.valid("param").id, c.req.valid("json")), 201),
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/tenants/{id}/billing/corrections",
      tags,
      summary: "Reverse a purchase or consumption (provider): a reversing entry, never an edit",
      security: bearerSecurity,
      request: { params: idParam("tenant"), body: jsonBody(Correction) },
      responses: { 201: jsonResponse(BillingCharge, "The billing.reversed entry."), ...problemResponses },
    }),
    async (c) =>
      c.json(await billing.correct(serviceContext(c), c.req.valid("param").id, c.req.valid("json")), 201),
  );

  router.openapi(
    createRoute({
      method: "put",
      path: "/v1/tenants/{id}/billing/terms",
      tags,
      summary:
        "Override the plan's billing terms and rules for this tenant; set its contract start (provider)",
      security: bearerSecurity,
      request: { params: idParam("tenant"), body: jsonBody(TenantBillingTerms) },
      responses: {
        200: jsonResponse(z.record(text(), z.unknown()), "The effective billing."),
        ...problemResponses,
      },
    }),
    async (c) =>
      c.json(await billing.setTerms(serviceContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/tenants/{id}/billing",
      tags,
      summary: "The tenant's balances now, derived from its billing entries",
      security: bearerSecurity,
      request: { params: idParam("tenant") },
      responses: {
        200: jsonResponse(z.record(text(), z.unknown()), "Terms and balances."),
        401: problemResponses[401],
        404: problemResponses[404],
      },
    }),
    async (c) => c.json(await billing.getBalances(serviceContext(c), c.req.valid("param").id), 200),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/tenants/{id}/statements/{month}",
      tags,
      summary: "Monthly statement: SLA compliance, breaches, entitlements, charges, ledger-traceable lines",
      description:
        "Month boundaries in the tenant's zone. JSON by default; `Accept: text/csv` for the lines, `Accept: text/html` for a printable page.",
      security: bearerSecurity,
      request: { params: StatementParams },
      responses: {
        200: {
          description: "The statement.",
          content: {
            "application/json": { schema: z.record(text(), z.unknown()) },
            "text/csv": { schema: text() },
            "text/html": { schema: text() },
          },
        },
        400: problemResponses[400],
        401: problemResponses[401],
        404: problemResponses[404],
      },
    }),
    async (c) => {
      const { id, month } = c.req.valid("param");
      const statement = await monthlyStatement(serviceContext(c), id, month);
      const accept = c.req.header("accept") ?? "";
      if (accept.includes("text/csv")) {
        c.header("content-type", "text/csv; charset=utf-8");
        return c.body(stringify(statement.lines, { header: true }), 200) as never;
      }
      if (accept.includes("text/html")) {
        c.header("content-type", "text/html; charset=utf-8");
        return c.body(statementHtml(statement), 200) as never;
      }
      return c.json(statement, 200);
    },
  );
  return router;
}
