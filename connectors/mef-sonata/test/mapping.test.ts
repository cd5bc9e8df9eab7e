import { describe, expect, it } from "vitest";
import { type Priority, priorityLevels } from "../../../schemas/ticket.js";
import type { CarrierTicketInput } from "../../sdk/index.js";
import { TroubleTicket, troubleTicketStatuses } from "../api-types.js";
import { MefSonataSettings } from "../config.js";
import { mefSonata } from "../index.js";
import {
  buyerNote,
  DelegationInputError,
  fromMefPriority,
  fromMefSeverity,
  mefSonataMapping,
  schemesFor,
  terminalStatuses,
  toCarrierTicket,
  toDelegationState,
  toMefPriorityAndSeverity,
  toTroubleTicketCreate,
  troubleTicketTransitions,
  updatedAtOf,
} from "../mapping.js";
import { contractErrors, management } from "./contract.js";
import { fixture, fixtureTicketId, linkedDelegationId } from "./fixtures/index.js";

const settings = MefSonataSettings.parse({
  baseUrl: "https://seller.example/mefApi/sonata/troubleTicket/v4",
  auth: { type: "bearer", token: "buyer-token" },
  reporterContact: { name: "Provider NOC", emailAddress: "noc@provider.example", number: "+44 20 7946 0000" },
});
const schemes = schemesFor(settings);
const now = new Date("2024-05-01T10:00:00.000Z");

const delegation: CarrierTicketInput = {
  delegationId: "dlg_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
  canonicalId: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
  title: "Circuit down at Leeds office",
  description: "No light on the CPE since 09:12.",
  priority: "P1",
  reason: "Fault is in the carrier's access network",
  service: { id: "01494079-6c79-4a25-83f7-48284196d44d", type: "circuit" },
  customer: { id: "ten_acme", name: "Acme Ltd" },
  reporter: { name: "Dana Ops", email: "dana@provider.example", phone: null },
};

const ticketFromFixture = () => TroubleTicket.parse(fixture("trouble-ticket-response"));

describe("MEF status -> delegation state", () => {
  it.each([
    ["acknowledged", "open"],
    ["inProgress", "in_progress"],
    ["pending", "pending"],
    ["assessingCancellation", "in_progress"],
    ["cancelled", "cancelled"],
    ["resolved", "resolved"],
    ["reopened", "in_progress"],
    ["closed", "closed"],
  ] as const)("%s reads as %s", (status, state) => {
    expect(toDelegationState(status)).toBe(state);
  });

  it.each(["rejected", "InProgress", "held", ""])(
    "flags %j (not a v4 status) as null instead of guessing",
    (status) => {
      expect(toDelegationState(status)).toBeNull();
    },
  );

  it("has one row per spec status, and the spec enum is the one in the OAS", () => {
    expect(mefSonataMapping.statuses.map((row) => row.carrier).sort()).toEqual(
      [...troubleTicketStatuses].sort(),
    );
    const specEnum = (management.spec.schemas["TroubleTicketStatusType"] as { enum: string[] }).enum;
    expect([...troubleTicketStatuses].sort()).toEqual([...specEnum].sort());
  });

  it("the state machine covers every status; closed and cancelled are terminal, resolved waits on close or reopen", () => {
    expect(Object.keys(troubleTicketTransitions).sort()).toEqual([...troubleTicketStatuses].sort());
    for (const status of troubleTicketStatuses) {
      expect(troubleTicketTransitions[status].length === 0, status).toBe(terminalStatuses.has(status));
    }
    expect(troubleTicketTransitions.resolved).toEqual(["closed", "reopened"]);
    expect(troubleTicketTransitions.pending).toContain("inProgress");
    expect(troubleTicketTransitions.acknowledged).not.toContain("resolved");
  });
});

