import { createRoute, z } from "@hono/zod-openapi";
import { idParam, ListQuery, listOf, text } from "../../../schemas/common.js";
import { LedgerEntry } from "../../../schemas/ledger.js";
import {
  RecordAppointment,
  RecordedReplacementEvent,
  RecordPartFailure,
  RecordReplacementShipment,
  TicketSla,
} from "../../../schemas/sla.js";
import {
  Attachment,
  Comment,
  CreateComment,
  CreateTicket,
  Ticket,
  TicketListQuery,
  UpdateTicket,
} from "../../../schemas/ticket.js";
import { listTicketLedger } from "../../services/ledger.js";
import * as tickets from "../../services/tickets.js";
import {
  bearerSecurity,
  createRouter,
  etagOf,
  idempotencyHeader,
  jsonBody,
  jsonResponse,
  parseIfMatch,
  problemResponses,
  serviceContext,
} from "../openapi.js";

const tags = ["Tickets"];
const etagHeader = {
  ETag: { schema: { type: "string" as const }, description: 'Strong ETag: `"<version>"`.' },
};

export function ticketRoutes() {
  const router = createRouter();

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/tickets",
      tags,
      summary: "Open a ticket",
      description: "A tenant key opens a ticket in its own tenant; provider credentials name `tenantId`.",
      security: bearerSecurity,
      request: { body: jsonBody(CreateTicket) },
      parameters: [idempotencyHeader],
      responses: {
        201: { ...jsonResponse(Ticket, "Created, in status new."), headers: etagHeader },
        ...problemResponses,
      },
    }),
    async (c) => {
      const ticket = await tickets.createTicket(serviceContext(c), c.req.valid("json"));
      c.header("ETag", etagOf(ticket.version));
      c.header("Location", `/v1/tickets/${ticket.id}`);
      return c.json(ticket, 201);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/tickets",
      tags,
      summary: "List tickets the caller may see",
      security: bearerSecurity,
      request: { query: ListQuery.extend(TicketListQuery.shape) },
      responses: {
        200: jsonResponse(listOf(Ticket, "TicketList"), "A page of tickets, oldest first."),
      },
    }),
    async (c) => c.json(await tickets.listTickets(serviceContext(c), c.req.valid("query")), 200),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/tickets/{id}",
      tags,
      summary: "Read a ticket",
      security: bearerSecurity,
      request: { params: idParam("ticket") },
      responses: {
        200: {
          ...jsonResponse(
            Ticket.extend({ sla: TicketSla }).openapi("TicketWithSla"),
            "The ticket and its SLA clocks.",
          ),
          headers: etagHeader,
        },
      },
    }),
    async (c) => {
      const ticket = await tickets.getTicket(serviceContext(c), c.req.valid("param").id);
      c.header("ETag", etagOf(ticket.version));
      return c.json(ticket, 200);
    },
  );

  router.openapi(
    createRoute({
      method: "patch",
      path: "/v1/tickets/{id}",
      tags,
      summary: "Change a ticket's fields or status",
      description:
        "Tenant keys may change title, description and priority, cancel, and reopen or close a resolved ticket; other status changes are the provider's. `If-Match` is optional; a stale one is 412.",
      security: bearerSecurity,
      request: {
        params: idParam("ticket"),
        body: jsonBody(UpdateTicket),
        headers: z.object({ "if-match": text().optional() }),
      },
      responses: {
        200: { ...jsonResponse(Ticket, "The updated ticket."), headers: etagHeader },
        ...problemResponses,
        412: { description: "If-Match does not name the current version." },
      },
    }),
    async (c) => {
      const ifMatchVersion = parseIfMatch(c.req.header("if-match"));
      const ticket = await tickets.updateTicket(
        serviceContext(c),
        c.req.valid("param").id,
        c.req.valid("json"),
        {
          ifMatchVersion,
        },
      );
      c.header("ETag", etagOf(ticket.version));
      return c.json(ticket, 200);
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/tickets/{id}/comments",
      tags,
      summary: "Comment on a ticket",
      description:
        "`visibility` defaults to `internal` so nothing leaks by accident; `public` comments go to the client's servicedesk.",
      security: bearerSecurity,
      request: { params: idParam("ticket"), body: jsonBody(CreateComment) },
      parameters: [idempotencyHeader],
      responses: {
        201: { ...jsonResponse(Comment, "Created. ETag is the ticket's new version."), headers: etagHeader },
        ...problemResponses,
      },
    }),
    async (c) => {
      const { comment, ticketVersion } = await tickets.addComment(
        serviceContext(c),
        c.req.valid("param").id,
        c.req.valid("json"),
      );
      c.header("ETag", etagOf(ticketVersion));
      return c.json(comment, 201);
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/tickets/{id}/appointments",
      tags,
      summary: "Record an appointment (provider); meets a plan's appointment clock",
      security: bearerSecurity,
      request: { params: idParam("ticket"), body: jsonBody(RecordAppointment) },
      responses: {
        201: jsonResponse(
          z.object({
            appointmentId: text().openapi({ description: "Names the appointment to start and conclude." }),
            ticketId: text(),
            scheduledFor: text(),
            recordedAt: text(),
            version: z.number(),
          }),
          "Recorded.",
        ),
        ...problemResponses,
      },
    }),
    async (c) => {
      const result = await tickets.recordAppointment(
        serviceContext(c),
        c.req.valid("param").id,
        c.req.valid("json").scheduledFor,
      );
      c.header("ETag", etagOf(result.version));
      return c.json(result, 201);
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/tickets/{id}/replacements",
      tags,
      summary: "Confirm a failed part (provider); starts a plan's replacement clock",
      description:
        "On `roi-advanced-replacement` this starts the `replacement` clock: next business day. A second failure while one awaits shipment is recorded but keeps the running due.",
      security: bearerSecurity,
      request: { params: idParam("ticket"), body: jsonBody(RecordPartFailure) },
      responses: { 201: jsonResponse(RecordedReplacementEvent, "Recorded."), ...problemResponses },
    }),
    async (c) => {
      const result = await tickets.recordPartFailure(
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
      method: "post",
      path: "/v1/tickets/{id}/replacements/shipment",
      tags,
      summary: "Record the replacement's shipment (provider); meets the replacement clock",
      security: bearerSecurity,
      request: { params: idParam("ticket"), body: jsonBody(RecordReplacementShipment) },
      responses: { 201: jsonResponse(RecordedReplacementEvent, "Recorded."), ...problemResponses },
    }),
    async (c) => {
      const result = await tickets.recordReplacementShipment(
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
      path: "/v1/tickets/{id}/comments",
      tags,
      summary: "List a ticket's comments (tenant keys do not see provider-internal notes)",
      security: bearerSecurity,
      request: { params: idParam("ticket"), query: ListQuery },
      responses: {
        200: jsonResponse(listOf(Comment, "CommentList"), "A page of comments, oldest first."),
      },
    }),
    async (c) =>
      c.json(
        await tickets.listComments(serviceContext(c), c.req.valid("param").id, c.req.valid("query")),
        200,
      ),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/tickets/{id}/attachments",
      tags,
      summary: "List a ticket's attachments (metadata; the content streams between servicedesks)",
      security: bearerSecurity,
      request: { params: idParam("ticket"), query: ListQuery },
      responses: {
        200: jsonResponse(listOf(Attachment, "AttachmentList"), "A page of attachments, oldest first."),
      },
    }),
    async (c) =>
      c.json(
        await tickets.listAttachments(serviceContext(c), c.req.valid("param").id, c.req.valid("query")),
        200,
      ),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/tickets/{id}/ledger",
      tags,
      summary: "The ticket's integration ledger entries",
      security: bearerSecurity,
      request: { params: idParam("ticket"), query: ListQuery },
      responses: {
        200: jsonResponse(listOf(LedgerEntry, "TicketLedger"), "A page of ledger entries in sequence order."),
      },
    }),
    async (c) =>
      c.json(await listTicketLedger(serviceContext(c), c.req.valid("param").id, c.req.valid("query")), 200),
  );
  return router;
}
