import { z } from "@hono/zod-openapi";
import { PriorityTableOverride } from "../../schemas/priority.js";
import { baseConnectionSettings } from "../sdk/index.js";

/** Zendesk's own priority values; an override may only send these, since Zendesk rejects any other. */
export const zendeskPriorities = ["urgent", "high", "normal", "low"] as const;

/** A Zendesk numeric id (users, brands, ticket fields). */
const zendeskId = z.int().positive();

/** Where canonical fields without a native Zendesk field are kept: ticket custom field ids. */
export const FieldMapping = z.strictObject({
  category: zendeskId.optional(),
  affectedService: zendeskId.optional(),
});
export type FieldMapping = z.infer<typeof FieldMapping>;

const priorityOverride = PriorityTableOverride.refine(
  (override) =>
    Object.values(override.outbound ?? {}).every((value) =>
      (zendeskPriorities as readonly string[]).includes(value),
    ),
  { message: `outbound priorities must be one of ${zendeskPriorities.join(", ")}` },
);

export const ZendeskSettings = baseConnectionSettings.extend({
  /** `https://{subdomain}.zendesk.com`. Host-mapped help-centre domains do not serve the API. */
  baseUrl: baseConnectionSettings.shape.baseUrl,
  /**
   * An API token is Basic auth with `{email}/token` as the user name and the token as the password;
   * OAuth access tokens are `bearer` (or `oauth2` with Zendesk's `/oauth/tokens` and a refresh token).
   * https://developer.zendesk.com/api-reference/introduction/security-and-auth/
   */
  auth: baseConnectionSettings.shape.auth.refine(
    (auth) => auth.type !== "basic" || auth.username.endsWith("/token"),
    // Zendesk is phasing out password access to the API; only the API-token form of Basic is accepted.
    { message: 'Basic auth takes an API token: username "{email}/token", password the token' },
  ),
  /**
   * The integration user's Zendesk user id (`GET /api/v2/users/me`). Our writes carry it as
   * audit and comment author, so it tells our own echoes and comments apart from people's.
   */
  integrationUserId: zendeskId,
  /** Written as `brand_id` on create; the changed-since poll skips tickets of other brands. */
  brandId: zendeskId.optional(),
  /** Changes to the Zendesk priority scheme for this connection (schemas/priority.ts). */
  priorityOverride: priorityOverride.optional(),
  /** Write public comments as internal notes, for clients whose requesters must not see provider updates. */
  publicCommentsAsInternal: z.boolean().default(false),
  /** Largest attachment moved either way. Zendesk's own per-file limit is 50 MB. */
  attachmentMaxBytes: z
    .int()
    .positive()
    .max(50 * 1024 * 1024)
    .default(20 * 1024 * 1024),
  fieldMapping: FieldMapping.optional(),
  /** Accepted clock distance of `X-Zendesk-Webhook-Signature-Timestamp`, against replays. */
  webhookToleranceSeconds: z.int().min(30).max(3_600).default(300),
  // The incremental export cannot filter server-side; scope with brandId instead.
  inboundQuery: z
    .undefined({ error: "not supported by the Zendesk connector: scope inbound tickets with brandId" })
    .optional(),
});
export type ZendeskSettings = z.infer<typeof ZendeskSettings>;
/** The author id our writes carry, as the string the engine compares with `updatedBy` and comment authors. */
export function integrationUserOf(settings: ZendeskSettings): string {
  return String(settings.integrationUserId);
}