describe("priority and severity", () => {
  it.each([
    ["P1", "critical", "extensive"],
    ["P2", "high", "significant"],
    ["P3", "medium", "moderate"],
    ["P4", "low", "minor"],
  ] as const)("%s goes out as %s / %s and reads back", (priority, mefPriority, mefSeverity) => {
    expect(toMefPriorityAndSeverity(priority, schemes)).toEqual({
      priority: mefPriority,
      severity: mefSeverity,
    });
    expect(fromMefPriority(mefPriority, schemes)).toBe(priority);
    expect(fromMefSeverity(mefSeverity, schemes)).toBe(priority);
  });

  it("flags values outside MEF's enums", () => {
    expect(fromMefPriority("urgent", schemes)).toBeNull();
    expect(fromMefSeverity("critical", schemes)).toBeNull();
  });

  it("applies a connection's scheme overrides", () => {
    const custom = schemesFor(
      MefSonataSettings.parse({ ...settings, priorityScheme: { outbound: { P2: "critical" } } }),
    );
    expect(toMefPriorityAndSeverity("P2", custom).priority).toBe("critical");
    expect(toMefPriorityAndSeverity("P2", custom).severity).toBe("significant");
  });
});

describe("toTroubleTicketCreate", () => {
  it.each(priorityLevels)("builds a TroubleTicket_Create the spec accepts for %s", (priority: Priority) => {
    const body = toTroubleTicketCreate({ ...delegation, priority }, settings, schemes, now);
    const result = management.validateRequest({ method: "POST", path: "/troubleTicket", body });
    expect(result, `${contractErrors(result)}\n${JSON.stringify(body)}`).toEqual({ ok: true });
  });

  it("carries R9's required attributes, our delegation id as externalId and a buyer note", () => {
    expect(toTroubleTicketCreate(delegation, settings, schemes, now)).toEqual({
      description: "Circuit down at Leeds office\n\nNo light on the CPE since 09:12.",
      externalId: delegation.delegationId,
      observedImpact: "down",
      priority: "critical",
      severity: "extensive",
      ticketType: "maintenance",
      relatedContactInformation: [
        {
          emailAddress: "dana@provider.example",
          name: "Dana Ops",
          number: "+44 20 7946 0000",
          role: "reporterContact",
        },
      ],
      relatedEntity: [{ "@referredType": "Product", id: delegation.service!.id, role: "Issue Source" }],
      note: [
        {
          id: `${delegation.delegationId}-delegation`,
          author: "Dana Ops",
          date: "2024-05-01T10:00:00.000Z",
          source: "buyer",
          text: [
            "Reason: Fault is in the carrier's access network",
            "End customer: Acme Ltd (ten_acme)",
            `Our references: ticket ${delegation.canonicalId}, delegation ${delegation.delegationId}`,
          ].join("\n"),
        },
      ],
    });
  });

  it("maps observed impact per priority from settings; intermittent only when configured", () => {
    const impacts = priorityLevels.map(
      (priority) => toTroubleTicketCreate({ ...delegation, priority }, settings, schemes, now).observedImpact,
    );
    expect(impacts).toEqual(["down", "degraded", "degraded", "degraded"]);
    const configured = MefSonataSettings.parse({
      ...settings,
      observedImpact: { P1: "down", P2: "down", P3: "intermittent", P4: "degraded" },
    });
    expect(
      toTroubleTicketCreate({ ...delegation, priority: "P3" }, configured, schemes, now).observedImpact,
    ).toBe("intermittent");
  });

  it("fills the reporter from the connection's defaults where the delegation has none", () => {
    const body = toTroubleTicketCreate(
      { ...delegation, reporter: { name: " ", email: null, phone: null } },
      MefSonataSettings.parse({
        ...settings,
        reporterContact: { ...settings.reporterContact, organization: "Provider Ltd" },
      }),
      schemes,
      now,
    );
    expect(body.relatedContactInformation).toEqual([
      {
        emailAddress: "noc@provider.example",
        name: "Provider NOC",
        number: "+44 20 7946 0000",
        organization: "Provider Ltd",
        role: "reporterContact",
      },
    ]);
  });

  it("sends the title alone when there is no separate description", () => {
    expect(
      toTroubleTicketCreate({ ...delegation, description: "" }, settings, schemes, now).description,
    ).toBe(delegation.title);
  });

  it("refuses a delegation without a carrier service: MEF requires the related product", () => {
    expect(() => toTroubleTicketCreate({ ...delegation, service: null }, settings, schemes, now)).toThrow(
      DelegationInputError,
    );
  });
});

