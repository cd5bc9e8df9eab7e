import { createRoute } from "@hono/zod-openapi";
import { idParam, ListQuery, listOf } from "../../../schemas/common.js";
import {
  CreateEventSubscription,
  EventDelivery,
  EventQueued,
  EventSubscription,
  EventSubscriptionWithSecret,
  eventIdParam,
  ResendEvent,
  UpdateEventSubscription,
} from "../../../schemas/event.js";
import * as service from "../../services/event-subscriptions.js";
import {
  bearerSecurity,
  createRouter,
  idempotencyHeader,
  jsonBody,
  jsonResponse,
  problemResponses,
  serviceContext,
} from "../openapi.js";

const tags = ["Events"];
const params = idParam("eventSubscription");

export function eventSubscriptionRoutes() {
  const router = createRouter();

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/event-subscriptions",
      tags,
      summary: "Subscribe a URL (or Slack, or an email address) to events",
      description:
        "The provider subscribes for every tenant or one (`tenantId`); a tenant key for its own tenant, and never receives provider-internal content. The signing secret is shown once. See docs/events.md.",
      security: bearerSecurity,
      request: { body: jsonBody(CreateEventSubscription) },
      parameters: [idempotencyHeader],
      responses: {
        201: jsonResponse(EventSubscriptionWithSecret, "Created; `secret` is shown only now."),
        ...problemResponses,
      },
    }),
    async (c) => {
      const created = await service.createEventSubscription(serviceContext(c), c.req.valid("json"));
      c.set("responseContainsSecret", true);
      return c.json(created, 201);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/event-subscriptions",
      tags,
      summary: "List the event subscriptions the caller may manage",
      security: bearerSecurity,
      request: { query: ListQuery },
      responses: {
        200: jsonResponse(listOf(EventSubscription, "EventSubscriptionList"), "A page of subscriptions."),
      },
    }),
    async (c) => c.json(await service.listEventSubscriptions(serviceContext(c), c.req.valid("query")), 200),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/event-subscriptions/{id}",
      tags,
      summary: "Read an event subscription (no secret)",
      security: bearerSecurity,
      request: { params },
      responses: {
        200: jsonResponse(EventSubscription, "The subscription."),
      },
    }),
    async (c) => c.json(await service.getEventSubscription(serviceContext(c), c.req.valid("param").id), 200),
  );

  router.openapi(
    createRoute({
      method: "patch",
      path: "/v1/event-subscriptions/{id}",
      tags,
      summary: "Change the url, format, event types, description, or pause it (`enabled: false`)",
      security: bearerSecurity,
      request: { params, body: jsonBody(UpdateEventSubscription) },
      responses: {
        200: jsonResponse(EventSubscription, "The subscription."),
      },
    }),
    async (c) =>
      c.json(
        await service.updateEventSubscription(
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
      path: "/v1/event-subscriptions/{id}",
      tags,
      summary: "Delete a subscription and its delivery log; queued deliveries are dropped",
      security: bearerSecurity,
      request: { params },
      responses: { 204: { description: "Deleted." } },
    }),
    async (c) => {
      await service.deleteEventSubscription(serviceContext(c), c.req.valid("param").id);
      return c.body(null, 204);
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/event-subscriptions/{id}/rotate-secret",
      tags,
      summary: "Replace the signing secret (the new one is shown once; the old one stops at once)",
      security: bearerSecurity,
      request: { params },
      parameters: [idempotencyHeader],
      responses: {
        200: jsonResponse(EventSubscriptionWithSecret, "The new secret, shown only now."),
      },
    }),
    async (c) => {
      const rotated = await service.rotateEventSubscriptionSecret(serviceContext(c), c.req.valid("param").id);
      c.set("responseContainsSecret", true);
      return c.json(rotated, 200);
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/event-subscriptions/{id}/test",
      tags,
      summary: "Send a `test` event through the delivery path (signing, retries, delivery log)",
      security: bearerSecurity,
      request: { params },
      parameters: [idempotencyHeader],
      responses: { 202: jsonResponse(EventQueued, "Queued.") },
    }),
    async (c) => c.json(await service.sendTestEvent(serviceContext(c), c.req.valid("param").id), 202),
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/event-subscriptions/{id}/deliveries",
      tags,
      summary: "The delivery log: every attempt, newest first (status, latency, error, webhook-id)",
      security: bearerSecurity,
      request: { params, query: ListQuery },
      responses: {
        200: jsonResponse(listOf(EventDelivery, "EventDeliveryList"), "A page of attempts."),
      },
    }),
    async (c) =>
      c.json(
        await service.listEventDeliveries(serviceContext(c), c.req.valid("param").id, c.req.valid("query")),
        200,
      ),
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/v1/events/{eventId}/resend",
      tags,
      summary: "Re-send an event from the ledger under the same webhook-id",
      description:
        "`eventId` is the `webhook-id` (`evt_<ledger sequence>`). Goes to every subscription of the caller that matches the event now, or to `subscriptionId` only.",
      security: bearerSecurity,
      request: { params: eventIdParam, body: { ...jsonBody(ResendEvent), required: false } },
      parameters: [idempotencyHeader],
      responses: {
        202: jsonResponse(EventQueued, "Queued."),
      },
    }),
    async (c) => {
      const body = (c.req.valid("json") as { subscriptionId?: string } | undefined) ?? {};
      return c.json(
        await service.resendEvent(serviceContext(c), c.req.valid("param").eventId, body.subscriptionId),
        202,
      );
    },
  );
  return router;
}
