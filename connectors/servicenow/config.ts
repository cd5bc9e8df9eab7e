import { z } from "@hono/zod-openapi";
import { PriorityTableOverride } from "../../schemas/priority.js";
import { baseConnectionSettings } from "../sdk/index.js";

const sysId = z.string().regex(/^[0-9a-f]{32}$/, "expected a 32-character hex sys_id");
const priorityValue = z.enum(["1", "2", "3", "4", "5"]);
const matrixRow = z.tuple([priorityValue, priorityValue, priorityValue]);

/**
 * The client's Priority Lookup Rules: rows are impact 1–3, columns urgency 1–3, cells the
 * resulting priority 1–5. Clients may change these rules, so the engine hands this matrix to
 * the priority translation (schemas/priority.ts); the connector itself only passes it on.
 */
export const ImpactUrgencyMatrix = z.tuple([matrixRow, matrixRow, matrixRow]);
export type ImpactUrgencyMatrix = z.infer<typeof ImpactUrgencyMatrix>;

export const ServiceNowSettings = baseConnectionSettings.extend({
  /** Table API table; the state mapping assumes the incident state model. */
  table: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/)
    .default("incident"),
  /** sys_user_group sys_id written as assignment_group on create. */
  assignmentGroup: sysId.optional(),
  /** sys_user sys_id written as caller_id on create (requesters are not looked up by email). */
  callerId: sysId.optional(),
  impactUrgencyMatrix: ImpactUrgencyMatrix.optional(),
  /** Overrides of the ServiceNow priority table (sites that renamed or re-ranked priorities). */
  priorityOverride: PriorityTableOverride.optional(),
  /** Write public comments as work notes, for clients whose callers must not see provider updates. */
  publicCommentsAsWorkNotes: z.boolean().default(false),
  /** close_code sent with Resolved/Closed. Choices are per instance (sys_choice incident.close_code). */
  resolutionCode: z.string().min(1).default("Solution provided"),
  /** close_notes sent with Resolved/Closed when the ticket carries no resolution note. */
  resolutionNotes: z.string().min(1).default("Resolved by the service provider."),
  /**
   * user_name of the integration user, for comment read-back and echo detection.
   * Defaults to `auth.username` under Basic auth; set it for OAuth2 or bearer.
   */
  integrationUser: z.string().min(1).optional(),
  /** Encoded query ANDed to the changed-since poll, e.g. `assignment_group=<sys_id>`. */
  inboundQuery: z
    .string()
    .min(1)
    .max(2_000)
    .refine(
      (query) => !/ORDERBY|\^NQ/.test(query),
      "must not contain ORDERBY or ^NQ: the poll sets its own order",
    )
    .optional(),
});
export type ServiceNowSettings = z.infer<typeof ServiceNowSettings>;

/** The user_name our writes carry in sys_updated_by / sys_created_by, when known. */
export function integrationUserOf(settings: ServiceNowSettings): string | null {
  if (settings.integrationUser !== undefined) return settings.integrationUser;
  return settings.auth.type === "basic" ? settings.auth.username : null;
}