describe("buyerNote", () => {
  it("is a Note the spec accepts, with source=buyer (R16)", () => {
    const note = buyerNote({ id: "cmt_1", text: "Site access granted", author: "Dana Ops", date: now });
    expect(management.validateSchema("Note", note)).toEqual({ ok: true });
    expect(note.source).toBe("buyer");
  });
});

describe("toCarrierTicket", () => {
  it("normalises the developer guide's create response", () => {
    expect(toCarrierTicket(ticketFromFixture())).toEqual({
      externalId: fixtureTicketId,
      correlationId: linkedDelegationId,
      status: "acknowledged",
      state: "open",
      statusReason: null,
      updatedAt: "2021-06-02T20:56:08.560Z",
      acknowledgedAt: "2021-06-02T20:56:08.560Z",
      resolvedAt: null,
      notes: [
        {
          externalId: "note-1",
          text: "Couldn't reach the support on phone.",
          author: "John Example",
          createdAt: "2021-06-02T14:25:11.090Z",
          source: "buyer",
        },
      ],
    });
  });

  it("reports resolvedAt only while resolved or closed (a reopened ticket may keep its old resolutionDate)", () => {
    const base = ticketFromFixture();
    const resolved = { ...base, status: "resolved", resolutionDate: "2021-06-03T15:56:08.559Z" };
    expect(toCarrierTicket(resolved).resolvedAt).toBe("2021-06-03T15:56:08.559Z");
    expect(toCarrierTicket({ ...resolved, status: "reopened" }).resolvedAt).toBeNull();
  });

  it("takes the reason of the latest status change and the newest date as updatedAt", () => {
    const ticket = {
      ...ticketFromFixture(),
      lastUpdate: undefined,
      status: "pending",
      statusChange: [
        { changeDate: "2021-06-02T20:56:08.560Z", status: "acknowledged" },
        { changeDate: "2021-06-04T08:00:00Z", status: "pending", changeReason: "Site access needed" },
        { changeDate: "2021-06-03T08:00:00Z", status: "inProgress" },
      ],
    };
    expect(toCarrierTicket(ticket)).toMatchObject({ state: "pending", statusReason: "Site access needed" });
    expect(updatedAtOf(ticket)).toBe("2021-06-04T08:00:00.000Z");
  });

  it("keeps notes apart when buyer and seller reuse an id (ids are only unique per provider)", () => {
    const ticket = {
      ...ticketFromFixture(),
      note: [
        { id: "1", author: "Dana", date: "2021-06-02T14:25:11Z", source: "buyer", text: "ours" },
        { id: "1", author: "NOC", date: "2021-06-02T15:25:11Z", source: "seller", text: "theirs" },
      ],
    };
    expect(toCarrierTicket(ticket).notes.map((note) => [note.externalId, note.source])).toEqual([
      ["1", "buyer"],
      ["1#2", "seller"],
    ]);
  });
});

describe("MefSonataSettings", () => {
  it("applies defaults", () => {
    expect(settings).toMatchObject({
      ticketType: "maintenance",
      relayNotesToClient: false,
      observedImpact: { P1: "down", P2: "degraded", P3: "degraded", P4: "degraded" },
    });
  });

  it("leaves the poll interval to the engine unless the connection sets one", () => {
    const parsed = settings as { pollIntervalSeconds?: number };
    expect(parsed.pollIntervalSeconds).toBeUndefined();
    expect(mefSonata.pollIntervalMs?.(settings)).toBeNull();
  });

  it.each([
    ["a base URL without the MEF server path", { baseUrl: "https://seller.example/api" }],
    ["a ticketType outside the enum", { ticketType: "failure" }],
    ["an unknown key", { buyerID: "b1" }],
  ])("rejects %s", (_case, overrides) => {
    expect(MefSonataSettings.safeParse({ ...settings, ...overrides }).success).toBe(false);
  });

  it("accepts the server URL with a trailing slash, as the OAS writes it", () => {
    const parsed = MefSonataSettings.safeParse({
      ...settings,
      baseUrl: "https://seller.example/lso/mefApi/sonata/troubleTicket/v4/",
    });
    expect(parsed.success).toBe(true);
  });
});
