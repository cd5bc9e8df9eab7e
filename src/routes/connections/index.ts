import { createRoute, z } from "@hono/zod-openapi";
import { connectorTypes } from "../../../connectors/index.js";
import { idParam, ListQuery, listOf, text } from "../../../schemas/common.js";
import {
  Connection as ConnectionBase,
  ConnectionHealth,
  ConnectionTestResult,
  CreateConnection as CreateConnectionBase,
  CreatedConnection as CreatedConnectionBase,
  DeadLetter,
  DeadLetterDetail,
  DeadLetterQuery,
  PauseConnection,
  UpdateConnection,
} from "../../../schemas/connection.js";
import { carrierClientFor, testConnection } from "../../sync/clients.js";
import * as connectionsService from "../../sync/connections.js";
import * as deadLetters from "../../sync/dead-letters.js";
import {
  bearerSecurity,
  createRouter,
  idempotencyHeader,
  jsonBody,
  jsonResponse,
  problemResponses,
  serviceContext,
} from "../openapi.js";

const tags = ["Connections"];

// The type enum comes from the connector registry, which schemas/ cannot import.
const ConnectorType = z.enum(connectorTypes).openapi("ConnectorType");
const CreateConnection = CreateConnectionBase.extend({ type: ConnectorType }).openapi("CreateConnection");
const Connection = ConnectionBase.extend({ type: ConnectorType }).openapi("Connection");
const CreatedConnection = CreatedConnectionBase.extend({ type: ConnectorType }).openapi("CreatedConnection");

