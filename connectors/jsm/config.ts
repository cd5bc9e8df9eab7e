import { z } from "@hono/zod-openapi";
import { PriorityTableOverride } from "../../schemas/priority.js";
import { baseConnectionSettings } from "../sdk/index.js";

const numericId = z.string().regex(/^\d+$/, "expected a numeric id");
const customFieldId = z
  .string()
  .regex(/^customfield_\d+$/, "expected a custom field id like customfield_10050");

/** Canonical fields a connection may map to Jira custom fields. */
export const mappableCanonicalFields = [
  "category",
  "affectedService",
  "requester.name",
  "requester.email",
  "requester.phone",
] as const;
export type MappableCanonicalField = (typeof mappableCanonicalFields)[number];

/**
 * One custom field <-> canonical field pairing. `text` fields hold a string (short text,
 * paragraph fields are not supported: they take ADF); `select` fields hold `{value}` of a
 * single-select option, whose options must already exist at the site.
 */
export const FieldMappingEntry = z.strictObject({
  fieldId: customFieldId,
  canonical: z.enum(mappableCanonicalFields),
  type: z.enum(["text", "select"]).default("text"),
  direction: z.enum(["both", "outbound", "inbound"]).default("both"),
});
export type FieldMappingEntry = z.infer<typeof FieldMappingEntry>;

/** IANA zone names Intl knows; checked here so a typo fails when the connection is saved. */
const timeZone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, "not an IANA time zone");

/**
 * A JSM / Jira Cloud connection. `baseUrl` is the site URL (`https://acme.atlassian.net`):
 * requests go there under Basic auth (email + API token), and browse links are built from it.
 */
export const JsmSettings = baseConnectionSettings
  .extend({
    /**
     * The site's cloud id. When set, requests go to `https://api.atlassian.com/ex/jira/{cloudId}`,
     * which OAuth 2.0 (3LO) access tokens require. Find it at `https://<site>/_edge/tenant_info`.
     */
    cloudId: z
      .string()
      .regex(/^[0-9a-f-]{36}$/i, "expected a cloud id (UUID)")
      .optional(),
    /** `request`: a JSM customer request through the servicedesk API; `issue`: a plain Jira issue. */
    createAs: z.enum(["request", "issue"]).default("request"),
    serviceDeskId: numericId.optional(),
    requestTypeId: numericId.optional(),
    projectKey: z.string().regex(/^[A-Z][A-Z0-9_]{0,19}$/, "expected a project key like HELP"),
    /** Issue type for `createAs: "issue"`. */
    issueTypeName: z.string().min(1).max(60).optional(),
    /** The short-text custom field holding our canonical id (create-or-link searches it with JQL). */
    correlationFieldId: customFieldId,
    /** Changes to the Jira priority scheme for this site (renamed or added priorities). */
    priorityOverride: PriorityTableOverride.optional(),
    /** Write public comments as internal notes, for clients whose customers must not see provider updates. */
    publicCommentsAsInternal: z.boolean().default(false),
    /** accountId of the integration user: our own comments and changes carry it. */
    integrationAccountId: z.string().min(1).max(128),
    fieldMapping: z.array(FieldMappingEntry).max(20).optional(),
    /** Resolution set by transitions whose screen asks for one (Resolve, Close). */
    resolutionName: z.string().min(1).max(60).default("Done"),
    /**
     * The integration user's Jira time zone, used for JQL date literals. Read from
     * `GET /rest/api/3/myself` when absent; set it when the token may not read that.
     */
    jqlTimeZone: timeZone.optional(),
    /** Largest attachment the gateway uploads. Jira's own limit is set by the site admin. */
    maxAttachmentBytes: z
      .int()
      .positive()
      .max(1024 ** 3)
      .default(10 * 1024 ** 2),
    /** JQL ANDed to the changed-since poll (and nothing else), e.g. `"Organizations" = Acme`. */
    inboundQuery: z
      .string()
      .min(1)
      .max(2_000)
      .refine(
        (query) => !/\border\s+by\b/i.test(query),
        "must not contain ORDER BY: the poll sets its own order",
      )
      .optional(),
  })
  .superRefine((settings, ctx) => {
    if (settings.createAs === "request") {
      for (const key of ["serviceDeskId", "requestTypeId"] as const) {
        if (settings[key] === undefined)
          ctx.addIssue({ code: "custom", path: [key], message: `required when createAs is "request"` });
      }
    }
    if (settings.createAs === "issue" && settings.issueTypeName === undefined) {
      ctx.addIssue({ code: "custom", path: ["issueTypeName"], message: `required when createAs is "issue"` });
    }
    if (settings.auth.type === "oauth2" && settings.cloudId === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["cloudId"],
        message: "required with OAuth 2.0: 3LO tokens only work through api.atlassian.com/ex/jira/{cloudId}",
      });
    }
    const seenFields = new Set<string>();
    const seenCanonical = new Set<string>();
    settings.fieldMapping?.forEach((entry, index) => {
      if (entry.fieldId === settings.correlationFieldId) {
        ctx.addIssue({
          code: "custom",
          path: ["fieldMapping", index, "fieldId"],
          message: "is the correlation field; it cannot also carry a canonical field",
        });
      }
      if (seenFields.has(entry.fieldId)) {
        ctx.addIssue({
          code: "custom",
          path: ["fieldMapping", index, "fieldId"],
          message: "is mapped twice",
        });
      }
      seenFields.add(entry.fieldId);
      // Two fields read into one canonical field would race; writing one value to two is fine.
      if (entry.direction !== "outbound") {
        if (seenCanonical.has(entry.canonical)) {
          ctx.addIssue({
            code: "custom",
            path: ["fieldMapping", index, "canonical"],
            message: `${entry.canonical} is already read from another field`,
          });
        }
        seenCanonical.add(entry.canonical);
      }
    });
  });
export type JsmSettings = z.infer<typeof JsmSettings>;

/** Where API requests go: the site, or the api.atlassian.com gateway for OAuth 2.0 (3LO). */
export function apiBaseUrl(settings: Pick<JsmSettings, "baseUrl" | "cloudId">): string {
  return settings.cloudId === undefined
    ? settings.baseUrl.replace(/\/+$/, "")
    : `https://api.atlassian.com/ex/jira/${settings.cloudId}`;
}

/** The link agents open: `https://<site>/browse/KEY-1`. */
export function browseUrl(settings: Pick<JsmSettings, "baseUrl">, issueKey: string): string {
  return `${settings.baseUrl.replace(/\/+$/, "")}/browse/${issueKey}`;
}
