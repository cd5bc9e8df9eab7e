import { describe, expect, it } from "vitest";
import { type TicketStatus, ticketStatuses } from "../../../schemas/ticket.js";
import type { OutboundTicket } from "../../sdk/index.js";
import {
  AddedAttachments,
  CreatedCustomerRequest,
  CreatedIssue,
  IssueRecord,
  JiraComment,
  PageOfComments,
  parseJiraDateTime,
  ServiceDeskComment,
  TemporaryAttachments,
  Transitions,
} from "../api-types.js";
import { checkFieldSetup } from "../client.js";
import { JsmSettings } from "../config.js";
import {
  chooseTransition,
  commentIsPublic,
  correlationJql,
  fallbackCategory,
  fromCanonicalStatus,
  fromJiraPriority,
  fromMappedFields,
  jqlDateTime,
  jsmMappingContext,
  jsmStatusTable,
  lossyOutbound,
  summaryOf,
  toAfterRequestCreateFields,
  toCanonicalStatus,
  toCreateIssueBody,
  toCreateRequestBody,
  toEditFields,
  toExternalTicket,
  toJiraPriority,
  toMappedFields,
  toServiceDeskCommentBody,
} from "../mapping.js";
import { fixture, integrationAccountId, linkedCanonicalId, siteUrl } from "./fixtures/index.js";

const baseSettings = {
  baseUrl: siteUrl,
  auth: { type: "basic", username: "svc.ticketsync@example.com", password: "api-token" },
  serviceDeskId: "1",
  requestTypeId: "10",
  projectKey: "HELP",
  correlationFieldId: "customfield_10050",
  integrationAccountId,
} as const;
const settingsWith = (overrides: Record<string, unknown> = {}) =>
  JsmSettings.parse({ ...baseSettings, ...overrides });
const settings = settingsWith({
  fieldMapping: [
    { fieldId: "customfield_10060", canonical: "category", type: "select" },
    { fieldId: "customfield_10070", canonical: "affectedService" },
  ],
});
const scheme = jsmMappingContext(settings).priority;

const ticket: OutboundTicket = {
  canonicalId: linkedCanonicalId,
  title: "Order entry fails",
  description: "Since 09:00\n\n- store 12\n- store 14",
  priority: "P2",
  status: "new",
  requester: { name: "Dana Ops", email: "dana@example.com" },
  category: "Network",
  affectedService: "Order entry",
};

describe("Jira status name -> canonical status", () => {
  it.each<[string, TicketStatus]>([
    ["Open", "new"],
    ["To Do", "new"],
    ["Waiting for support", "in_progress"],
    ["In Progress", "in_progress"],
    ["Work in progress", "in_progress"],
    ["Escalated", "in_progress"],
    ["Waiting for customer", "pending_customer"],
    ["Pending", "on_hold"],
    ["Resolved", "resolved"],
    ["Done", "resolved"],
    ["Closed", "closed"],
    ["Canceled", "cancelled"],
    ["Cancelled", "cancelled"],
    ["Declined", "cancelled"],
  ])("%s reads as %s", (name, canonical) => {
    expect(toCanonicalStatus(name)).toBe(canonical);
  });

  it("has exactly the rows above in the table the docs and admin UI show", () => {
    expect(jsmStatusTable.map((row) => row.vendor)).toHaveLength(14);
  });

  it("ignores case and extra spaces in names", () => {
    expect(toCanonicalStatus("  waiting   FOR customer ")).toBe("pending_customer");
  });

  it.each(["Triage", "", "In Review"])("flags unknown status %j as null instead of guessing", (name) => {
    expect(toCanonicalStatus(name)).toBeNull();
  });

  it("lets a connection name its own statuses, case-insensitively", () => {
    const overrides = {
      status: { inbound: { "Awaiting Vendor": "pending_carrier", resolved: "closed" } as const },
    };
    expect(toCanonicalStatus("awaiting vendor", overrides)).toBe("pending_carrier");
    expect(toCanonicalStatus("Resolved", overrides)).toBe("closed");
    expect(toCanonicalStatus("Open", overrides)).toBe("new");
  });
});

