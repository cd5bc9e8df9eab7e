import type { z } from "@hono/zod-openapi";
import { WebhookPayloadError } from "./errors.js";

/**
 * Decodes a verified webhook body as UTF-8 JSON (invalid UTF-8 is refused, not replaced).
 * @param what - how the error names the body, e.g. `ServiceNow webhook body`.
 * @throws {WebhookPayloadError} when it is not UTF-8 JSON.
 */
export function readJsonWebhookBody(rawBody: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(rawBody));
  } catch (error) {
    throw new WebhookPayloadError(`${what} is not UTF-8 JSON`, { cause: error });
  }
}

/**
 * Checks a decoded body against the documented shape.
 * @param shape - the shape in words for the error, e.g. `{sys_id, operation?}`.
 * @throws {WebhookPayloadError} naming the first issue's path and message.
 */
export function validateWebhookBody<T>(json: unknown, schema: z.ZodType<T>, what: string, shape: string): T {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new WebhookPayloadError(
    `${what} is not ${shape}: ${issue?.path.join(".") || "(root)"} ${issue?.message ?? ""}`.trim(),
    { cause: parsed.error },
  );
}

/**
 * {@link readJsonWebhookBody} then {@link validateWebhookBody}: the whole of most `parseWebhook` bodies before
 * the mapping to notices.
 * @throws {WebhookPayloadError} when the body is not UTF-8 JSON of the documented shape.
 */
export function parseJsonWebhook<T>(
  rawBody: Uint8Array,
  schema: z.ZodType<T>,
  what: string,
  shape: string,
): T {
  return validateWebhookBody(readJsonWebhookBody(rawBody, what), schema, what, shape);
}
