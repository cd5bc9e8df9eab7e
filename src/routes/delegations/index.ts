import { createRoute, z } from "@hono/zod-openapi";
import { idParam, listOf, text } from "../../../schemas/common.js";
import {
  CarrierReportQuery,
  CarrierReportRow,
  CreateDelegation,
  Delegation,
  DelegationAction,
  DelegationNote,
} from "../../../schemas/delegation.js";
import * as service from "../../services/delegations.js";
import {
  bearerSecurity,
  createRouter,
  jsonBody,
  jsonResponse,
  problemResponses,
  serviceContext,
} from "../openapi.js";

const tags = ["Delegations"];
const { 409: conflict } = problemResponses;

export function delegationRoutes() {
  const router = createRouter();

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/tickets/{id}/delegations",
      tags,
      summary: "Delegate a ticket to a carrier (provider)",
      description:
        "Answers at once in state `requested`; the carrier ticket is opened through the outbox and the state then follows the carrier.",
      security: bearerSecurity,
      request: { params: idParam("ticket"), body: jsonBody(CreateDelegation) },
      responses: {
        201: jsonResponse(Delegation, "The delegation."),
        409: conflict,
      },
    }),
    async (c) =>
      c.json(
        await service.createDelegation(serviceContext(c), c.req.valid("param").id, c.req.valid("json")),
        201,
      ),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/tickets/{id}/delegations",
      tags,
      summary: "A ticket's delegations (tenant keys may read their own)",
      security: bearerSecurity,
      request: { params: idParam("ticket") },
      responses: {
        200: jsonResponse(listOf(Delegation, "DelegationList"), "Delegations, oldest first."),
      },
    }),
    async (c) => c.json(await service.listTicketDelegations(serviceContext(c), c.req.valid("param").id), 200),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/delegations/{id}",
      tags,
      summary: "Read a delegation",
      security: bearerSecurity,
      request: { params: idParam("delegation") },
      responses: { 200: jsonResponse(Delegation, "The delegation.") },
    }),
    async (c) => c.json(await service.getDelegation(serviceContext(c), c.req.valid("param").id), 200),
  );

  for (const action of ["cancel", "close", "reopen"] as const) {
    router.openapi(
      createRoute({
        method: "post",
        path: `/v1/delegations/{id}/${action}`,
        tags,
        summary: `Ask the carrier to ${action} (provider); goes through the outbox`,
        security: bearerSecurity,
        request: { params: idParam("delegation"), body: { ...jsonBody(DelegationAction), required: false } },
        responses: {
          202: jsonResponse(Delegation.extend({ accepted: z.boolean() }), "Queued for the carrier."),
          409: conflict,
        },
      }),
      async (c) => {
        const body = (c.req.valid("json") as { reason?: string } | undefined) ?? {};
        return c.json(
          await service.requestDelegationAction(
            serviceContext(c),
            c.req.valid("param").id,
            action,
            body.reason,
          ),
          202,
        );
      },
    );
  }

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/delegations/{id}/notes",
      tags,
      summary: "Write to the carrier (provider): answers to information requests, updates",
      security: bearerSecurity,
      request: { params: idParam("delegation"), body: jsonBody(DelegationNote) },
      responses: {
        202: jsonResponse(Delegation.extend({ noteCommentId: text() }), "Queued for the carrier."),
        409: conflict,
      },
    }),
    async (c) =>
      c.json(
        await service.sendDelegationNote(
          serviceContext(c),
          c.req.valid("param").id,
          c.req.valid("json").text,
        ),
        202,
      ),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/reports/carriers",
      tags: ["SLA"],
      summary: "Carriers compared: acknowledge and resolve times (business minutes), OLA breaches, waiting",
      security: bearerSecurity,
      request: { query: CarrierReportQuery },
      responses: {
        200: jsonResponse(
          z.object({ from: text(), to: text(), carriers: z.array(CarrierReportRow) }),
          "The report.",
        ),
      },
    }),
    async (c) => c.json(await service.carrierReport(serviceContext(c), c.req.valid("query")), 200),
  );
  return router;
}