describe("canonical status -> Jira status name", () => {
  it.each<[TicketStatus, string]>([
    ["new", "Open"],
    ["acknowledged", "In Progress"],
    ["in_progress", "In Progress"],
    ["pending_customer", "Waiting for customer"],
    ["pending_carrier", "Pending"],
    ["on_hold", "Pending"],
    ["resolved", "Resolved"],
    ["closed", "Closed"],
    ["cancelled", "Canceled"],
  ])("%s goes out as %s", (status, name) => {
    expect(fromCanonicalStatus(status)).toBe(name);
  });

  it.each([...ticketStatuses])("%s round-trips unless it is listed as lossy", (status) => {
    const back = toCanonicalStatus(fromCanonicalStatus(status));
    if (status in lossyOutbound) expect(back, lossyOutbound[status]).not.toBe(status);
    else expect(back).toBe(status);
  });

  it("takes the connection's outbound names", () => {
    expect(fromCanonicalStatus("new", { status: { outbound: { new: "Waiting for support" } } })).toBe(
      "Waiting for support",
    );
  });
});

describe("chooseTransition (by target status, never by id)", () => {
  const { transitions } = Transitions.parse(fixture("transitions-waiting-for-customer"));

  it("picks the transition whose target has the name, whatever its id", () => {
    const choice = chooseTransition(transitions, "resolved", null);
    expect(choice).toMatchObject({ kind: "transition", matchedBy: "name", transition: { id: "51" } });
  });

  it("falls back to the only transition into the category when the site renamed the status", () => {
    expect(chooseTransition(transitions, "Open", "new")).toMatchObject({
      kind: "transition",
      matchedBy: "category",
      transition: { id: "31" },
    });
  });

  it("refuses to guess between several transitions into the category", () => {
    const choice = chooseTransition(transitions, "Closed", "done");
    expect(choice.kind).toBe("none");
    expect(choice.kind === "none" && choice.reason).toContain(
      'no transition to "Closed"; 2 lead into category done',
    );
  });

  it("falls back by category only for new, the one canonical status alone in its category", () => {
    expect(fallbackCategory("new")).toBe("new");
    for (const status of ["in_progress", "pending_customer", "resolved", "closed", "cancelled"] as const) {
      expect(fallbackCategory(status), status).toBeNull();
    }
  });

  it("skips unavailable transitions and lists what is available", () => {
    const unavailable = transitions.map((transition) => ({
      ...transition,
      isAvailable: transition.id !== "11",
    }));
    const choice = chooseTransition(unavailable, "In Progress", null);
    expect(choice.kind === "none" && choice.reason).toContain(
      "available: Back to support -> Waiting for support",
    );
  });

  it("reads the resolution screen field from the official example's shape", () => {
    const official = Transitions.parse(fixture("transitions-get-response")).transitions;
    expect(chooseTransition(official, "Closed", null)).toMatchObject({ transition: { id: "711" } });
  });
});

describe("priority through the Jira scheme", () => {
  it.each([
    ["Highest", "P1"],
    ["High", "P2"],
    ["Medium", "P3"],
    ["Low", "P4"],
    ["Lowest", "P4"],
    ["medium", "P3"],
  ] as const)("%s reads as %s", (name, priority) => {
    expect(fromJiraPriority(name, scheme)).toBe(priority);
  });

  it.each([
    ["P1", "Highest"],
    ["P2", "High"],
    ["P3", "Medium"],
    ["P4", "Low"],
  ] as const)("%s goes out as %s", (priority, name) => {
    expect(toJiraPriority(priority, scheme)).toEqual({ name });
  });

  it("flags an unknown priority name as null", () => {
    expect(fromJiraPriority("Blocker", scheme)).toBeNull();
  });

  it("applies the connection's override for renamed priorities", () => {
    const renamed = jsmMappingContext(
      settingsWith({
        priorityOverride: {
          inbound: [{ value: "Blocker", priority: "P1" }],
          outbound: { P1: "Blocker", P2: "Critical" },
        },
      }),
    ).priority;
    expect(toJiraPriority("P1", renamed)).toEqual({ name: "Blocker" });
    expect(toJiraPriority("P2", renamed)).toEqual({ name: "Critical" });
    expect(fromJiraPriority("Critical", renamed)).toBe("P2");
    expect(fromJiraPriority("Blocker", renamed)).toBe("P1");
  });
});

