import { describe, expect, it } from "vitest";
import { fromCanonical } from "../../../schemas/priority.js";
import type { Priority } from "../../../schemas/ticket.js";
import type { DelegationState } from "../../sdk/index.js";
import { type TmfStatus, TmfTroubleTicket, tmfStatuses } from "../api-types.js";
import { Tmf621Settings, type Tmf621Version } from "../config.js";
import { tmf621 } from "../index.js";
import {
  noteAuthor,
  prioritySchemeOf,
  readPriority,
  severitySchemeOf,
  toCarrierTicket,
  toDelegationState,
} from "../mapping.js";
import { fixture, ticketFixture } from "./fixtures/index.js";

function settings(version: Tmf621Version, overrides: Record<string, unknown> = {}) {
  return Tmf621Settings.parse({
    baseUrl: `https://carrier.example/tmf-api/troubleTicket/${version}`,
    auth: { type: "bearer", token: "carrier-token" },
    version,
    ...overrides,
  });
}

describe("status -> delegation state", () => {
  const table: [TmfStatus, DelegationState][] = [
    ["acknowledged", "open"],
    ["inProgress", "in_progress"],
    ["held", "in_progress"],
    ["pending", "pending"],
    ["resolved", "resolved"],
    ["closed", "closed"],
    ["cancelled", "cancelled"],
    ["rejected", "rejected"],
  ];

  // The enum is identical in v4 and v5 (TroubleTicketStatusType), so one table serves both; reading a
  // real ticket of each version proves the status travels the same way.
  describe.each(["v4", "v5"] as const)("%s", (version) => {
    it.each(table)("%s -> %s", (status, state) => {
      const ticket = toCarrierTicket(
        TmfTroubleTicket.parse(ticketFixture(version, { status })),
        settings(version),
      );
      expect(ticket.state, JSON.stringify(ticket)).toBe(state);
      expect(ticket.status).toBe(status);
    });
  });

  it("covers every status of TroubleTicketStatusType, and the connector's table says the same", () => {
    expect(table.map(([status]) => status).sort()).toEqual([...tmfStatuses].sort());
    for (const [status, state] of table) expect(tmf621.mapping.toDelegationState(status)).toBe(state);
    for (const row of tmf621.mapping.statuses) expect(toDelegationState(row.carrier)).toBe(row.state);
  });

  it("reads a ticket without a status as requested (received, not yet acknowledged)", () => {
    expect(toDelegationState("")).toBe("requested");
    const { status: _status, ...withoutStatus } = ticketFixture("v5");
    expect(toCarrierTicket(TmfTroubleTicket.parse(withoutStatus), settings("v5")).state).toBe("requested");
  });

  it("matches case-insensitively but flags unknown values instead of guessing", () => {
    expect(toDelegationState("InProgress")).toBe("in_progress");
    for (const unknown of ["in_progress", "open", "assessingCancellation", "reopened", "done"]) {
      expect(toDelegationState(unknown), unknown).toBeNull();
    }
  });

  it("marks the lossy held row with its reason", () => {
    const held = tmf621.mapping.statuses.find((row) => row.carrier === "held");
    expect(held?.note).toMatch(/lossy/);
  });
});

describe("priority and severity tables", () => {
  const defaults: [Priority, string, string][] = [
    ["P1", "Critical", "Critical"],
    ["P2", "High", "Major"],
    ["P3", "Medium", "Minor"],
    ["P4", "Low", "Minor"],
  ];

  it.each(defaults)("%s goes out as priority %s and severity %s by default", (level, priority, severity) => {
    expect(fromCanonical(prioritySchemeOf({}), level).value).toBe(priority);
    expect(fromCanonical(severitySchemeOf({}), level).value).toBe(severity);
  });

  it("reads the default values back, and flags Cosmetic as lossy in severity (Minor reads back as P3)", () => {
    expect(readPriority(prioritySchemeOf({}), "low")).toBe("P4");
    expect(readPriority(severitySchemeOf({}), "Minor")).toBe("P3");
    expect(fromCanonical(severitySchemeOf({}), "P4").lossy).toBe(true);
    expect(fromCanonical(prioritySchemeOf({}), "P4").lossy).toBe(false);
    expect(readPriority(prioritySchemeOf({}), "Urgent")).toBeNull();
    expect(readPriority(prioritySchemeOf({}), null)).toBeNull();
  });

  it("applies a connection's overrides to both tables", () => {
    const priorityTable = {
      outbound: { P1: "1-Emergency", P2: "2-High" },
      inbound: [{ value: "Urgent", priority: "P1" }],
    };
    const severityTable = { outbound: { P4: "Cosmetic" } };
    const parsed = settings("v4", { priorityTable, severityTable });
    const priority = prioritySchemeOf(parsed);
    const severity = severitySchemeOf(parsed);
    expect(fromCanonical(priority, "P1").value).toBe("1-Emergency");
    expect(fromCanonical(priority, "P3").value).toBe("Medium");
    expect(readPriority(priority, "Urgent")).toBe("P1");
    expect(readPriority(priority, "1-emergency")).toBe("P1");
    expect(fromCanonical(severity, "P4")).toEqual({ value: "Cosmetic", lossy: false });
    expect(readPriority(severity, "Cosmetic")).toBe("P4");
  });

  it("rejects a malformed override in the settings", () => {
    const result = Tmf621Settings.safeParse({
      baseUrl: "https://carrier.example/tmf-api/troubleTicket/v4",
      auth: { type: "bearer", token: "carrier-token" },
      version: "v4",
      priorityTable: { outbound: { P5: "x" } },
    });
    expect(result.success).toBe(false);
  });
});

