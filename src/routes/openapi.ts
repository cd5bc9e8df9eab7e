import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { Problem, text } from "../../schemas/common.js";
import type { AppEnv } from "../app-env.js";
import { GatewayError } from "../errors.js";
import { zodFieldErrors } from "../lib/problem.js";
import type { ServiceContext } from "../services/context.js";

/** Every router shares one validation hook, so every bad request becomes the same problem shape. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      // A path id of the wrong format names nothing that can exist: 404 without touching the database.
      if (!result.success && "target" in result && result.target === "param") {
        throw new GatewayError("NOT_FOUND", "No resource has this id.", {
          errors: zodFieldErrors(result.error),
        });
      }
      if (!result.success) {
        throw new GatewayError("VALIDATION_FAILED", "The request does not match the API contract.", {
          errors: zodFieldErrors(result.error),
        });
      }
    },
  });
}

export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return {
    required: true,
    description,
    content: { "application/json": { schema } },
  } as const;
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } } as const;
}

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: Problem } },
});

export const problemResponses = {
  400: problem("Malformed JSON, unknown fields or invalid values (`errors` names each path)."),
  401: problem("Missing, unknown or revoked API key."),
  403: problem("The key is valid but lacks the right."),
  404: problem("Not found, or belongs to another tenant."),
  409: problem("Conflict (illegal status transition, idempotent request in progress or not replayable)."),
  413: problem("Body larger than 1 MiB."),
  422: problem("Idempotency-Key reused with a different request."),
} as const;

export const bearerSecurity = [{ bearerAuth: [] }];

export function serviceContext(c: Context<AppEnv>): ServiceContext {
  const deps = c.get("deps");
  return {
    db: deps.database.db,
    principal: c.get("principal"),
    requestId: c.get("requestId"),
    logger: c.get("logger"),
    catalog: deps.catalog,
    now: deps.now,
    engine: {
      secretsKey: deps.config.secretsKey,
      publicUrl: deps.config.publicUrl,
      sync: deps.config.sync,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(deps.resolve ? { resolve: deps.resolve } : {}),
    },
  };
}

export const etagOf = (version: number) => `"${version}"`;

/** `If-Match: "3"` (or W/"3", or a list): the version the client last saw; `*` matches any. */
export function parseIfMatch(header: string | undefined): number | null {
  if (header === undefined || header.trim() === "*") return null;
  const versions = header.split(",").map((tag) => /^\s*(?:W\/)?"(\d+)"\s*$/.exec(tag)?.[1]);
  const first = versions[0];
  if (versions.length !== 1 || first === undefined) {
    throw new GatewayError("PRECONDITION_FAILED", 'If-Match must be a single ETag such as "3".');
  }
  return Number(first);
}

export const idempotencyHeader = {
  name: "Idempotency-Key",
  in: "header" as const,
  required: false,
  schema: { type: "string" as const, maxLength: 255 },
  description: "Retries with the same key and body return the first response (scoped to the credential).",
};

type Registry = OpenAPIHono<AppEnv>["openAPIRegistry"];
interface DocumentedRoute {
  method: string;
  path: string;
  request?: { body?: unknown; query?: unknown; params?: unknown };
  parameters?: { name?: string; in?: string }[];
  responses: Record<string, unknown>;
}

const commonProblems = {
  ...problemResponses,
  412: problem("If-Match does not name the current version."),
  415: problem("The body is not application/json."),
  503: problem("The database is unreachable; retry after the Retry-After header's seconds."),
} as const;

/**
 * Documents, once for every operation, the problems the shared middleware and validation can answer,
 * so no route lists them by hand: 400/401/403 under /v1, 404 with path ids, 413/415 with a body,
 * 409/422 with an Idempotency-Key, and 503 everywhere (database unreachable).
 */