describe("comment visibility", () => {
  it.each([
    ["public", false, true],
    ["internal", false, false],
    ["public", true, false],
    ["internal", true, false],
  ] as const)("%s with publicCommentsAsInternal=%s is public=%s", (visibility, asInternal, expected) => {
    expect(commentIsPublic(visibility, { publicCommentsAsInternal: asInternal })).toBe(expected);
  });

  it("never sends an internal comment as public, and attributes the author in the body", () => {
    expect(
      toServiceDeskCommentBody(
        { body: "Checking *now*", visibility: "internal", authorName: "Dana Ops" },
        settings,
      ),
    ).toEqual({ body: "On behalf of Dana Ops:\n\nChecking \\*now\\*", public: false });
  });
});

describe("request bodies", () => {
  it("creates an issue with the correlation field, priority, ADF description and mapped fields", () => {
    const body = toCreateIssueBody(
      ticket,
      settingsWith({ ...settings, createAs: "issue", issueTypeName: "Task" }),
      scheme,
    );
    expect(body, JSON.stringify(body)).toEqual({
      fields: {
        project: { key: "HELP" },
        issuetype: { name: "Task" },
        summary: "Order entry fails",
        priority: { name: "High" },
        customfield_10050: linkedCanonicalId,
        customfield_10060: { value: "Network" },
        customfield_10070: "Order entry",
        description: {
          type: "doc",
          version: 1,
          content: [
            { type: "paragraph", content: [{ type: "text", text: "Since 09:00" }] },
            {
              type: "bulletList",
              content: [
                {
                  type: "listItem",
                  content: [{ type: "paragraph", content: [{ type: "text", text: "store 12" }] }],
                },
                {
                  type: "listItem",
                  content: [{ type: "paragraph", content: [{ type: "text", text: "store 14" }] }],
                },
              ],
            },
          ],
        },
      },
    });
  });

  it("creates a customer request with summary and wiki description only; the rest follows in a PUT", () => {
    expect(toCreateRequestBody(ticket, settings)).toEqual({
      serviceDeskId: "1",
      requestTypeId: "10",
      requestFieldValues: {
        summary: "Order entry fails",
        description: "Since 09:00\n\n* store 12\n* store 14",
      },
    });
    const after = toAfterRequestCreateFields(ticket, settings, scheme);
    expect(Object.keys(after).sort()).toEqual(
      ["customfield_10050", "customfield_10060", "customfield_10070", "description", "priority"].sort(),
    );
  });

  it("edits only the changed fields, clears a removed description and writes a correlation id", () => {
    expect(
      toEditFields({ title: "New\ntitle", description: null, correlationId: "tkt_2" }, settings, scheme),
    ).toEqual({
      summary: "New title",
      description: null,
      customfield_10050: "tkt_2",
    });
    expect(toEditFields({ requester: null }, settings, scheme)).toEqual({});
  });

  it("cuts a summary to Jira's 255 characters on one line", () => {
    const long = summaryOf(`${"x".repeat(300)}`);
    expect(long).toHaveLength(255);
    expect(long.endsWith("…")).toBe(true);
  });
});

describe("custom field mapping", () => {
  const mapping = JsmSettings.parse({
    ...baseSettings,
    fieldMapping: [
      { fieldId: "customfield_10060", canonical: "category", type: "select" },
      { fieldId: "customfield_10070", canonical: "requester.email", direction: "inbound" },
      { fieldId: "customfield_10080", canonical: "affectedService", direction: "outbound" },
    ],
  }).fieldMapping;

  it("writes outbound fields only for canonical fields that are given", () => {
    expect(toMappedFields({ category: "Network", affectedService: null }, mapping)).toEqual({
      customfield_10060: { value: "Network" },
      customfield_10080: null,
    });
    expect(toMappedFields({ requester: { name: "A", email: "a@example.com" } }, mapping)).toEqual({});
  });

  it("reads inbound fields: options by value, blanks as null", () => {
    expect(
      fromMappedFields(
        { customfield_10060: { value: "Network", id: "1" }, customfield_10070: "  ", customfield_10080: "x" },
        mapping,
      ),
    ).toEqual({ category: "Network", "requester.email": null });
  });
});

