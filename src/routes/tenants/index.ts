import { createRoute, z } from "@hono/zod-openapi";
import { idOf, idParam, ListQuery, listOf } from "../../../schemas/common.js";
import { PriorityTableOverride } from "../../../schemas/priority.js";
import {
  ApiKeyInfo,
  CreatedApiKey,
  CreatedTenant,
  CreateTenant as CreateTenantBase,
  Tenant,
  TenantHolidays,
  TenantHolidaysView,
  UpdateTenant as UpdateTenantBase,
} from "../../../schemas/tenant.js";
import { prioritySchemeIds } from "../../domain/priority-schemes.js";
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

// Override keys are scheme ids: the seeds plus the registered connectors' own schemes.
const priorityOverrides = z.partialRecord(z.enum(prioritySchemeIds), PriorityTableOverride).optional();
const CreateTenant = CreateTenantBase.extend({ priorityOverrides }).openapi("CreateTenant");
const UpdateTenant = UpdateTenantBase.extend({ priorityOverrides }).openapi("UpdateTenant");

const tags = ["Tenants"];

const billingPath = /^\/v1\/tenants\/[^/]+\/(billing|statements)(\/|$)/;

export function tenantRoutes() {
  const router = createRouter();
  router.use("/v1/tenants/*", async (c, next) => {
    // Billing and statements (routes/billing) admit operators and the tenant's own key; they check access.
    if (!billingPath.test(c.req.path)) requireAdmin(c.get("principal"));
    await next();
  });
  router.use("/v1/tenants", async (c, next) => {
    requireAdmin(c.get("principal"));
    await next();
  });

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/tenants",
      tags,
      summary: "Create a tenant (admin); answers its first API key once",
      security: bearerSecurity,
      request: { body: jsonBody(CreateTenant) },
      parameters: [idempotencyHeader],
      responses: {
        201: jsonResponse(CreatedTenant, "Created; apiKey is shown only here."),
        409: problemResponses[409],
        422: problemResponses[422],
      },
    }),
    async (c) => {
      const created = await access.createTenant(serviceContext(c), c.req.valid("json"));
      c.set("responseContainsSecret", true);
      return c.json(created, 201);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/tenants",
      tags,
      summary: "List tenants (admin)",
      security: bearerSecurity,
      request: { query: ListQuery },
      responses: {
        200: jsonResponse(listOf(Tenant, "TenantList"), "A page of tenants."),
      },
    }),
    async (c) => c.json(await access.listTenants(serviceContext(c), c.req.valid("query")), 200),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/tenants/{id}",
      tags,
      summary: "Read a tenant (admin)",
      security: bearerSecurity,
      request: { params: idParam("tenant") },
      responses: {
        200: jsonResponse(Tenant, "The tenant."),
      },
    }),
    async (c) => c.json(await access.getTenant(serviceContext(c), c.req.valid("param").id), 200),
  );

  router.openapi(
    createRoute({
      method: "patch",
      path: "/v1/tenants/{id}",
      tags,
      summary: "Change a tenant's name, plan or time zone (admin)",
      security: bearerSecurity,
      request: { params: idParam("tenant"), body: jsonBody(UpdateTenant) },
      responses: {
        200: jsonResponse(Tenant, "The updated tenant."),
      },
    }),
    async (c) =>
      c.json(await access.updateTenant(serviceContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/tenants/{id}/keys",
      tags,
      summary: "List a tenant's API keys: ids, prefixes and dates, never secrets (admin)",
      security: bearerSecurity,
      request: { params: idParam("tenant") },
      responses: {
        200: jsonResponse(listOf(ApiKeyInfo, "ApiKeyList"), "The tenant's keys, newest first."),
      },
    }),
    async (c) => c.json(await access.listTenantKeys(serviceContext(c), c.req.valid("param").id), 200),
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/tenants/{id}/keys",
      tags,
      summary: "Issue another API key for a tenant, for rotation (admin)",
      security: bearerSecurity,
      request: { params: idParam("tenant") },
      parameters: [idempotencyHeader],
      responses: {
        201: jsonResponse(CreatedApiKey, "Created; apiKey is shown only here."),
        409: problemResponses[409],
      },
    }),
    async (c) => {
      const key = await access.createTenantKey(serviceContext(c), c.req.valid("param").id);
      c.set("responseContainsSecret", true);
      return c.json(key, 201);
    },
  );

  router.openapi(
    createRoute({
      method: "delete",
      path: "/v1/tenants/{id}/keys/{keyId}",
      tags,
      summary: "Revoke a tenant API key (admin); it stops working at once",
      security: bearerSecurity,
      request: { params: idParam("tenant").extend({ keyId: idOf("apiKey") }) },
      responses: { 204: { description: "Revoked." } },
    }),
    async (c) => {
      const { id, keyId } = c.req.valid("param");
      await access.revokeTenantKey(serviceContext(c), id, keyId);
      return c.body(null, 204);
    },
  );
  router.openapi(
    createRoute({
      method: "put",
      path: "/v1/tenants/{id}/holidays",
      tags,
      summary: "Set the tenant's holiday calendar (admin); open SLA clocks are recomputed",
      description:
        "Local dates (YYYY-MM-DD) on which the tenant's desk is closed, on top of the plan's hours; `country` (ISO 3166, optionally with a region: `SE`, `DE-BY`) adds that country's public holidays.",
      security: bearerSecurity,
      request: { params: idParam("tenant"), body: jsonBody(TenantHolidays) },
      responses: {
        200: jsonResponse(TenantHolidaysView, "The tenant's holidays."),
      },
    }),
    async (c) =>
      c.json(
        await access.setTenantHolidays(serviceContext(c), c.req.valid("param").id, c.req.valid("json")),
        200,
      ),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/tenants/{id}/holidays",
      tags,
      summary: "The tenant's holiday calendar (admin)",
      security: bearerSecurity,
      request: { params: idParam("tenant") },
      responses: {
        200: jsonResponse(TenantHolidaysView, "The tenant's holidays."),
      },
    }),
    async (c) => c.json(await access.getTenantHolidays(serviceContext(c), c.req.valid("param").id), 200),
  );
  return router;
}
