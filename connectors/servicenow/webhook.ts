import { z } from "@hono/zod-openapi";
import {
  type InboundNotice,
  parseJsonWebhook,
  type VerifyResult,
  verifyBearerOrPathSecret,
  type WebhookInput,
} from "../sdk/index.js";
import { SnRequiredDateTime, SysId } from "./api-types.js";
import type { ServiceNowSettings } from "./config.js";
import { fromServiceNowDateTime } from "./mapping.js";

// ServiceNow has no signed webhook for table records. The admin pastes our business rule
// (docs/connectors/servicenow.md), which posts this thin JSON with
// `Authorization: Bearer <webhookSecret>` through sn_ws.RESTMessageV2:
// https://www.servicenow.com/docs/r/australia/api-reference/web-services/c_OutboundRESTWebService.html

/** One change as the business rule posts it. Not strict: admins may add fields. */
const BusinessRuleNotice = z.object({
  sys_id: SysId,
  number: z.string().optional(),
  sys_updated_on: SnRequiredDateTime.optional(),
  sys_mod_count: z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).optional(),
  operation: z.enum(["insert", "update", "delete"]).optional(),
});

const BusinessRuleBody = z.union([BusinessRuleNotice, z.array(BusinessRuleNotice).min(1).max(1_000)]);

/**
 * Accepts `Authorization: Bearer <webhookSecret>`, or the secret in the webhook URL path for
 * setups that cannot add headers, compared in constant time.
 */
export function verifyServiceNowWebhook(
  input: WebhookInput,
  settings: ServiceNowSettings,
  _now: Date,
): VerifyResult {
  return verifyBearerOrPathSecret(input, settings.webhookSecret);
}

/** Parses the business rule's JSON (one object or an array of them) into notices. */
export function parseServiceNowWebhook(rawBody: Uint8Array, _headers: Headers): InboundNotice[] {
  const body = parseJsonWebhook(
    rawBody,
    BusinessRuleBody,
    "ServiceNow webhook body",
    "{sys_id, number?, sys_updated_on?, operation?}",
  );
  const notices = Array.isArray(body) ? body : [body];
  return notices.map((notice) => {
    const result: InboundNotice = { externalId: notice.sys_id };
    // sys_mod_count increments on every update, so it tells two same-second updates apart;
    // a delete keeps the last update's count and needs its own id.
    if (notice.operation === "delete") result.deliveryId = `${notice.sys_id}:delete`;
    else if (notice.sys_mod_count !== undefined)
      result.deliveryId = `${notice.sys_id}:${notice.sys_mod_count}`;
    if (notice.sys_updated_on !== undefined)
      result.occurredAt = fromServiceNowDateTime(notice.sys_updated_on)!;
    if (notice.operation !== undefined) result.operation = notice.operation;
    return result;
  });
}
