import { describe, expect, it } from "vitest";
import { type Priority, type TicketStatus, ticketStatuses } from "../../../schemas/ticket.js";
import type { OutboundTicket, OutboundTicketPatch } from "../../sdk/index.js";
import { CommentsPage, type Ticket, TicketResponse, User } from "../api-types.js";
import { ZendeskSettings } from "../config.js";
import {
  closedTicketFields,
  commentIsPublic,
  commentText,
  fromCanonicalStatus,
  lossyOutbound,
  normaliseCommentText,
  reopensClosedTicket,
  toCanonicalPriority,
  toCanonicalStatus,
  toExternalTicket,
  toFollowUpCreateBody,
  toTicketCreateBody,
  toTicketUpdateFields,
  toUtcSeconds,
  toZendeskPriority,
  zendeskMappingContext,
} from "../mapping.js";
import { fixture, fixtureTicket } from "./fixtures/index.js";

const settings = ZendeskSettings.parse({
  baseUrl: "https://acme.zendesk.com",
  auth: { type: "basic", username: "sync@acme.example/token", password: "api-token-secret" },
  integrationUserId: 9001,
});
const scheme = zendeskMappingContext(settings).priority;

const ticket: OutboundTicket = {
  canonicalId: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
  title: "Unable to connect to office wifi",
  description: "Floor 3, since 09:00",
  priority: "P3",
  status: "new",
  requester: { name: "Dana Ops", email: "dana@example.com" },
  category: "network",
  affectedService: "Office LAN",
};

/** The spec's example ticket: open, high, assigned, external_id "ahg35h3jh". */
const current: Ticket = TicketResponse.parse(fixture("ticket-response")).ticket;

describe("Zendesk status -> canonical status", () => {
  it.each([
    ["new", "new"],
    ["open", "in_progress"],
    ["pending", "pending_customer"],
    ["hold", "on_hold"],
    ["solved", "resolved"],
    ["closed", "resolved"],
  ] as const)("%s reads as %s", (vendor, expected) => {
    expect(toCanonicalStatus(vendor)).toBe(expected);
  });

  it.each(["deleted", "archived", "Open", ""])(
    "flags unknown status %j as null instead of guessing",
    (vendor) => {
      expect(toCanonicalStatus(vendor)).toBeNull();
    },
  );

  it("lets a connection override a vendor value", () => {
    expect(toCanonicalStatus("hold", { status: { inbound: { hold: "pending_carrier" } } })).toBe(
      "pending_carrier",
    );
  });
});

describe("canonical status -> Zendesk status", () => {
  it.each([
    ["new", "new"],
    ["acknowledged", "open"],
    ["in_progress", "open"],
    ["pending_customer", "pending"],
    ["pending_carrier", "hold"],
    ["on_hold", "hold"],
    ["resolved", "solved"],
    ["closed", "closed"],
    ["cancelled", "closed"],
  ] as const)("%s is written as %s", (status, expected) => {
    expect(fromCanonicalStatus(status)).toBe(expected);
  });

  it("honours an outbound override", () => {
    expect(fromCanonicalStatus("cancelled", { status: { outbound: { cancelled: "solved" } } })).toBe(
      "solved",
    );
  });

  it.each(ticketStatuses)("round trip of %s is exact unless documented as lossy", (status: TicketStatus) => {
    const readBack = toCanonicalStatus(fromCanonicalStatus(status));
    if (lossyOutbound[status] === undefined) expect(readBack).toBe(status);
    else expect(readBack, lossyOutbound[status]).not.toBe(status);
  });

  it("documents exactly the lossy statuses", () => {
    expect(Object.keys(lossyOutbound).sort()).toEqual([
      "acknowledged",
      "cancelled",
      "closed",
      "pending_carrier",
    ]);
  });
});

describe("priority through the zendesk scheme", () => {
  it.each([
    ["urgent", "P1"],
    ["high", "P2"],
    ["normal", "P3"],
    ["low", "P4"],
    ["URGENT", "P1"],
  ] as const)("%s reads as %s", (vendor, expected) => {
    expect(toCanonicalPriority(vendor, scheme)).toBe(expected);
  });

  it.each([null, undefined, "", "critical"])("reads %j as null (unset or unknown)", (vendor) => {
    expect(toCanonicalPriority(vendor, scheme)).toBeNull();
  });

  it.each([
    ["P1", "urgent"],
    ["P2", "high"],
    ["P3", "normal"],
    ["P4", "low"],
  ] as const)("%s is written as %s", (priority: Priority, expected) => {
    expect(toZendeskPriority(priority, scheme)).toBe(expected);
  });

  it("applies the connection's priorityOverride both ways", () => {
    const overridden = zendeskMappingContext(
      ZendeskSettings.parse({
        ...settings,
        priorityOverride: { inbound: [{ value: "low", priority: "P3" }], outbound: { P4: "normal" } },
      }),
    ).priority;
    expect(toCanonicalPriority("low", overridden)).toBe("P3");
    expect(toZendeskPriority("P4", overridden)).toBe("normal");
    expect(toZendeskPriority("P1", overridden)).toBe("urgent");
  });

  it("refuses an override that would send a priority Zendesk does not have", () => {
    const parsed = ZendeskSettings.safeParse({
      ...settings,
      priorityOverride: { outbound: { P1: "critical" } },
    });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain("urgent, high, normal, low");
  });
});