describe("settings", () => {
  it("applies defaults", () => {
    expect(settings("v5")).toMatchObject({
      ticketType: "Incident",
      relatedPartyRoles: { customer: "customer", reporter: "reporter" },
      relayNotesToClient: false,
      supportsLastUpdateFilter: false,
      v4PatchContentType: "application/json",
      v5NotePatch: "json-patch",
      reopenStatus: "inProgress",
    });
  });

  it("leaves the poll interval to the engine unless the connection sets one", () => {
    const parsed = settings("v5") as { pollIntervalSeconds?: number };
    expect(parsed.pollIntervalSeconds).toBeUndefined();
    expect(tmf621.pollIntervalMs?.(settings("v5"))).toBeNull();
    expect(tmf621.pollIntervalMs?.(settings("v5", { pollIntervalSeconds: 120 }))).toBe(120_000);
  });

  it("rejects a version that contradicts the base URL, and unknown keys", () => {
    const mismatch = Tmf621Settings.safeParse({
      baseUrl: "https://carrier.example/tmf-api/troubleTicket/v4",
      auth: { type: "bearer", token: "carrier-token" },
      version: "v5",
    });
    expect(mismatch.success).toBe(false);
    expect(JSON.stringify(mismatch.error?.issues)).toMatch(/ends in \/v4 but version is v5/);
    const typo = Tmf621Settings.safeParse({ ...settings("v5"), tiketType: "Fault" });
    expect(typo.success).toBe(false);
  });
});

describe("toCarrierTicket", () => {
  it("normalises a v4 ticket: externalId, statusChange history, notes", () => {
    const record = TmfTroubleTicket.parse(
      ticketFixture("v4", { externalId: "dlg_1", lastUpdate: "2022-05-31T09:34:45.968+02:00" }),
    );
    const ticket = toCarrierTicket(record, settings("v4"));
    expect(ticket).toMatchObject({
      externalId: "3180",
      correlationId: "dlg_1",
      status: "pending",
      state: "pending",
      statusReason: "Need more information from the customer",
      updatedAt: "2022-05-31T07:34:45.968Z",
      acknowledgedAt: "2019-05-30T07:34:45.968Z",
      resolvedAt: null,
    });
    expect(ticket.notes).toEqual([
      {
        externalId: "77456",
        text: "This is quite important, please approach  me as soon as possible",
        author: "Jack Smith",
        createdAt: "2019-05-31T07:34:45.968Z",
        source: "seller",
      },
    ]);
  });

  it("normalises a v5 ticket: externalIdentifier by owner, statusChangeHistory, resolutionDate", () => {
    const eventTicket = fixture<{ event: { troubleTicket: Record<string, unknown> } }>(
      "v5-event-troubleTicketCreateEvent",
    ).event.troubleTicket;
    const ticket = toCarrierTicket(TmfTroubleTicket.parse(eventTicket), settings("v5"));
    expect(ticket).toMatchObject({
      externalId: "3180",
      // The example's identifier belongs to "BMC Remedy", not to us.
      correlationId: null,
      status: "resolved",
      state: "resolved",
      acknowledgedAt: "2022-05-28T07:34:45.968Z",
      resolvedAt: "2022-05-31T07:34:45.968Z",
    });
    const ours = toCarrierTicket(
      TmfTroubleTicket.parse({
        ...eventTicket,
        externalIdentifier: [
          { id: "dlg_9", owner: "ticket-sync-gateway", "@type": "ExternalIdentifier" },
          ...(eventTicket["externalIdentifier"] as unknown[]),
        ],
      }),
      settings("v5"),
    );
    expect(ours.correlationId).toBe("dlg_9");
  });

  it("tells our notes from the carrier's by the author tag, and hashes notes without an id", () => {
    const record = TmfTroubleTicket.parse(
      ticketFixture("v5", {
        note: [
          {
            author: noteAuthor("Jane Doe", settings("v5")),
            date: "2026-01-05T10:00:00Z",
            text: "ours",
            "@type": "Note",
          },
          { author: "Carrier NOC", text: "theirs", "@type": "Note" },
        ],
      }),
    );
    const [ours, theirs] = toCarrierTicket(record, settings("v5")).notes;
    expect(ours).toMatchObject({ author: "Jane Doe (ticket-sync-gateway)", source: "buyer" });
    expect(theirs).toMatchObject({ source: "seller", createdAt: "1970-01-01T00:00:00.000Z" });
    expect(ours?.externalId).toMatch(/^sha256:[0-9a-f]{32}$/);
    const again = toCarrierTicket(record, settings("v5")).notes[0];
    expect(again?.externalId).toBe(ours?.externalId);
  });

  it("tolerates nulls where carriers send them", () => {
    const ticket = toCarrierTicket(
      TmfTroubleTicket.parse({ id: "9", status: null, lastUpdate: null, note: null, externalId: null }),
      settings("v4"),
    );
    expect(ticket).toMatchObject({
      status: "",
      state: "requested",
      updatedAt: null,
      notes: [],
      correlationId: null,
    });
  });
});
