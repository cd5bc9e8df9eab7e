import { z } from "@hono/zod-openapi";
import { PriorityTableOverride } from "../../schemas/priority.js";
import type { Priority } from "../../schemas/ticket.js";
import { baseConnectionSettings } from "../sdk/index.js";

/** The seller's Trouble Ticket Management base path (MEF 124 v4 `servers[0].url`). */
export const managementBasePath = "/mefApi/sonata/troubleTicket/v4";
/** What the seller appends to our hub callback before `/listener/<eventType>` (notification API `servers[0].url`). */
export const notificationBasePath = "/mefApi/sonata/troubleTicketNotification/v4";

/** MEF 124 `MEFObservedImpactType`. */
export const observedImpacts = ["degraded", "intermittent", "down"] as const;
export const ObservedImpact = z.enum(observedImpacts);
export type ObservedImpact = z.infer<typeof ObservedImpact>;

/** MEF 124 `TroubleTicketType`: the presumed cause as evaluated by the buyer. */
export const troubleTicketTypes = ["assistance", "information", "installation", "maintenance"] as const;
export const TroubleTicketType = z.enum(troubleTicketTypes);
export type TroubleTicketType = z.infer<typeof TroubleTicketType>;

/**
 * The reporter contact MEF requires on every create (`relatedContactInformation` with
 * `role=reporterContact`; `emailAddress`, `name` and `number` are all required by the schema).
 * The delegating operator's name and details win where the delegation carries them.
 */
export const ReporterContactDefaults = z.strictObject({
  /** Used when the delegation has no reporter name, e.g. "Provider NOC". */
  name: z.string().min(1).default("Service desk"),
  emailAddress: z.email(),
  number: z.string().min(3),
  organization: z.string().min(1).optional(),
});

const ObservedImpactByPriority = z.strictObject({
  P1: ObservedImpact,
  P2: ObservedImpact,
  P3: ObservedImpact,
  P4: ObservedImpact,
});

export const MefSonataSettings = baseConnectionSettings.extend({
  /** The seller's server URL, ending in `/mefApi/sonata/troubleTicket/v4`. */
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .refine(
      (url) => new URL(url).pathname.replace(/\/+$/, "").endsWith(managementBasePath),
      `must end with ${managementBasePath} (MEF 124 v4 server URL)`,
    ),
  /**
   * MEF 124 R3-R7: sent as `buyerId` / `sellerId` query parameters only when this connection
   * represents several buyers or the seller several sellers; leave unset otherwise (MUST NOT be sent).
   */
  buyerId: z.string().min(1).optional(),
  sellerId: z.string().min(1).optional(),
  reporterContact: ReporterContactDefaults,
  /**
   * MEF requires a `ticketType`. None of its four values names a failure (the developer guide's
   * "failure" is not in the enum); `maintenance` ("any scheduled or non-scheduled maintenance
   * related issue") is the closest for a service fault. Agree the value at onboarding.
   */
  ticketType: TroubleTicketType.default("maintenance"),
  /**
   * MEF requires `observedImpact`, which the canonical ticket does not carry. Derived from the
   * priority; `intermittent` cannot be inferred from a priority, so it is only sent if configured.
   */
  observedImpact: ObservedImpactByPriority.default({
    P1: "down",
    P2: "degraded",
    P3: "degraded",
    P4: "degraded",
  }),
  /** Per-connection changes to the built-in `mef-sonata` (priority) and `mef-sonata-severity` schemes. */
  priorityScheme: PriorityTableOverride.optional(),
  severityScheme: PriorityTableOverride.optional(),
  /** Copy the seller's notes to the client's ticket (the engine asks through `relaysNotesToClient`). */
  relayNotesToClient: z.boolean().default(false),
  /**
   * How often the engine re-reads open delegations (asked through `pollIntervalMs`; MEF has no changed-since
   * filter); left out, the engine's SYNC_POLL_INTERVAL_MS applies.
   */
  pollIntervalSeconds: z.int().min(60).max(86_400).optional(),
  /** Sent with `/reopen` when the operator gives no reason (MEF requires one, R43). */
  defaultReopenReason: z.string().min(1).default("The issue is still observed after the resolution."),
});
export type MefSonataSettings = z.infer<typeof MefSonataSettings>;
/** What callers may pass before defaults apply. */
export type MefSonataSettingsInput = z.input<typeof MefSonataSettings>;

/** Canonical priority -> the observed impact sent on create. */
export function observedImpactFor(settings: MefSonataSettings, priority: Priority): ObservedImpact {
  return settings.observedImpact[priority];
}