describe("comments", () => {
  it.each([
    [
      { body: "Engineer dispatched.", authorName: "Dana Ops" },
      "On behalf of Dana Ops:\nEngineer dispatched.",
    ],
    [{ body: "Engineer dispatched." }, "Engineer dispatched."],
    [{ body: "Engineer dispatched.", authorName: "  " }, "Engineer dispatched."],
  ])("attributes %j as %j", (comment, expected) => {
    expect(commentText(comment)).toBe(expected);
  });

  it.each([
    ["public", false, true],
    ["internal", false, false],
    ["public", true, false],
    ["internal", true, false],
  ] as const)(
    "%s with publicCommentsAsInternal=%s goes out public=%s",
    (visibility, asInternal, expected) => {
      expect(commentIsPublic(visibility, { ...settings, publicCommentsAsInternal: asInternal })).toBe(
        expected,
      );
    },
  );

  it("normalises line endings and trailing whitespace for read-back comparison", () => {
    expect(normaliseCommentText("On behalf of Dana:  \r\nLine two \r\n\n")).toBe(
      "On behalf of Dana:\nLine two",
    );
  });
});

describe("toTicketCreateBody", () => {
  it("maps a canonical ticket, with our id as external_id and the description as first comment", () => {
    const custom = ZendeskSettings.parse({
      ...settings,
      brandId: 360001,
      fieldMapping: { category: 27642, affectedService: 27648 },
    });
    expect(toTicketCreateBody(ticket, custom, scheme)).toEqual({
      ticket: {
        subject: ticket.title,
        comment: { body: ticket.description, public: true },
        priority: "normal",
        external_id: ticket.canonicalId,
        brand_id: 360001,
        requester: { name: "Dana Ops", email: "dana@example.com" },
        custom_fields: [
          { id: 27642, value: "network" },
          { id: 27648, value: "Office LAN" },
        ],
      },
    });
  });

  it("uses the title when there is no description, and an internal first comment when asked", () => {
    const body = toTicketCreateBody(
      { ...ticket, description: null, requester: { name: "No Mail" } },
      { ...settings, publicCommentsAsInternal: true },
      scheme,
    );
    expect(body.ticket["comment"]).toEqual({ body: ticket.title, public: false });
    expect(body.ticket).not.toHaveProperty("requester");
  });

  it("creates a resolved ticket with an assignee, which solving requires", () => {
    expect(toTicketCreateBody({ ...ticket, status: "resolved" }, settings, scheme).ticket).toMatchObject({
      status: "solved",
      assignee_id: 9001,
    });
  });
});

describe("toTicketUpdateFields (merge onto a fresh read)", () => {
  it.each<[string, OutboundTicketPatch, Partial<Ticket>, Record<string, unknown>]>([
    [
      "nothing when the values already hold",
      { title: current.subject!, priority: "P2", status: "in_progress" },
      {},
      {},
    ],
    [
      "the changed subject and priority",
      { title: "Printer fixed", priority: "P1" },
      {},
      { subject: "Printer fixed", priority: "urgent" },
    ],
    ["the status", { status: "pending_customer" }, {}, { status: "pending" }],
    ["no status back to new", { status: "new" }, {}, {}],
    [
      "an assignee when solving an unassigned ticket",
      { status: "resolved" },
      { assignee_id: null },
      { status: "solved", assignee_id: 9001 },
    ],
    ["no assignee when one is set", { status: "resolved" }, {}, { status: "solved" }],
    ["our id as external_id", { correlationId: ticket.canonicalId }, {}, { external_id: ticket.canonicalId }],
    ["not the description, read-only once created", { description: "new text" }, {}, {}],
  ])("writes %s", (_case, patch, overrides, expected) => {
    expect(toTicketUpdateFields(patch, { ...current, ...overrides }, settings, scheme)).toEqual(expected);
  });

  it("writes only the mapped custom fields whose value differs", () => {
    const custom = ZendeskSettings.parse({
      ...settings,
      fieldMapping: { category: 27642, affectedService: 27648 },
    });
    expect(
      toTicketUpdateFields({ category: "745", affectedService: "LAN" }, current, custom, scheme),
    ).toEqual({
      custom_fields: [{ id: 27648, value: "LAN" }],
    });
  });
});

