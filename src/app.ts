import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { unstorable } from "../schemas/common.js";
import type { AppDeps, AppEnv } from "./app-env.js";
import { consoleRoutes } from "./console/routes.js";
import { GatewayError } from "./errors.js";
import { renderProblem, toGatewayError } from "./lib/problem.js";
import { authenticate } from "./middleware/auth.js";
import { idempotency } from "./middleware/idempotency.js";
import { requestLog } from "./middleware/request-log.js";
import { traceRequests } from "./observability/tracing.js";
import { billingRoutes } from "./routes/billing/index.js";
import { connectionRoutes } from "./routes/connections/index.js";
import { delegationRoutes } from "./routes/delegations/index.js";
import { eventSubscriptionRoutes } from "./routes/event-subscriptions/index.js";
import { ledgerRoutes } from "./routes/ledger/index.js";
import { metricsRoutes } from "./routes/metrics.js";
import { documentCommonProblems, documentPlainRoutes } from "./routes/openapi.js";
import { operatorRoutes } from "./routes/operators/index.js";
import { slaRoutes } from "./routes/sla/index.js";
import { systemRoutes } from "./routes/system.js";
import { tenantRoutes } from "./routes/tenants/index.js";
import { ticketRoutes } from "./routes/tickets/index.js";
import { webhookRoutes } from "./routes/webhooks.js";

export const MAX_BODY_BYTES = 1024 * 1024;

/** Builds the HTTP app; no I/O happens here, so tests call `app.request()` on a fresh one. */
export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();

  app.use(traceRequests());
  app.use(requestId({ headerName: "X-Request-Id" }));
  app.use(async (c, next) => {
    c.set("deps", deps);
    await next();
  });
  app.use(requestLog());
  const { jobsQueued } = deps;
  if (jobsQueued) {
    // A write that succeeded may have queued jobs, committed by the time its handler returns.
    app.use(async (c, next) => {
      await next();
      if (c.req.method !== "GET" && c.req.method !== "HEAD" && c.res.status < 400) jobsQueued();
    });
  }
  const tooLarge = () => {
    throw new GatewayError("PAYLOAD_TOO_LARGE", `The body is larger than ${MAX_BODY_BYTES} bytes.`);
  };
  const limitStreamedBody = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });
  app.use(async (c, next) => {
    // hono's bodyLimit first reads `c.req.raw.body`, which makes @hono/node-server build a whole web Request
    // (abort signal, body stream) that the handlers never need: about 0.1 ms of every request's CPU. A GET or
    // HEAD has no body, and a declared Content-Length without Transfer-Encoding is all bodyLimit checks then
    // (Node's parser reads exactly that many bytes); only other bodies go through it, to be counted as read.
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const declared = c.req.header("content-length");
    if (declared !== undefined && c.req.header("transfer-encoding") === undefined) {
      return Number.parseInt(declared, 10) > MAX_BODY_BYTES ? tooLarge() : next();
    }
    return limitStreamedBody(c, next);
  });

  // A path that decodes to NUL or an unpaired surrogate names nothing: refused before any middleware
  // stores it (the Idempotency-Key record keeps the path) or any route queries with it.
  app.use(async (c, next) => {
    if (unstorable(c.req.path)) throw new GatewayError("NOT_FOUND", "No such resource.");
    await next();
  });
  app.route("/", systemRoutes());
  app.route("/", metricsRoutes());
  app.route("/", consoleRoutes());
  app.route("/", webhookRoutes());
  app.use("/v1/*", authenticate());
  app.use("/v1/*", idempotency(documentsIdempotencyKey(app)));
  app.route("/", tenantRoutes());
  app.route("/", operatorRoutes());
  app.route("/", ticketRoutes());
  app.route("/", ledgerRoutes());
  app.route("/", slaRoutes());
  app.route("/", connectionRoutes());
  app.route("/", delegationRoutes());
  app.route("/", billingRoutes());
  app.route("/", eventSubscriptionRoutes());

  documentCommonProblems(app.openAPIRegistry);
  documentPlainRoutes(app.openAPIRegistry);
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "The admin token, an operator key or a tenant key.",
  });
  app.doc31("/openapi.json", (c) => ({
    openapi: "3.1.0",
    info: {
      title: "ticket-sync-gateway",
      version: "0.1.0",
      description:
        "Two-way ticket sync between a provider and its clients' servicedesks, carrier delegation, priority normalisation, SLA clocks and a tamper-evident integration ledger. Errors are RFC 9457 problem+json.",
    },
    servers: [{ url: c.get("deps").config.publicUrl }],
  }));

  app.notFound((c) =>
    renderProblem(c, new GatewayError("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}.`)),
  );
  app.onError((error, c) => {
    const problem = toGatewayError(error);
    const logger = c.var.logger ?? deps.logger;
    if (problem.code === "UNAVAILABLE")
      logger.warn({ err: error, requestId: c.get("requestId") }, "unavailable");
    else if (problem.status >= 500)
      logger.error({ err: error, requestId: c.get("requestId") }, "unhandled error");
    return renderProblem(c, problem);
  });
  return app;
}

export type App = ReturnType<typeof createApp>;

/**
 * Idempotency-Key applies to the operations whose contract declares it (the POSTs that create things);
 * read from the OpenAPI registry on first use, once every route is registered.
 */
function documentsIdempotencyKey(app: OpenAPIHono<AppEnv>) {
  let matchers: { method: string; pattern: RegExp }[] | null = null;
  return (method: string, path: string) => {
    matchers ??= app.openAPIRegistry.definitions.flatMap((d) => {
      if (d.type !== "route") return [];
      const params = (d.route.parameters ?? []) as { name?: string; in?: string }[];
      if (!params.some((p) => p.in === "header" && p.name?.toLowerCase() === "idempotency-key")) return [];
      const source = d.route.path.replace(/\{[^}]+\}/g, "[^/]+");
      return [{ method: d.route.method.toUpperCase(), pattern: new RegExp(`^${source}$`) }];
    });
    return matchers.some((m) => m.method === method && m.pattern.test(path));
  };
}
