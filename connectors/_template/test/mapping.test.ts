import { describe, expect, it } from "vitest";
import { type TicketStatus, ticketStatuses } from "../../../schemas/ticket.js";
import { CommentList, RecordEnvelope } from "../api-types.js";
import { TemplateSettings } from "../config.js";
import {
  fromCanonicalStatus,
  lossyOutbound,
  statusTable,
  templateMappingContext,
  toCanonicalPriority,
  toCanonicalStatus,
  toExternalTicket,
  toPatchBody,
} from "../mapping.js";
import { fixture, fixtureRecordId } from "./fixtures/index.js";

// TODO: the vendor's rows. Tables are written out here, not derived from mapping.ts, so a changed cell
// fails a test instead of silently changing behaviour.

const settings = TemplateSettings.parse({
  baseUrl: "https://acme.vendor.example",
  auth: { type: "basic", username: "svc.ticketsync", password: "secret-password" },
});
const ctx = templateMappingContext(settings);

const inbound: [vendor: string, canonical: TicketStatus][] = [
  ["new", "new"],
  ["open", "in_progress"],
  ["pending", "pending_customer"],
  ["on-hold", "on_hold"],
  ["solved", "resolved"],
  ["closed", "closed"],
  ["cancelled", "cancelled"],
];

const outbound: [canonical: TicketStatus, vendor: string][] = [
  ["new", "new"],
  ["acknowledged", "open"],
  ["in_progress", "open"],
  ["pending_customer", "pending"],
  ["pending_carrier", "on-hold"],
  ["on_hold", "on-hold"],
  ["resolved", "solved"],
  ["closed", "closed"],
  ["cancelled", "cancelled"],
];

describe("vendor status -> canonical status", () => {
  it.each(inbound)("%s reads as %s", (vendor, canonical) => {
    expect(toCanonicalStatus(vendor)).toBe(canonical);
  });

  it("covers every row of the connector's status table", () => {
    expect(statusTable.map((row) => row.vendor).sort()).toEqual(inbound.map(([vendor]) => vendor).sort());
  });

  it.each(["", "Open", "archived"])("flags unknown status %j as null instead of guessing", (vendor) => {
    expect(toCanonicalStatus(vendor)).toBeNull();
  });

  it("lets a connection override a vendor value", () => {
    const overrides = { status: { inbound: { "on-hold": "pending_carrier", archived: "closed" } as const } };
    expect(toCanonicalStatus("on-hold", overrides)).toBe("pending_carrier");
    expect(toCanonicalStatus("archived", overrides)).toBe("closed");
    expect(toCanonicalStatus("open", overrides)).toBe("in_progress");
  });
});

describe("canonical status -> vendor status", () => {
  it.each(outbound)("%s is written as %s", (canonical, vendor) => {
    expect(fromCanonicalStatus(canonical)).toBe(vendor);
  });

  it("covers every canonical status", () => {
    expect(outbound.map(([canonical]) => canonical).sort()).toEqual([...ticketStatuses].sort());
  });

  it("honours an outbound override", () => {
    expect(
      fromCanonicalStatus("pending_carrier", { status: { outbound: { pending_carrier: "pending" } } }),
    ).toBe("pending");
  });

  it.each(ticketStatuses)("%s round-trips unless it is listed as lossy, with why", (status) => {
    const back = toCanonicalStatus(fromCanonicalStatus(status));
    if (lossyOutbound[status] === undefined) expect(back, `${status} came back as ${back}`).toBe(status);
    else expect(back, `${status} is listed as lossy but round-trips`).not.toBe(status);
  });
});

describe("priority", () => {
  it.each([
    ["critical", "P1"],
    ["high", "P2"],
    ["medium", "P3"],
    ["low", "P4"],
    ["planning", "P4"],
    ["HIGH", "P2"],
  ] as const)("%s reads as %s", (vendor, canonical) => {
    expect(toCanonicalPriority(vendor, ctx)).toBe(canonical);
  });

  it.each([null, "", "blocker"])("flags %j as null", (vendor) => {
    expect(toCanonicalPriority(vendor, ctx)).toBeNull();
  });

  it.each(["P1", "P2", "P3", "P4"] as const)("%s goes out and reads back as itself", (priority) => {
    expect(toCanonicalPriority(ctx.priority.outbound[priority], ctx)).toBe(priority);
  });

  it("applies the connection's priorityOverride", () => {
    const custom = templateMappingContext({ priorityOverride: { outbound: { P4: "planning" } } });
    expect(custom.priority.outbound.P4).toBe("planning");
    expect(toCanonicalPriority("planning", custom)).toBe("P4");
  });
});

describe("toExternalTicket", () => {
  const ticket = toExternalTicket({
    record: RecordEnvelope.parse(fixture("record-get-response")).record,
    comments: CommentList.parse(fixture("comments-list-response")).comments,
    recordUrl: `https://acme.vendor.example/records/${fixtureRecordId}`,
    settings,
    ctx,
  });

  it("keeps the vendor's own status and priority values next to their canonical meaning", () => {
    expect(ticket).toMatchObject({
      externalId: fixtureRecordId,
      externalKey: "REC-1042",
      status: "pending",
      canonicalStatus: "pending_customer",
      priority: "high",
      canonicalPriority: "P2",
      correlationId: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
      requester: { name: "Abel Tuter", email: "abel.tuter@example.com" },
      updatedBy: "agent.smith",
      version: "4",
    });
  });

  it("normalises instants to UTC", () => {
    expect(ticket.createdAt).toBe("2024-05-01T07:12:04Z");
    expect(ticket.updatedAt).toBe("2024-05-01T08:30:00Z");
  });

  it("returns comments oldest first with their visibility and author", () => {
    expect(
      ticket.comments.map(({ externalId, visibility, author }) => ({ externalId, visibility, author })),
    ).toEqual([
      { externalId: "c1", visibility: "internal", author: "agent.smith" },
      { externalId: "c2", visibility: "public", author: "svc.ticketsync" },
    ]);
  });
});

describe("toPatchBody", () => {
  it("writes only the fields that changed", () => {
    expect(toPatchBody({ title: "Renamed" }, settings, ctx)).toEqual({ title: "Renamed" });
    expect(toPatchBody({}, settings, ctx)).toEqual({});
  });

  it("sends the resolution note, or the connection's default, when resolving", () => {
    expect(toPatchBody({ status: "resolved" }, settings, ctx)).toEqual({
      status: "solved",
      resolution_notes: "Resolved by the service provider.",
    });
    expect(toPatchBody({ status: "closed", resolutionNote: "AP replaced" }, settings, ctx)).toEqual({
      status: "closed",
      resolution_notes: "AP replaced",
    });
  });

  it("writes our canonical id for create-or-link when asked to", () => {
    expect(toPatchBody({ correlationId: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P" }, settings, ctx)).toEqual({
      correlation_id: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
    });
  });
});
