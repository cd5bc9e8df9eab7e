import { describe, expect, it } from "vitest";
import { troubleTicketEventNames, troubleTicketSpecificationEventNames } from "../api-types.js";
import { Tmf621Settings, type Tmf621Version } from "../config.js";
import {
  buildCreateBody,
  buildHubBody,
  buildMergePatch,
  buildNote,
  buildNoteJsonPatch,
  buildStatusPatch,
} from "../mapping.js";
import { describeContract, tmf621Contracts } from "./contract.js";
import { delegation, minimalDelegation as minimal } from "./delegation.js";
import { type FixtureName, fixture, ticketFixture } from "./fixtures/index.js";

const contracts = tmf621Contracts();
const now = new Date("2026-01-05T10:00:00.000Z");

function settings(version: Tmf621Version, overrides: Record<string, unknown> = {}) {
  return Tmf621Settings.parse({
    baseUrl: `https://carrier.example/tmf-api/troubleTicket/${version}`,
    auth: { type: "bearer", token: "carrier-token" },
    version,
    ...overrides,
  });
}

function expectRequest(
  version: Tmf621Version,
  request: { method: string; path: string; body: unknown; contentType?: string },
) {
  const result = contracts[version].validateRequest(request);
  expect(result.ok, `${describeContract(result)}\n${JSON.stringify(request.body, null, 2)}`).toBe(true);
}

describe.each(["v4", "v5"] as const)("%s payload builders against the official spec", (version) => {
  const merge = version === "v4" ? "application/json;charset=utf-8" : "application/merge-patch+json";

  it.each([
    ["a full delegation", delegation],
    ["a minimal delegation", minimal],
  ])("POST /troubleTicket with %s", (_name, input) => {
    expectRequest(version, {
      method: "POST",
      path: "/troubleTicket",
      body: buildCreateBody(input, settings(version), now),
    });
  });

  it.each([
    ["cancelled", "Duplicate of another ticket"],
    ["closed", "Resolution confirmed"],
    ["inProgress", null],
  ] as const)("PATCH status %s", (status, reason) => {
    expectRequest(version, {
      method: "PATCH",
      path: "/troubleTicket/42",
      contentType: merge,
      body: buildStatusPatch(version, status, reason),
    });
  });

  it("PATCH with the whole note array and ours appended", () => {
    const existing = ticketFixture(version)["note"] as unknown[];
    const note = buildNote(version, { author: "Jane Doe", text: "Serial is FX-1" }, settings(version), now);
    expectRequest(version, {
      method: "PATCH",
      path: "/troubleTicket/3180",
      contentType: merge,
      body: buildMergePatch(version, { note: [...existing, note] }),
    });
  });

  it("POST /hub", () => {
    expectRequest(version, {
      method: "POST",
      path: "/hub",
      body: buildHubBody(
        version,
        "https://gw.example/webhooks/con_1/s3cr3t",
        "eventType=TroubleTicketStatusChangeEvent",
      ),
    });
  });

  it("the spec's listener paths are exactly the event names the webhook accepts", () => {
    const listenerNames = contracts[version].spec.operations
      .filter((operation) => operation.pathTemplate.startsWith("/listener/"))
      .map((operation) => operation.pathTemplate.slice("/listener/".length))
      .sort();
    const ours = [
      ...troubleTicketEventNames,
      ...(version === "v5" ? troubleTicketSpecificationEventNames : []),
    ];
    expect(listenerNames).toEqual([...ours].sort());
  });
});

describe("v4 and v5 shapes differ where the specs differ", () => {
  it("v4 puts our id in externalId and flat related parties; v5 in externalIdentifier[] with @types", () => {
    const v4 = buildCreateBody(delegation, settings("v4"), now);
    const v5 = buildCreateBody(delegation, settings("v5"), now);
    expect(v4, JSON.stringify(v4)).toMatchObject({
      name: delegation.title,
      severity: "Critical",
      priority: "Critical",
      ticketType: "Incident",
      externalId: delegation.delegationId,
      relatedParty: [
        { id: "ten_01JD8X4Q2W", name: "Roxen AB", role: "customer", "@referredType": "Organization" },
        { id: "jane.doe@msp.example", name: "Jane Doe", role: "reporter", "@referredType": "Individual" },
      ],
      relatedEntity: [{ id: "CIR-778812", role: "affectedService", "@referredType": "Service" }],
      note: [{ author: "Jane Doe (ticket-sync-gateway)", date: now.toISOString(), text: delegation.reason }],
    });
    expect(v4).not.toHaveProperty("@type");
    expect(v4).not.toHaveProperty("externalIdentifier");
    expect(v5, JSON.stringify(v5)).toMatchObject({
      "@type": "TroubleTicket",
      externalIdentifier: [
        {
          id: delegation.delegationId,
          owner: "ticket-sync-gateway",
          externalIdentifierType: "Delegation",
          "@type": "ExternalIdentifier",
        },
      ],
      relatedParty: [
        {
          role: "customer",
          "@type": "RelatedPartyRefOrPartyRoleRef",
          partyOrPartyRole: { id: "ten_01JD8X4Q2W", "@type": "PartyRef", "@referredType": "Organization" },
        },
        { role: "reporter", partyOrPartyRole: { id: "jane.doe@msp.example", "@type": "PartyRef" } },
      ],
      relatedEntity: [
        {
          role: "affectedService",
          "@type": "RelatedEntity",
          entity: { id: "CIR-778812", "@type": "EntityRef" },
        },
      ],
      note: [{ "@type": "Note", text: delegation.reason }],
    });
    expect(v5).not.toHaveProperty("externalId");
    expect(String(v5["description"])).toContain(
      `Provider reference: ${delegation.canonicalId} (delegation ${delegation.delegationId})`,
    );
    expect(String(v5["description"])).toContain("Contact: Jane Doe, jane.doe@msp.example, +46 8 123 45 67");
  });

  it("the validator catches a body sent to the wrong version", () => {
    const v5Body = contracts.v4.validateRequest({
      method: "POST",
      path: "/troubleTicket",
      body: buildCreateBody(delegation, settings("v5"), now),
    });
    expect(describeContract(v5Body)).toMatch(/\/relatedParty\/0\/id: is required/);
    const v4Body = contracts.v5.validateRequest({
      method: "POST",
      path: "/troubleTicket",
      body: buildCreateBody(delegation, settings("v4"), now),
    });
    expect(describeContract(v4Body)).toMatch(/\/@type: is required/);
  });

  it("settings choose the values: ticket type, roles, priority table", () => {
    const body = buildCreateBody(
      delegation,
      settings("v4", {
        ticketType: "Fault",
        relatedPartyRoles: { customer: "endCustomer", reporter: "originator" },
        priorityTable: { outbound: { P1: "1" } },
        severityTable: { outbound: { P1: "Outage" } },
      }),
      now,
    );
    expect(body).toMatchObject({
      ticketType: "Fault",
      priority: "1",
      severity: "Outage",
      relatedParty: [{ role: "endCustomer" }, { role: "originator" }],
    });
  });
});

