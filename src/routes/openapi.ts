import { OpenAPIHono, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { Problem } from "../../schemas/common.js";
import type { AppEnv } from "../app-env.js";
import { GatewayError } from "../errors.js";
import { zodFieldErrors } from "../lib/problem.js";
import type { ServiceContext } from "../services/context.js";

/** Every router shares one validation hook, so every bad request becomes the same problem shape. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
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

export const idempotencyHeader = {
  name: "Idempotency-Key",
  in: "header" as const,
  required: false,
  schema: { type: "string" as const, maxLength: 255 },
  description: "Retries with the same key and body return the first response (scoped to the credential).",
};