export function connectionRoutes() {
  const router = createRouter();

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/connections",
      tags,
      summary: "Connect a client servicedesk (one tenant) or a carrier (the provider's)",
      description:
        "Settings are validated by the connector and encrypted at rest; secrets are never returned. When no `webhookSecret` is given one is generated and shown once. `webhookUrl` is where the vendor sends events.",
      security: bearerSecurity,
      request: { body: jsonBody(CreateConnection) },
      parameters: [idempotencyHeader],
      responses: { 201: jsonResponse(CreatedConnection, "Created."), ...problemResponses },
    }),
    async (c) => {
      const created = await connectionsService.createConnection(serviceContext(c), c.req.valid("json"));
      if (created.webhookSecret) c.set("responseContainsSecret", true);
      return c.json(created, 201);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/connections",
      tags,
      summary: "List connections the caller may see",
      security: bearerSecurity,
      request: { query: ListQuery },
      responses: {
        200: jsonResponse(listOf(Connection, "ConnectionList"), "A page of connections."),
      },
    }),
    async (c) =>
      c.json(await connectionsService.listConnections(serviceContext(c), c.req.valid("query")), 200),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/connections/{id}",
      tags,
      summary: "Read a connection (secrets redacted)",
      security: bearerSecurity,
      request: { params: idParam("connection") },
      responses: { 200: jsonResponse(Connection, "The connection.") },
    }),
    async (c) =>
      c.json(await connectionsService.getConnection(serviceContext(c), c.req.valid("param").id), 200),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/connections/{id}/health",
      tags,
      summary:
        "A connection's health: state, last success and failure, recent outcomes, backlog, polls, limits",
      description:
        "The provider, or the tenant owning the connection. Counts come from the last evaluation (every `CONNECTION_HEALTH_INTERVAL_MS`); backlog, dead letters, pause, hold, rate limit and last poll are live. States and rules: docs/operations.md#connection-health.",
      security: bearerSecurity,
      request: { params: idParam("connection") },
      responses: {
        200: jsonResponse(ConnectionHealth, "The connection's health."),
      },
    }),
    async (c) =>
      c.json(await connectionsService.getConnectionHealth(serviceContext(c), c.req.valid("param").id), 200),
  );

  router.openapi(
    createRoute({
      method: "patch",
      path: "/v1/connections/{id}",
      tags,
      summary: "Change a connection; settings are merged and a secret left out keeps its value",
      security: bearerSecurity,
      request: { params: idParam("connection"), body: jsonBody(UpdateConnection) },
      responses: {
        200: jsonResponse(Connection, "The connection."),
      },
    }),
    async (c) =>
      c.json(
        await connectionsService.updateConnection(
          serviceContext(c),
          c.req.valid("param").id,
          c.req.valid("json"),
        ),
        200,
      ),
  );

  router.openapi(
    createRoute({
      method: "delete",
      path: "/v1/connections/{id}",
      tags,
      summary: "Delete a connection; what it registered at the vendor is torn down",
      security: bearerSecurity,
      request: { params: idParam("connection") },
      responses: { 204: { description: "Deleted." } },
    }),
    async (c) => {
      const ctx = serviceContext(c);
      await connectionsService.deleteConnection(ctx, c.req.valid("param").id, async (loaded) => {
        if (loaded.connector.kind !== "carrier" || !loaded.row.remoteListenerId) return null;
        await carrierClientFor(ctx.engine, loaded).unregisterListener(loaded.row.remoteListenerId);
        return `listener ${loaded.row.remoteListenerId} removed`;
      });
      return c.body(null, 204);
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/connections/{id}/test",
      tags,
      summary: "Check reachability and credentials",
      security: bearerSecurity,
      request: { params: idParam("connection") },
      responses: {
        200: jsonResponse(ConnectionTestResult, "What the vendor answered."),
      },
    }),
    async (c) => c.json(await testConnection(serviceContext(c), c.req.valid("param").id), 200),
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/connections/{id}/backfill",
      tags,
      summary: "Send the tenant's existing, not yet linked tickets to this servicedesk",
      security: bearerSecurity,
      request: { params: idParam("connection") },
      responses: {
        202: jsonResponse(z.object({ enqueued: z.number().int() }), "Queued as jobs."),
      },
    }),
    async (c) =>
      c.json(await connectionsService.backfillConnection(serviceContext(c), c.req.valid("param").id), 202),
  );

  for (const action of ["pause", "resume"] as const) {
    router.openapi(
      createRoute({
        method: "post",
        path: `/v1/connections/{id}/${action}`,
        tags,
        summary:
          action === "pause"
            ? "Pause a connection: its jobs wait (nothing dead-letters for it) and its webhooks are still accepted"
            : "Resume a paused connection: its waiting jobs run",
        description:
          "The provider, or a tenant for its own servicedesk connections. The state, reason and actor are ledgered (`connection.paused`, `connection.resumed`) and shown on the connection.",
        security: bearerSecurity,
        request:
          action === "pause"
            ? { params: idParam("connection"), body: jsonBody(PauseConnection) }
            : { params: idParam("connection") },
        responses: {
          200: jsonResponse(Connection, "The connection."),
        },
      }),
      async (c) => {
        const reason =
          action === "pause" ? (c.req.valid("json" as never) as { reason: string }).reason : null;
        return c.json(
          await connectionsService.setConnectionPaused(
            serviceContext(c),
            c.req.valid("param").id,
            action === "pause",
            reason,
          ),
          200,
        );
      },
    );
  }

  const deadTags = ["Dead letters"];
  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/dead-letters",
      tags: deadTags,
      summary:
        "Jobs that failed for good: inbound notices that could not be applied and outbound effects (each of which holds the later jobs of its connection and ticket)",
      security: bearerSecurity,
      request: { query: ListQuery.extend(DeadLetterQuery.shape) },
      responses: {
        200: jsonResponse(listOf(DeadLetter, "DeadLetterList"), "A page of dead letters."),
      },
    }),
    async (c) => c.json(await deadLetters.listDeadLetters(serviceContext(c), c.req.valid("query")), 200),
  );

  const settled = z.object({ id: z.number().int(), status: text() });
  const DeadLetterId = z.object({ id: z.coerce.number().int().positive() });
  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/dead-letters/{id}",
      tags: deadTags,
      summary: "Inspect a dead letter: its payload, the stored notice and every attempt",
      security: bearerSecurity,
      request: { params: DeadLetterId },
      responses: {
        200: jsonResponse(DeadLetterDetail, "The dead letter."),
      },
    }),
    async (c) => c.json(await deadLetters.getDeadLetter(serviceContext(c), c.req.valid("param").id), 200),
  );
  for (const action of ["replay", "skip"] as const) {
    router.openapi(
      createRoute({
        method: "post",
        path: `/v1/dead-letters/{id}/${action}`,
        tags: deadTags,
        summary:
          action === "replay"
            ? "Deliver a dead job again (provider)"
            : "Drop a dead job and unblock the jobs behind it (provider)",
        security: bearerSecurity,
        request: { params: DeadLetterId },
        responses: { 200: jsonResponse(settled, "Done.") },
      }),
      async (c) =>
        c.json(await deadLetters.settleDeadLetter(serviceContext(c), c.req.valid("param").id, action), 200),
    );
  }

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/dead-letters/replay",
      tags: deadTags,
      summary: "Replay every dead job matching a filter (provider)",
      security: bearerSecurity,
      request: { body: jsonBody(DeadLetterQuery.strict()) },
      responses: {
        200: jsonResponse(z.object({ replayed: z.number().int() }), "Replayed."),
      },
    }),
    async (c) => c.json(await deadLetters.replayDeadLetters(serviceContext(c), c.req.valid("json")), 200),
  );
  return router;
}