describe("settings validation", () => {
  it.each<[string, Record<string, unknown>, string]>([
    ["a request without a request type", { requestTypeId: undefined }, "requestTypeId"],
    ["an issue without an issue type", { createAs: "issue" }, "issueTypeName"],
    [
      "OAuth without a cloud id",
      {
        auth: {
          type: "oauth2",
          tokenUrl: "https://auth.atlassian.com/oauth/token",
          clientId: "c",
          clientSecret: "s",
          refreshToken: "r",
        },
      },
      "cloudId",
    ],
    [
      "a mapped field that is the correlation field",
      { fieldMapping: [{ fieldId: "customfield_10050", canonical: "category" }] },
      "fieldMapping",
    ],
    [
      "two fields read into one canonical field",
      {
        fieldMapping: [
          { fieldId: "customfield_1", canonical: "category" },
          { fieldId: "customfield_2", canonical: "category" },
        ],
      },
      "fieldMapping",
    ],
    [
      "an inbound query with its own order",
      { inboundQuery: "status = Open ORDER BY created" },
      "inboundQuery",
    ],
    ["an unknown time zone", { jqlTimeZone: "Mars/Olympus" }, "jqlTimeZone"],
    ["a malformed correlation field", { correlationFieldId: "Ticket sync id" }, "correlationFieldId"],
    ["an unknown key", { unknownSetting: true }, "unknownSetting"],
  ])("rejects %s", (_case, overrides, path) => {
    const result = JsmSettings.safeParse({ ...baseSettings, ...overrides });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(path);
  });

  it("applies defaults", () => {
    expect(settingsWith()).toMatchObject({
      createAs: "request",
      publicCommentsAsInternal: false,
      resolutionName: "Done",
      maxAttachmentBytes: 10 * 1024 * 1024,
    });
  });

  it("checks the site's fields for the correlation and mapped fields", () => {
    const fields = fixture<never[]>("fields");
    expect(checkFieldSetup(settings, fields)).toEqual([]);
    const broken = settingsWith({
      correlationFieldId: "customfield_10060",
      fieldMapping: [
        { fieldId: "customfield_10070", canonical: "category", type: "select" },
        { fieldId: "customfield_99999", canonical: "affectedService" },
      ],
    });
    expect(checkFieldSetup(broken, fields)).toEqual([
      "correlation field customfield_10060 (Service category) is option, not short text",
      "mapped field customfield_10070 (Affected service) is string, expected option for type select",
      "mapped field customfield_99999 (affectedService) does not exist",
    ]);
  });
});

describe("JQL", () => {
  it("searches the correlation field by its cf[] clause as an exact phrase", () => {
    expect(correlationJql(settings, "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P")).toBe(
      'cf[10050] ~ "\\"tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P\\""',
    );
  });

  it("refuses an id that would change the query", () => {
    expect(() => correlationJql(settings, 'x" OR project = OPS')).toThrow(TypeError);
  });

  it.each([
    ["UTC", "2024-05-01T10:07:59.999Z", "2024/05/01 10:07"],
    ["Australia/Sydney", "2024-05-01T10:07:00Z", "2024/05/01 20:07"],
    ["America/Los_Angeles", "2024-01-02T03:04:05Z", "2024/01/01 19:04"],
    // Berlin falls back at 03:00 CEST on 27 Oct: 02:30 happens twice. 00:30Z is the first 02:30,
    // which Jira could read as the second (an hour later), so the literal steps back an hour.
    ["Europe/Berlin", "2024-10-27T00:30:00Z", "2024/10/27 01:30"],
    // 01:30Z is the second 02:30: reading either instant is at or before it.
    ["Europe/Berlin", "2024-10-27T01:30:00Z", "2024/10/27 02:30"],
    ["Europe/Berlin", "2024-03-31T01:30:00Z", "2024/03/31 03:30"],
  ])("in %s, %s is the literal %s", (zone, instant, literal) => {
    expect(jqlDateTime(new Date(instant), zone)).toBe(literal);
  });
});