describe("closed tickets and follow-ups", () => {
  it("keeps only what Zendesk accepts on a closed ticket", () => {
    expect(closedTicketFields({ subject: "s", priority: "low", status: "open", custom_fields: [] })).toEqual({
      subject: "s",
      priority: "low",
    });
  });

  it.each([
    ["in_progress", true],
    ["pending_customer", true],
    ["resolved", true],
    ["closed", false],
    ["cancelled", false],
  ] as const)("status %s reopens a closed ticket: %s", (status, expected) => {
    expect(reopensClosedTicket({ status }, settings)).toBe(expected);
    expect(reopensClosedTicket({ title: "x" }, settings)).toBe(false);
  });

  it("builds a follow-up carrying our id, the requester and an internal note", () => {
    const closed = { ...current, status: "closed", brand_id: 360001 };
    expect(
      toFollowUpCreateBody({
        closed,
        patch: { status: "in_progress" },
        canonicalId: ticket.canonicalId,
        settings,
        scheme,
      }),
    ).toEqual({
      ticket: {
        via_followup_source_id: 35436,
        external_id: ticket.canonicalId,
        subject: "Help, my printer is on fire!",
        comment: { body: "Reopened by the service provider as a follow-up of #35436.", public: false },
        priority: "high",
        status: "open",
        requester_id: 20978392,
        brand_id: 360001,
      },
    });
  });
});

describe("toExternalTicket", () => {
  it("normalises the spec's example ticket and comments", () => {
    const external = toExternalTicket({
      ticket: current,
      comments: CommentsPage.parse(fixture("ticket-comments-response")).comments,
      requester: User.parse({ id: 20978392, name: " Abel Tuter ", email: "not-an-email", phone: "" }),
      lastAuthorId: 9001,
      baseUrl: "https://acme.zendesk.com/",
      settings,
      scheme,
    });
    expect(external).toMatchObject({
      externalId: "35436",
      externalKey: "#35436",
      url: "https://acme.zendesk.com/agent/tickets/35436",
      status: "open",
      canonicalStatus: "in_progress",
      canonicalPriority: "P2",
      requester: { name: "Abel Tuter" },
      correlationId: "ahg35h3jh",
      createdAt: "2009-07-20T22:55:29Z",
      updatedBy: "9001",
      fields: { category: null, affectedService: null },
    });
    expect(external.requester).not.toHaveProperty("email");
    expect(external.comments[0]).toMatchObject({ visibility: "public", author: "123123" });
  });

  it("reads empty subject, description and external_id as empty", () => {
    const bare = fixtureTicket({ subject: null, description: "", external_id: null, priority: null });
    const external = toExternalTicket({
      ticket: TicketResponse.parse({ ticket: bare }).ticket,
      comments: [],
      requester: null,
      lastAuthorId: null,
      baseUrl: "https://acme.zendesk.com",
      settings,
      scheme,
    });
    expect(external).toMatchObject({
      title: "",
      description: null,
      correlationId: null,
      priority: null,
      canonicalPriority: null,
      requester: null,
      updatedBy: null,
    });
  });

  it.each([
    ["2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"],
    ["2024-05-01T10:00:00.123Z", "2024-05-01T10:00:00Z"],
    ["2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z"],
    ["2024-05-01T10:00Z", "2024-05-01T10:00:00Z"],
  ])("writes instant %s as %s", (value, expected) => {
    expect(toUtcSeconds(value)).toBe(expected);
  });
});

describe("settings", () => {
  it("applies defaults", () => {
    expect(settings).toMatchObject({
      publicCommentsAsInternal: false,
      attachmentMaxBytes: 20 * 1024 * 1024,
      webhookToleranceSeconds: 300,
    });
  });

  it.each([
    [
      "password Basic auth",
      { auth: { type: "basic", username: "sync@acme.example", password: "pw" } },
      "API token",
    ],
    ["an inboundQuery", { inboundQuery: "brand:1" }, "brandId"],
    ["no integrationUserId", { integrationUserId: undefined }, "integrationUserId"],
    ["an unknown key", { subdomain: "acme" }, "subdomain"],
  ])("refuses %s", (_case, overrides, message) => {
    const parsed = ZendeskSettings.safeParse({ ...settings, ...overrides });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain(message);
  });

  it("accepts OAuth bearer tokens", () => {
    expect(
      ZendeskSettings.safeParse({ ...settings, auth: { type: "bearer", token: "oauth-access-token" } })
        .success,
    ).toBe(true);
  });
});
