import { createRoute, z } from "@hono/zod-openapi";
import { stream } from "hono/streaming";
import { ListQuery, listOf, text } from "../../../schemas/common.js";
import { LedgerEntry, LedgerQuery, LedgerVerification } from "../../../schemas/ledger.js";
import { requireAdmin } from "../../middleware/auth.js";
import * as ledger from "../../services/ledger.js";
import { bearerSecurity, createRouter, jsonResponse, problemResponses, serviceContext } from "../openapi.js";

const tags = ["Ledger"];
const { 400: badRequest, 401: unauthorized, 403: forbidden, 404: notFound } = problemResponses;

export function ledgerRoutes() {
  const router = createRouter();

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/ledger/verify",
      tags,
      summary: "Verify the hash chains (admin)",
      description:
        "Recomputes every entry's hash and its link to the previous one. `firstBrokenSequence` is the first entry whose content no longer matches, null when ok.",
      security: bearerSecurity,
      request: { query: z.object({ tenantId: text().min(1).optional() }) },
      responses: {
        200: jsonResponse(LedgerVerification, "Verification result."),
        401: unauthorized,
        403: forbidden,
      },
    }),
    async (c) => {
      requireAdmin(c.get("principal"));
      return c.json(await ledger.verify(serviceContext(c), c.req.valid("query").tenantId), 200);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/ledger/export",
      tags,
      summary: "Export ledger entries as NDJSON (streamed)",
      security: bearerSecurity,
      request: { query: LedgerQuery },
      responses: {
        200: {
          description: "One LedgerEntry JSON object per line.",
          content: { "application/x-ndjson": { schema: text() } },
        },
        400: badRequest,
        401: unauthorized,
        404: notFound,
      },
    }),
    async (c) => {
      const ctx = serviceContext(c);
      const lines = ledger.exportLedger(ctx, c.req.valid("query"));
      // Pull the first line before streaming so a bad filter still answers as a problem, not a cut stream.
      const first = await lines.next();
      c.header("content-type", "application/x-ndjson");
      const response = stream(c, async (out) => {
        if (!first.done) await out.write(first.value);
        for await (const line of lines) await out.write(line);
      });
      // A streamed body has no JSON schema for the typed-response check to match.
      return response as never;
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/ledger",
      tags,
      summary: "Query the integration ledger",
      description:
        "Tenant keys see their own tenant's entries. `kind` takes an exact kind or a prefix like `sla.*`.",
      security: bearerSecurity,
      request: { query: ListQuery.extend(LedgerQuery.shape) },
      responses: {
        200: jsonResponse(listOf(LedgerEntry, "LedgerPage"), "A page of entries in sequence order."),
        400: badRequest,
        401: unauthorized,
        404: notFound,
      },
    }),
    async (c) => c.json(await ledger.listLedger(serviceContext(c), c.req.valid("query")), 200),
  );
  return router;
}