describe("reading an issue", () => {
  const issue = IssueRecord.parse(fixture("issue-get-help-1"));
  const { comments } = PageOfComments.parse(fixture("comments-help-1"));
  const external = toExternalTicket({ issue, comments, settings, scheme });

  it("normalises fields, with instants in UTC and the site's status and priority", () => {
    expect(external).toMatchObject({
      externalId: "10001",
      externalKey: "HELP-1",
      url: `${siteUrl}/browse/HELP-1`,
      title: "Main order flow broken",
      description:
        "Order entry fails when selecting supplier.\n\n- since 09:00\n- see [the runbook](https://wiki.example.com/runbook)",
      status: "Waiting for customer",
      canonicalStatus: "pending_customer",
      statusCategory: "indeterminate",
      priority: "High",
      canonicalPriority: "P2",
      requester: { name: "Fred F. User", email: "fred@example.com" },
      correlationId: linkedCanonicalId,
      createdAt: "2024-05-01T02:00:00.000Z",
      updatedAt: "2024-05-01T02:30:05.123Z",
      version: null,
      mappedFields: { category: "Network", affectedService: null },
      attachments: [
        {
          externalId: "10000",
          fileName: "picture.jpg",
          contentType: "image/jpeg",
          sizeBytes: 23123,
          createdAt: "2024-05-01T02:10:00.000Z",
          author: "5b10a2844c20165700ede21g",
        },
      ],
    });
  });

  it("takes the last writer from the newest history or comment", () => {
    expect(external.updatedBy).toBe("5b10a2844c20165700ede21g");
  });

  it("reads comments with their visibility from jsdPublic and mentions as names", () => {
    expect(external.comments).toEqual([
      {
        externalId: "10100",
        body: "@Ticket Sync Integration can you check the `supplier API`?",
        visibility: "public",
        author: "5b10a2844c20165700ede21g",
        createdAt: "2024-05-01T02:05:00.000Z",
      },
      {
        externalId: "10101",
        body: "Internal: customer is on the old contract.",
        visibility: "internal",
        author: "5b10a2844c20165700ede21g",
        createdAt: "2024-05-01T02:06:00.000Z",
      },
      {
        externalId: "10102",
        body: "On behalf of Dana Ops:\n\nWe are looking into the **supplier** service.",
        visibility: "public",
        author: integrationAccountId,
        createdAt: "2024-05-01T02:20:00.000Z",
      },
    ]);
  });

  it("does not take the integration account for the requester of a request it raised", () => {
    const base = fixture<{ fields: Record<string, unknown> }>("issue-get-help-1");
    const raised = IssueRecord.parse({
      ...base,
      fields: {
        ...base.fields,
        reporter: { accountId: integrationAccountId, displayName: "Ticket Sync Integration" },
      },
    });
    expect(toExternalTicket({ issue: raised, comments: [], settings, scheme }).requester).toBeNull();
  });
});

describe("Atlassian's own examples against our response schemas", () => {
  it.each([
    ["createIssue 201", CreatedIssue, "issue-create-response"],
    ["createCustomerRequest 201", CreatedCustomerRequest, "request-create-response"],
    ["createRequestComment 201", ServiceDeskComment, "request-comment-create-response"],
    ["attachTemporaryFile 201", TemporaryAttachments, "attach-temporary-file-response"],
    ["addComment 201", JiraComment, "comment-add-response"],
    ["addAttachment 200 (created as epoch milliseconds)", AddedAttachments, "attachment-add-response"],
  ] as const)("%s parses", (_case, schema, name) => {
    const result = schema.safeParse(fixture(name));
    expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
  });

  it("getIssue's example lacks status and a real `updated`, so it is refused rather than half-read", () => {
    const result = IssueRecord.safeParse(fixture("issue-get-response"));
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain("status");
  });

  it.each([
    ["2024-01-01T10:00:00.000+0000", "2024-01-01T10:00:00.000Z"],
    ["2024-05-01T12:30:05.123+1000", "2024-05-01T02:30:05.123Z"],
    ["2015-10-08T14:42:00+0700", "2015-10-08T07:42:00.000Z"],
    ["2024-01-01T10:00:00Z", "2024-01-01T10:00:00.000Z"],
    ["01/Jan/24 10:00 AM", null],
  ])("reads the date-time %s", (value, expected) => {
    expect(parseJiraDateTime(value)).toBe(expected);
  });
});