describe("quirks the specs impose", () => {
  it("v4 declares only application/json for PATCH: merge-patch+json is outside the v4 contract", () => {
    const result = contracts.v4.validateRequest({
      method: "PATCH",
      path: "/troubleTicket/1",
      contentType: "application/merge-patch+json",
      body: buildStatusPatch("v4", "closed", null),
    });
    expect(describeContract(result)).toMatch(/does not accept application\/merge-patch\+json/);
  });

  it("v5 JSON Patch: add /note/- when notes exist, add /note with an array when none do; the values are Notes", () => {
    const note = buildNote("v5", { author: "Jane Doe", text: "Serial is FX-1" }, settings("v5"), now);
    const append = buildNoteJsonPatch([{ text: "earlier" }], note);
    const first = buildNoteJsonPatch(null, note);
    expect(append).toEqual([{ op: "add", path: "/note/-", value: note }]);
    expect(first).toEqual([{ op: "add", path: "/note", value: [note] }]);
    for (const body of [append, first]) {
      expectRequest("v5", {
        method: "PATCH",
        path: "/troubleTicket/1",
        contentType: "application/json-patch+json",
        body,
      });
    }
    // JsonPatch.value is untyped in the spec, so the note itself is checked against Note_MVO.
    const asNote = contracts.v5.validateSchema("Note_MVO", note);
    expect(asNote.ok, describeContract(asNote)).toBe(true);
    const { "@type": _type, ...untyped } = note;
    expect(contracts.v5.validateSchema("Note_MVO", untyped).ok).toBe(false);
  });

  it("v5 requires @type on merge patches and hubs (Extensible)", () => {
    expect(
      contracts.v5.validateRequest({
        method: "PATCH",
        path: "/troubleTicket/1",
        contentType: "application/merge-patch+json",
        body: { status: "closed" },
      }).ok,
    ).toBe(false);
    expect(
      contracts.v5.validateRequest({ method: "POST", path: "/hub", body: { callback: "https://x" } }).ok,
    ).toBe(false);
  });
});

describe("fixtures conform to the spec of their version", () => {
  const responses: [Tmf621Version, FixtureName][] = [
    ["v4", "v4-trouble-ticket"],
    ["v5", "v5-trouble-ticket"],
  ];
  it.each(responses)("%s GET /troubleTicket/{id} 200: %s", (version, name) => {
    const result = contracts[version].validateResponse({
      method: "GET",
      path: "/troubleTicket/3180",
      status: 200,
      body: fixture(name),
    });
    expect(result.ok, describeContract(result)).toBe(true);
  });

  const requests: [FixtureName, string, string, string | undefined][] = [
    ["v5-create-request", "POST", "/troubleTicket", undefined],
    ["v5-hub-request", "POST", "/hub", undefined],
    ["v5-patch-merge-request", "PATCH", "/troubleTicket/3180", "application/merge-patch+json"],
    ["v5-patch-jsonpatch-request", "PATCH", "/troubleTicket/3180", "application/json-patch+json"],
  ];
  it.each(requests)("v5 request %s", (name, method, path, contentType) => {
    const result = contracts.v5.validateRequest({
      method,
      path,
      body: fixture<unknown>(name),
      ...(contentType === undefined ? {} : { contentType }),
    });
    expect(result.ok, describeContract(result)).toBe(true);
  });

  const events: [Tmf621Version, FixtureName, string][] = [
    ["v4", "v4-event-troubleTicketStatusChangeEvent", "troubleTicketStatusChangeEvent"],
    ["v5", "v5-event-troubleTicketCreateEvent", "troubleTicketCreateEvent"],
    ["v5", "v5-event-troubleTicketAttributeValueChangeEvent", "troubleTicketAttributeValueChangeEvent"],
    ["v5", "v5-event-troubleTicketStatusChangeEvent", "troubleTicketStatusChangeEvent"],
    ["v5", "v5-event-troubleTicketResolvedEvent", "troubleTicketResolvedEvent"],
    ["v5", "v5-event-troubleTicketInformationRequiredEvent", "troubleTicketInformationRequiredEvent"],
  ];
  it.each(events)("%s POST /listener/%s", (version, name, eventName) => {
    const result = contracts[version].validateRequest({
      method: "POST",
      path: `/listener/${eventName}`,
      body: fixture(name),
    });
    expect(result.ok, describeContract(result)).toBe(true);
  });
});