export function documentCommonProblems(registry: Registry) {
  for (const definition of registry.definitions) {
    if (definition.type !== "route") continue;
    const route = definition.route as unknown as DocumentedRoute;
    const add = (status: keyof typeof commonProblems) => {
      route.responses[status] ??= commonProblems[status];
    };
    if (route.path.startsWith("/v1/")) {
      add(400);
      add(401);
      add(403);
    }
    if (/\{[^}]+\}/.test(route.path)) add(404);
    if (route.request?.body !== undefined) {
      add(400);
      add(413);
      add(415);
    }
    if (route.parameters?.some((p) => p.in === "header" && p.name?.toLowerCase() === "idempotency-key")) {
      add(409);
      add(422);
    }
    add(503);
  }
}

const Health = z.object({ status: z.literal("ok") }).openapi("Health");
const Readiness = z
  .object({
    status: z.enum(["ready", "unavailable"]),
    database: z.enum(["ok", "unreachable"]),
    engine: z.enum(["pglite", "postgres"]).optional(),
    pendingMigrations: z.number().int().optional(),
  })
  .openapi("Readiness");
const WebhookAccepted = z
  .object({})
  .catchall(z.unknown())
  .openapi("WebhookAccepted", { description: "The notices were stored in the inbox." });

/** The routes outside the zod contract (health, readiness, vendor webhooks), documented for completeness. */
export function documentPlainRoutes(registry: Registry) {
  registry.registerPath({
    method: "get",
    path: "/healthz",
    tags: ["System"],
    summary: "The process is up",
    responses: { 200: jsonResponse(Health, "Up.") },
  });
  registry.registerPath({
    method: "get",
    path: "/readyz",
    tags: ["System"],
    summary: "The database is reachable and migrated",
    responses: {
      200: jsonResponse(Readiness, "Ready."),
      503: {
        ...jsonResponse(Readiness, "Database unreachable (with Retry-After) or migrations pending."),
        headers: { "Retry-After": { schema: { type: "integer" } } },
      },
    },
  });
  registry.registerPath({
    method: "get",
    path: "/metrics",
    tags: ["System"],
    summary: "Prometheus metrics",
    description:
      "The Prometheus text exposition format (docs/operations.md#metrics-and-tracing lists the series). Takes the metrics token (METRICS_TOKEN) or the admin token; with METRICS_PORT set, also served without auth on that port.",
    security: bearerSecurity,
    responses: {
      200: {
        description: "Every series, text format 0.0.4.",
        content: { "text/plain": { schema: z.string() } },
      },
      401: problemResponses[401],
      403: problem("The token is neither the metrics token nor the admin token."),
    },
  });
  const webhook = (path: string, summary: string, params: z.ZodObject) => {
    registry.registerPath({
      method: "post",
      path,
      tags: ["Webhooks"],
      summary,
      description:
        "Verified on the raw bytes (HMAC, bearer secret or path secret, per connector) before parsing; answered 202 once stored.",
      request: {
        params,
        body: { required: false, content: { "application/json": { schema: z.unknown() } } },
      },
      responses: {
        202: jsonResponse(WebhookAccepted, "Stored (or a duplicate of a stored delivery)."),
        400: commonProblems[400],
        401: problem("The signature or secret does not verify."),
        404: problem("No such connection, or a malformed webhook URL."),
        413: commonProblems[413],
        503: commonProblems[503],
      },
    });
  };
  const connectionId = text().openapi({ description: "The connection's id (`con_...`)." });
  const secret = text().openapi({ description: "The connection's path secret (carriers)." });
  webhook("/webhooks/{connectionId}", "A vendor event (signed)", z.object({ connectionId }));
  webhook(
    "/webhooks/{connectionId}/{secret}",
    "A carrier event (path secret)",
    z.object({ connectionId, secret }),
  );
  webhook(
    "/webhooks/{connectionId}/{secret}/{subPath}",
    "A carrier event under a vendor-appended path",
    z.object({ connectionId, secret, subPath: text() }),
  );
}
