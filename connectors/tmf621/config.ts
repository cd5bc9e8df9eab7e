import { z } from "@hono/zod-openapi";
import { PriorityTableOverride } from "../../schemas/priority.js";
import { baseConnectionSettings } from "../sdk/index.js";

export const tmf621Versions = ["v4", "v5"] as const;
export type Tmf621Version = (typeof tmf621Versions)[number];

const roleName = z.string().trim().min(1).max(100);

/** The relatedParty roles we write on a new carrier ticket; carriers name them differently. */
export const RelatedPartyRoles = z.strictObject({
  /** The end customer (the tenant) the provider acts for. */
  customer: roleName.default("customer"),
  /** The provider's contact for the carrier. */
  reporter: roleName.default("reporter"),
});
export type RelatedPartyRoles = z.infer<typeof RelatedPartyRoles>;

export const Tmf621Settings = baseConnectionSettings
  .extend({
    /**
     * The API root INCLUDING the version path, e.g. `https://carrier.example/tmf-api/troubleTicket/v5`.
     * Resource paths (`/troubleTicket`, `/hub`) are appended to it.
     */
    baseUrl: z.url({ protocol: /^https?$/ }),
    /** Selects the payload shapes (v4 `externalId`, `statusChange`; v5 `externalIdentifier[]`, `@type`, ...). */
    version: z.enum(tmf621Versions),
    /** Changes to `tmf621-default` (Critical, High, Medium, Low): TMF621 leaves `priority` a free string. */
    priorityTable: PriorityTableOverride.optional(),
    /** Changes to `tmf621-severity-default` (Critical, Major, Minor): `severity` is a free string too. */
    severityTable: PriorityTableOverride.optional(),
    /** `ticketType` of the tickets we open; the vocabulary is the carrier's (Incident, Fault, ...). */
    ticketType: z.string().trim().min(1).max(100).default("Incident"),
    relatedPartyRoles: RelatedPartyRoles.default({ customer: "customer", reporter: "reporter" }),
    /** relatedEntity `role` of the affected service (circuit, number range). */
    serviceRole: roleName.default("affectedService"),
    /** v5 `externalIdentifier.owner` on our delegation id; also how we recognise it when reading back. */
    externalIdentifierOwner: z.string().trim().min(1).max(100).default("ticket-sync-gateway"),
    /**
     * Appended to the author of every note we write (`Jane Doe (ticket-sync-gateway)`): TMF notes have no
     * buyer/seller flag, so this is how our own notes are told apart from the carrier's when read back.
     */
    noteAuthorTag: z.string().trim().min(1).max(100).default("ticket-sync-gateway"),
    /** Whether the engine relays the carrier's notes to the client's servicedesk (asked through `relaysNotesToClient`). */
    relayNotesToClient: z.boolean().default(false),
    /**
     * How often the engine re-reads open delegations (asked through `pollIntervalMs`); left out, the engine's
     * SYNC_POLL_INTERVAL_MS applies.
     */
    pollIntervalSeconds: z.int().min(30).max(86_400).optional(),
    /**
     * The carrier honours the TMF630 filter `lastUpdate.gte=<date-time>` on `GET /troubleTicket`. When false,
     * polling re-reads each open ticket instead.
     */
    supportsLastUpdateFilter: z.boolean().default(false),
    /**
     * Content-Type of v4 PATCHes. The official v4 Swagger declares only `application/json;charset=utf-8`
     * (with merge semantics); some carriers follow the TMF630 guideline and require `application/merge-patch+json`.
     */
    v4PatchContentType: z
      .enum(["application/json", "application/merge-patch+json"])
      .default("application/json"),
    /**
     * How v5 notes are appended. v5 declares merge-patch as mandatory and JSON Patch as optional, so a carrier
     * without JSON Patch support gets the whole `note` array resent with merge-patch, as in v4.
     */
    v5NotePatch: z.enum(["json-patch", "merge-patch"]).default("json-patch"),
    /**
     * The status `reopen` sets on a resolved ticket. TMF621's example state machine sends a ticket the customer
     * does not accept back to work (`inProgress`); some carriers expect `acknowledged`.
     */
    reopenStatus: z.enum(["inProgress", "acknowledged"]).default("inProgress"),
    /** `query` sent with `POST /hub`, e.g. an `eventType=` filter the carrier understands. */
    hubQuery: z.string().trim().min(1).max(2_000).optional(),
  })
  .superRefine((settings, ctx) => {
    const pathVersion = /\/(v\d+)\/?$/.exec(new URL(settings.baseUrl).pathname)?.[1];
    if (pathVersion !== undefined && pathVersion !== settings.version) {
      ctx.addIssue({
        code: "custom",
        path: ["version"],
        message: `baseUrl ends in /${pathVersion} but version is ${settings.version}`,
      });
    }
  });
export type Tmf621Settings = z.infer<typeof Tmf621Settings>;
