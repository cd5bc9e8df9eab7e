import { describe, expect, it } from "vitest";
import { type TicketStatus, ticketStatuses } from "../../../schemas/ticket.js";
import type { OutboundTicket } from "../../sdk/index.js";
import { IncidentRecord, JournalEntry, resultListOf, resultOf, SysUser } from "../api-types.js";
import { ServiceNowSettings } from "../config.js";
import {
  commentText,
  fromCanonicalStatus,
  fromServiceNowDateTime,
  journalElementFor,
  lossyOutbound,
  requesterFromCaller,
  toCanonicalStatus,
  toExternalTicket,
  toIncidentCreateFields,
  toIncidentPatchFields,
  toServiceNowDateTime,
  toStateFields,
  vendorStatusOf,
} from "../mapping.js";
import { fixture, getFixtureSysId } from "./fixtures/index.js";
import { testMappingContext } from "./priority-stub.js";

const settings = ServiceNowSettings.parse({
  baseUrl: "https://acme.service-now.com",
  auth: { type: "basic", username: "svc.ticketsync", password: "secret-password" },
});

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

describe("incident state -> canonical status", () => {
  it.each([
    ["1", "", "new"],
    ["2", "", "in_progress"],
    ["3", "", "on_hold"],
    ["3", "1", "pending_customer"],
    ["3", "3", "on_hold"],
    ["3", "4", "on_hold"],
    ["3", "5", "on_hold"],
    ["3", "9", "on_hold"],
    ["6", "", "resolved"],
    ["7", "", "closed"],
    ["8", "", "cancelled"],
  ] as const)("state %s with hold_reason %j reads as %s", (state, holdReason, expected) => {
    const vendorStatus = vendorStatusOf({ state, hold_reason: holdReason });
    expect(toCanonicalStatus(vendorStatus), `vendor status ${vendorStatus}`).toBe(expected);
  });

  it.each(["4", "5", "99", ""])("flags unknown state %j as null instead of guessing", (state) => {
    expect(toCanonicalStatus(vendorStatusOf({ state, hold_reason: "" }))).toBeNull();
  });

  it("ignores hold_reason outside On Hold", () => {
    expect(vendorStatusOf({ state: "2", hold_reason: "1" })).toBe("2");
  });

  it("lets a connection override a vendor value, exactly or by state", () => {
    const overrides = { status: { inbound: { "3:4": "pending_carrier", "9": "in_progress" } as const } };
    expect(toCanonicalStatus("3:4", overrides)).toBe("pending_carrier");
    expect(toCanonicalStatus("9", overrides)).toBe("in_progress");
    expect(toCanonicalStatus("3:1", overrides)).toBe("pending_customer");
  });
});

describe("canonical status -> incident fields", () => {
  it.each([
    ["new", { state: "1" }],
    ["acknowledged", { state: "2" }],
    ["in_progress", { state: "2" }],
    ["pending_customer", { state: "3", hold_reason: "1" }],
    ["pending_carrier", { state: "3", hold_reason: "4" }],
    ["on_hold", { state: "3", hold_reason: "4" }],
    [
      "resolved",
      { state: "6", close_code: "Solution provided", close_notes: "Resolved by the service provider." },
    ],
    [
      "closed",
      { state: "7", close_code: "Solution provided", close_notes: "Resolved by the service provider." },
    ],
    ["cancelled", { state: "8" }],
  ] as const)("%s writes %j", (status, expected) => {
    expect(toStateFields(status, settings, { clearHoldReason: false })).toEqual(expected);
  });

  it("clears hold_reason on updates that leave On Hold", () => {
    expect(toStateFields("in_progress", settings, { clearHoldReason: true })).toEqual({
      state: "2",
      hold_reason: "",
    });
  });

  it("uses the ticket's resolution note and the configured resolution code", () => {
    const custom = ServiceNowSettings.parse({ ...settings, resolutionCode: "Solved (Permanently)" });
    expect(
      toStateFields("resolved", custom, { resolutionNote: "Replaced the AP", clearHoldReason: false }),
    ).toEqual({
      state: "6",
      close_code: "Solved (Permanently)",
      close_notes: "Replaced the AP",
    });
  });

  it("honours an outbound override", () => {
    const custom = ServiceNowSettings.parse({
      ...settings,
      mapping: { status: { outbound: { on_hold: "3:5" } } },
    });
    expect(toStateFields("on_hold", custom, { clearHoldReason: false })).toEqual({
      state: "3",
      hold_reason: "5",
    });
  });

  it.each(ticketStatuses)("round trip of %s is exact unless documented as lossy", (status: TicketStatus) => {
    const readBack = toCanonicalStatus(fromCanonicalStatus(status));
    if (lossyOutbound[status] === undefined) expect(readBack).toBe(status);
    else expect(readBack, lossyOutbound[status]).not.toBe(status);
  });

  it("documents exactly the lossy statuses", () => {
    expect(Object.keys(lossyOutbound).sort()).toEqual(["acknowledged", "pending_carrier"]);
  });
});

