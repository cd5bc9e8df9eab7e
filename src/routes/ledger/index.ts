import { createRoute, z } from "@hono/zod-openapi";
import { stream } from "hono/streaming";
import { ListQuery, listOf, text } from "../../../schemas/common.js";
import {
  LedgerCheckpoint,
  LedgerCheckpointQuery,
  LedgerCheckpointVerification,
  LedgerCheckpointVerifyRequest,
  LedgerEntry,
  LedgerKeys,
  LedgerQuery,
  LedgerVerification,
} from "../../../schemas/ledger.js";
import { requireAdmin } from "../../middleware/auth.js";
import * as ledger from "../../services/ledger.js";
import {
  bearerSecurity,
  createRouter,
  jsonBody,
  jsonResponse,
  problemResponses,
  serviceContext,
} from "../openapi.js";

const tags = ["Ledger"];
const { 404: notFound } = problemResponses;

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
      },
    }),
    async (c) => {
      requireAdmin(c.get("principal"));
      return c.json(await ledger.verify(serviceContext(c), c.req.valid("query").tenantId), 200);
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/ledger/verify",
      tags,
      summary: "Verify kept checkpoints against the current ledger",
      description:
        "For each checkpoint: is it signed by a published key, and does the ledger still hold, unchanged, every chain head it committed to, extended append-only? Each chain that departs is reported with its first point of divergence. Tenant keys verify their own tenant's checkpoints.",
      security: bearerSecurity,
      request: { body: jsonBody(LedgerCheckpointVerifyRequest) },
      responses: {
        200: jsonResponse(LedgerCheckpointVerification, "One result per checkpoint, in request order."),
        404: notFound,
      },
    }),
    async (c) => {
      const keyring = c.get("deps").config.ledger.keyring;
      return c.json(await ledger.verifyKeptCheckpoints(serviceContext(c), keyring, c.req.valid("json")), 200);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/ledger/keys",
      tags,
      summary: "The public keys that sign checkpoints (JWKS)",
      description:
        "Ed25519 keys as RFC 8037 JWKs; `kid` is the RFC 7638 thumbprint. After a rotation the previous keys stay listed, so old checkpoints still verify.",
      security: bearerSecurity,
      responses: { 200: jsonResponse(LedgerKeys, "The key set.") },
    }),
    (c) => c.json(c.get("deps").config.ledger.keyring.jwks, 200),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/ledger/checkpoints",
      tags,
      summary: "Signed checkpoints of the hash chains, newest first",
      description:
        "A checkpoint per scope (a tenant, or `provider`) commits to every chain head of that scope; a new one is signed when the chains have moved. Tenant keys see their own tenant's.",
      security: bearerSecurity,
      request: { query: ListQuery.extend(LedgerCheckpointQuery.shape) },
      responses: {
        200: jsonResponse(listOf(LedgerCheckpoint, "LedgerCheckpointPage"), "A page of checkpoints."),
        404: notFound,
      },
    }),
    async (c) => c.json(await ledger.listCheckpoints(serviceContext(c), c.req.valid("query")), 200),
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
          description:
            'NDJSON: first `{"type":"ledger.checkpoint","checkpoint":LedgerCheckpoint}` lines (the newest checkpoint of each scope covered), then one LedgerEntry per line.',
          content: { "application/x-ndjson": { schema: text() } },
        },
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
        404: notFound,
      },
    }),
    async (c) => c.json(await ledger.listLedger(serviceContext(c), c.req.valid("query")), 200),
  );
  return router;
}
