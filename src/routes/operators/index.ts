import { createRoute } from "@hono/zod-openapi";
import { idOf, idParam, ListQuery, listOf } from "../../../schemas/common.js";
import { CreatedOperator, CreateOperator, Operator } from "../../../schemas/tenant.js";
import { requireAdmin } from "../../middleware/auth.js";
import * as access from "../../services/access.js";
import {
  bearerSecurity,
  createRouter,
  idempotencyHeader,
  jsonBody,
  jsonResponse,
  problemResponses,
  serviceContext,
} from "../openapi.js";

const tags = ["Operators"];

export function operatorRoutes() {
  const router = createRouter();
  for (const path of ["/v1/operators", "/v1/operators/*"]) {
    router.use(path, async (c, next) => {
      requireAdmin(c.get("principal"));
      await next();
    });
  }

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/operators",
      tags,
      summary: "Create an operator key for the provider's staff or systems (admin)",
      description: "Operators act for the provider; `tenantIds` limits them to some tenants (null: all).",
      security: bearerSecurity,
      request: { body: jsonBody(CreateOperator) },
      parameters: [idempotencyHeader],
      responses: {
        201: jsonResponse(CreatedOperator, "Created; apiKey is shown only here."),
        409: problemResponses[409],
      },
    }),
    async (c) => {
      const created = await access.createOperator(serviceContext(c), c.req.valid("json"));
      c.set("responseContainsSecret", true);
      return c.json(created, 201);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/operators",
      tags,
      summary: "List operators (admin)",
      security: bearerSecurity,
      request: { query: ListQuery },
      responses: {
        200: jsonResponse(listOf(Operator, "OperatorList"), "A page of operators."),
      },
    }),
    async (c) => c.json(await access.listOperators(serviceContext(c), c.req.valid("query")), 200),
  );

  router.openapi(
    createRoute({
      method: "delete",
      path: "/v1/operators/{id}/keys/{keyId}",
      tags,
      summary: "Revoke an operator key (admin)",
      security: bearerSecurity,
      request: { params: idParam("operator").extend({ keyId: idOf("apiKey") }) },
      responses: { 204: { description: "Revoked." } },
    }),
    async (c) => {
      const { id, keyId } = c.req.valid("param");
      await access.revokeOperatorKey(serviceContext(c), id, keyId);
      return c.body(null, 204);
    },
  );
  return router;
}