describe("dates", () => {
  it.each([
    ["2016-01-22 14:28:24", "2016-01-22T14:28:24Z"],
    ["", null],
  ])("reads %j as %j", (value, expected) => {
    expect(fromServiceNowDateTime(value)).toBe(expected);
  });

  it("rejects a display-value date instead of misreading it", () => {
    expect(() => fromServiceNowDateTime("01/22/2016 09:28:24 AM")).toThrow(RangeError);
  });

  it("writes UTC and truncates to the second", () => {
    expect(toServiceNowDateTime(new Date("2016-01-22T14:28:24.987+02:00"))).toBe("2016-01-22 12:28:24");
  });
});

describe("requester from caller", () => {
  const caller = SysUser.parse(fixture("sys-user-get-response")["result"]);

  it("takes name, email and phone", () => {
    expect(requesterFromCaller(caller)).toEqual({
      name: "Abel Tuter",
      email: "abel.tuter@example.com",
      phone: "+1 555 0100",
    });
  });

  it("falls back to user_name and drops an invalid email", () => {
    expect(requesterFromCaller({ ...caller, name: "", email: "not an email", phone: "" })).toEqual({
      name: "abel.tuter",
    });
  });

  it("is null without a caller", () => {
    expect(requesterFromCaller(null)).toBeNull();
  });
});

describe("canonical ticket -> incident payload", () => {
  it("matches the documented create request shape plus our correlation fields", () => {
    const docRequest = fixture("incident-create-request");
    const fields = toIncidentCreateFields(
      ticket,
      ServiceNowSettings.parse({ ...settings, assignmentGroup: docRequest["assignment_group"] }),
      testMappingContext,
    );
    expect(fields).toEqual({
      ...docRequest,
      description: "Floor 3, since 09:00",
      correlation_id: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
      correlation_display: "ticket-sync-gateway",
    });
  });

  it("sets state with resolution fields when created already resolved", () => {
    const fields = toIncidentCreateFields(
      { ...ticket, status: "resolved", resolutionNote: "Fixed on arrival" },
      settings,
      testMappingContext,
    );
    expect(fields).toMatchObject({
      state: "6",
      close_code: "Solution provided",
      close_notes: "Fixed on arrival",
    });
    expect(fields).not.toHaveProperty("hold_reason");
  });

  it("cuts short_description to 160 characters", () => {
    const fields = toIncidentCreateFields(
      { ...ticket, title: "x".repeat(200) },
      settings,
      testMappingContext,
    );
    expect(fields["short_description"]).toHaveLength(160);
    expect(fields["short_description"]?.endsWith("…")).toBe(true);
  });

  it("patches only what changed", () => {
    expect(toIncidentPatchFields({ priority: "P1" }, settings, testMappingContext)).toEqual({
      impact: "1",
      urgency: "1",
    });
    expect(
      toIncidentPatchFields({ description: null, title: "New title" }, settings, testMappingContext),
    ).toEqual({
      description: "",
      short_description: "New title",
    });
    expect(toIncidentPatchFields({ requester: { name: "X" } }, settings, testMappingContext)).toEqual({});
  });
});

describe("comments", () => {
  it.each([
    ["public", false, "comments"],
    ["internal", false, "work_notes"],
    ["public", true, "work_notes"],
  ] as const)("%s with publicCommentsAsWorkNotes=%s goes to %s", (visibility, asWorkNotes, element) => {
    const custom = ServiceNowSettings.parse({ ...settings, publicCommentsAsWorkNotes: asWorkNotes });
    expect(journalElementFor(visibility, custom)).toBe(element);
  });

  it("puts the author in the text", () => {
    expect(commentText({ body: "On it", authorName: "Dana Ops" })).toBe("[Dana Ops] On it");
    expect(commentText({ body: "On it" })).toBe("On it");
  });
});

describe("recorded incident -> ExternalTicket", () => {
  it("normalises the documented GET example", () => {
    const record = resultOf(IncidentRecord).parse(fixture("incident-get-response")).result;
    const journal = resultListOf(JournalEntry).parse(fixture("journal-list-response")).result;
    const caller = SysUser.parse(fixture("sys-user-get-response")["result"]);
    const external = toExternalTicket({
      record,
      journal,
      caller,
      recordUrl: `https://acme.service-now.com/incident.do?sys_id=${getFixtureSysId}`,
      settings,
      ctx: testMappingContext,
    });
    expect(external).toMatchObject({
      externalId: getFixtureSysId,
      externalKey: "INC0000046",
      title: "Can't access SFA software",
      description: null,
      status: "1",
      canonicalStatus: "new",
      priority: "3",
      canonicalPriority: "P3",
      requester: { name: "Abel Tuter" },
      correlationId: null,
      createdAt: "2015-11-01T22:05:30Z",
      updatedAt: "2015-11-01T22:37:27Z",
      updatedBy: "glide.maint",
      version: "4",
    });
    expect(external.comments.map((comment) => [comment.visibility, comment.author])).toEqual([
      ["public", "abel.tuter"],
      ["internal", "admin"],
      ["public", "svc.ticketsync"],
    ]);
  });
});
