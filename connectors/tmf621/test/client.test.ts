import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CarrierClient, PermanentHttpError, TransientHttpError } from "../../sdk/index.js";
import { createTmf621Client } from "../client.js";
import { Tmf621Settings, type Tmf621Version } from "../config.js";
import { describeContract } from "./contract.js";
import { delegation } from "./delegation.js";
import { type JsonRecord, ticketFixture } from "./fixtures/index.js";
import {
  baseUrls,
  carrierHandlers,
  carrierOrigin,
  linkedDelegationId,
  linkedTicket,
  type SeenRequest,
  see,
  tmfError,
} from "./handlers.js";

const seen: SeenRequest[] = [];
const server = setupServer(...carrierHandlers("v4", seen), ...carrierHandlers("v5", seen));

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  seen.length = 0;
});
afterAll(() => server.close());

const now = new Date("2026-01-05T10:00:00.000Z");

function client(version: Tmf621Version, overrides: Record<string, unknown> = {}): CarrierClient {
  const settings = Tmf621Settings.parse({
    baseUrl: baseUrls[version],
    auth: { type: "bearer", token: "carrier-token" },
    version,
    ...overrides,
  });
  return createTmf621Client(settings, {
    timeoutMs: 2_000,
    retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 2_000 },
    now: () => now,
  });
}

const bodyOf = (request: SeenRequest | undefined) => (request?.body ?? {}) as JsonRecord;
const calls = () =>
  seen.map((request) => `${request.method} ${request.url.pathname.replace(/^.*\/v[45]/, "")}`);

/** Every request the client sent conforms to the official spec of its version. */
function expectContract() {
  for (const request of seen) {
    expect(
      request.contract.ok,
      `${request.method} ${request.url} ${request.contentType}\n${describeContract(request.contract)}\n${JSON.stringify(request.body, null, 2)}`,
    ).toBe(true);
  }
}

describe.each(["v4", "v5"] as const)("%s openTicket (create-or-link)", (version) => {
  const filterName = version === "v4" ? "externalId" : "externalIdentifier.id";

  it("links a ticket already carrying our delegation id and does not POST", async () => {
    const ref = await client(version).openTicket({ ...delegation, delegationId: linkedDelegationId });
    expect(ref).toEqual({
      externalId: "3180",
      externalKey: null,
      url: `https://mycsp.com:8080/tmf-api/troubleTicket/${version}/troubleTicket/3180`,
      updatedAt: "2022-05-31T07:34:45.968Z",
      action: "linked",
    });
    expect(calls(), JSON.stringify(calls())).toEqual(["GET /troubleTicket"]);
    expect(seen[0]?.url.searchParams.get(filterName)).toBe(linkedDelegationId);
    expect(seen[0]?.authorization).toBe("Bearer carrier-token");
    expectContract();
  });

  it("POSTs the delegation when no ticket carries the id", async () => {
    const ref = await client(version).openTicket(delegation);
    expect(ref).toMatchObject({
      externalId: "4242",
      action: "created",
      updatedAt: "2026-01-05T10:00:00.000Z",
    });
    expect(calls()).toEqual(["GET /troubleTicket", "POST /troubleTicket"]);
    const body = bodyOf(seen[1]);
    expect(body["name"], JSON.stringify(body)).toBe(delegation.title);
    if (version === "v4") expect(body["externalId"]).toBe(delegation.delegationId);
    else
      expect(body["externalIdentifier"]).toEqual([expect.objectContaining({ id: delegation.delegationId })]);
    expectContract();
  });

  it("scans the list when the carrier ignores the filter, and links what it finds", async () => {
    const foreign = (index: number) =>
      ticketFixture(version, { id: `f${index}`, externalId: undefined, externalIdentifier: undefined });
    server.use(
      http.get(`${baseUrls[version]}/troubleTicket`, async ({ request }) => {
        await see(seen, version, request);
        const offset = Number(new URL(request.url).searchParams.get("offset"));
        if (offset === 0) return HttpResponse.json(Array.from({ length: 100 }, (_, index) => foreign(index)));
        return HttpResponse.json([
          foreign(100),
          { ...linkedTicket(version, delegation.delegationId), id: "9001" },
        ]);
      }),
    );
    const ref = await client(version).openTicket(delegation);
    expect(ref).toMatchObject({ externalId: "9001", action: "linked" });
    expect(seen.map((request) => request.url.searchParams.get("offset"))).toEqual(["0", "100"]);
    expect(calls().filter((call) => call.startsWith("POST"))).toEqual([]);
  });

  it("creates when an unfiltered short list does not hold the id", async () => {
    server.use(
      http.get(`${baseUrls[version]}/troubleTicket`, async ({ request }) => {
        await see(seen, version, request);
        return HttpResponse.json([ticketFixture(version, { id: "f1" })]);
      }),
    );
    const ref = await client(version).openTicket(delegation);
    expect(ref.action).toBe("created");
    expect(calls()).toEqual(["GET /troubleTicket", "POST /troubleTicket"]);
  });

  it("links what an ambiguous failed POST created instead of POSTing again", async () => {
    let landed = false;
    server.use(
      http.get(`${baseUrls[version]}/troubleTicket`, async ({ request }) => {
        await see(seen, version, request);
        return HttpResponse.json(landed ? [linkedTicket(version, delegation.delegationId)] : []);
      }),
      http.post(`${baseUrls[version]}/troubleTicket`, async ({ request }) => {
        await see(seen, version, request);
        landed = true;
        return tmfError(version, 500, "Internal Server Error");
      }),
    );
    const ref = await client(version).openTicket(delegation);
    expect(ref.action).toBe("linked");
    expect(calls(), JSON.stringify(calls())).toEqual([
      "GET /troubleTicket",
      "POST /troubleTicket",
      "GET /troubleTicket",
    ]);
  });
});

describe("v5 asynchronous create (202 Accepted)", () => {
  it("looks the ticket up after a 202 and reports it created", async () => {
    let accepted = false;
    server.use(
      http.post(`${baseUrls.v5}/troubleTicket`, async ({ request }) => {
        await see(seen, "v5", request);
        accepted = true;
        return new HttpResponse(null, { status: 202 });
      }),
      http.get(`${baseUrls.v5}/troubleTicket`, async ({ request }) => {
        await see(seen, "v5", request);
        return HttpResponse.json(accepted ? [linkedTicket("v5", delegation.delegationId)] : []);
      }),
    );
    expect(await client("v5").openTicket(delegation)).toMatchObject({
      externalId: "3180",
      action: "created",
    });
  });

  it("throws a retryable error while the accepted ticket is not listed yet", async () => {
    server.use(http.post(`${baseUrls.v5}/troubleTicket`, () => new HttpResponse(null, { status: 202 })));
    const error = await client("v5")
      .openTicket(delegation)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientHttpError);
    expect((error as TransientHttpError).retryable).toBe(true);
  });
});

describe("addNote", () => {
  const note = { canonicalId: "cmt_01", text: "CPE serial is FX-1", author: "Jane Doe" };
  const first = { attempt: 1, since: now };

  it("v4: reads the ticket and resends the whole note array with ours appended (merge)", async () => {
    await client("v4").addNote("3180", note, first);
    expect(calls()).toEqual(["GET /troubleTicket/3180", "PATCH /troubleTicket/3180"]);
    const patch = seen[1];
    expect(patch?.contentType).toBe("application/json");
    const existing = ticketFixture("v4")["note"] as unknown[];
    expect(patch?.body, JSON.stringify(patch?.body)).toEqual({
      note: [
        ...existing,
        { author: "Jane Doe (ticket-sync-gateway)", date: now.toISOString(), text: note.text },
      ],
    });
    expectContract();
  });

  it("v4: sends application/merge-patch+json for carriers that require it", async () => {
    await client("v4", { v4PatchContentType: "application/merge-patch+json" }).addNote("3180", note, first);
    expect(seen[1]?.contentType).toBe("application/merge-patch+json");
  });

  it("v5: appends with JSON Patch add /note/-, never resending existing notes", async () => {
    await client("v5").addNote("3180", note, first);
    const patch = seen[1];
    expect(patch?.contentType).toBe("application/json-patch+json");
    expect(patch?.body, JSON.stringify(patch?.body)).toEqual([
      {
        op: "add",
        path: "/note/-",
        value: {
          author: "Jane Doe (ticket-sync-gateway)",
          date: now.toISOString(),
          text: note.text,
          "@type": "Note",
        },
      },
    ]);
    expectContract();
  });

  it("v5: adds the note array itself when the ticket has none", async () => {
    server.use(
      http.get(`${baseUrls.v5}/troubleTicket/:id`, async ({ request }) => {
        await see(seen, "v5", request);
        const { note: _notes, ...withoutNotes } = ticketFixture("v5");
        return HttpResponse.json(withoutNotes);
      }),
    );
    await client("v5").addNote("3180", note, first);
    expect(seen[1]?.body).toEqual([
      { op: "add", path: "/note", value: [expect.objectContaining({ text: note.text })] },
    ]);
    expectContract();
  });

  it("v5: falls back to a merge patch of the whole array when JSON Patch is off", async () => {
    await client("v5", { v5NotePatch: "merge-patch" }).addNote("3180", note, first);
    const patch = seen[1];
    expect(patch?.contentType).toBe("application/merge-patch+json");
    expect(bodyOf(patch)["@type"]).toBe("TroubleTicket");
    expect(bodyOf(patch)["note"]).toHaveLength(2);
    expectContract();
  });

  describe.each(["v4", "v5"] as const)("%s read-back on retry", (version) => {
    const withNote = (author: string, date: string) =>
      http.get(`${baseUrls[version]}/troubleTicket/:id`, async ({ request }) => {
        await see(seen, version, request);
        const existing = ticketFixture(version)["note"] as unknown[];
        const ours = { author, date, text: note.text, ...(version === "v5" ? { "@type": "Note" } : {}) };
        return HttpResponse.json(ticketFixture(version, { note: [...existing, ours] }));
      });

    it("skips the write when attempt > 1 finds our identical note", async () => {
      server.use(withNote("Jane Doe (ticket-sync-gateway)", "2026-01-05T10:00:01Z"));
      await client(version).addNote("3180", note, { attempt: 2, since: now });
      expect(calls()).toEqual(["GET /troubleTicket/3180"]);
    });

    it("writes when the identical text is someone else's, or older than the first attempt", async () => {
      server.use(withNote("Carrier NOC", "2026-01-05T10:00:01Z"));
      await client(version).addNote("3180", note, { attempt: 2, since: now });
      server.use(withNote("Jane Doe (ticket-sync-gateway)", "2025-12-01T00:00:00Z"));
      await client(version).addNote("3180", note, { attempt: 2, since: now });
      expect(calls().filter((call) => call.startsWith("PATCH"))).toHaveLength(2);
    });

    it("writes on the first attempt even if the same text is there (repeating yourself is allowed)", async () => {
      server.use(withNote("Jane Doe (ticket-sync-gateway)", "2026-01-05T10:00:01Z"));
      await client(version).addNote("3180", note, first);
      expect(calls()).toEqual(["GET /troubleTicket/3180", "PATCH /troubleTicket/3180"]);
    });
  });
});

describe.each(["v4", "v5"] as const)("%s cancel, close and reopen are status PATCHes", (version) => {
  const typed = (body: JsonRecord) => (version === "v5" ? { ...body, "@type": "TroubleTicket" } : body);
  const merge = version === "v4" ? "application/json" : "application/merge-patch+json";

  it("cancel sends status cancelled with the reason", async () => {
    await client(version).cancel("3180", "Customer withdrew the report");
    expect(seen[0]?.body).toEqual(
      typed({ status: "cancelled", statusChangeReason: "Customer withdrew the report" }),
    );
    expect(seen[0]?.contentType).toBe(merge);
    expectContract();
  });

  it("close sends status closed", async () => {
    await client(version).close("3180");
    expect(seen[0]?.body).toEqual(
      typed({ status: "closed", statusChangeReason: "Resolution confirmed by the service provider" }),
    );
    expectContract();
  });

  it("reopen sends the configured status", async () => {
    await client(version).reopen("3180", "Still down");
    await client(version, { reopenStatus: "acknowledged" }).reopen("3180", null);
    expect(seen.map((request) => bodyOf(request)["status"])).toEqual(["inProgress", "acknowledged"]);
    expect(bodyOf(seen[0])["statusChangeReason"]).toBe("Still down");
    expectContract();
  });
});

describe("retries", () => {
  it("retries a 503 on a read and then succeeds", async () => {
    let failures = 1;
    server.use(
      http.get(`${baseUrls.v4}/troubleTicket/:id`, async ({ request }) => {
        if (failures-- > 0) {
          await see(seen, "v4", request);
          return new HttpResponse("<html>Service Unavailable</html>", { status: 503 });
        }
        return undefined;
      }),
    );
    const ticket = await client("v4").getTicket("3180");
    expect(ticket.externalId).toBe("3180");
    expect(calls()).toEqual(["GET /troubleTicket/3180", "GET /troubleTicket/3180"]);
  });

  it("waits for Retry-After on 429 before retrying", async () => {
    let limited = 1;
    server.use(
      http.get(`${baseUrls.v5}/troubleTicket/:id`, async ({ request }) => {
        if (limited-- > 0) {
          await see(seen, "v5", request);
          return HttpResponse.json(
            { code: "429", reason: "Too Many Requests", "@type": "Error" },
            { status: 429, headers: { "Retry-After": "0.3" } },
          );
        }
        return undefined;
      }),
    );
    const started = performance.now();
    await client("v5").getTicket("3180");
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
    expect(calls()).toEqual(["GET /troubleTicket/3180", "GET /troubleTicket/3180"]);
  });

  it("retries a 500 on a status PATCH (setting a status twice is harmless)", async () => {
    let failures = 1;
    server.use(
      http.patch(`${baseUrls.v5}/troubleTicket/:id`, async ({ request }) => {
        await see(seen, "v5", request);
        if (failures-- > 0) return tmfError("v5", 500, "Internal Server Error");
        return HttpResponse.json(ticketFixture("v5"));
      }),
    );
    await client("v5").close("3180");
    expect(calls()).toEqual(["PATCH /troubleTicket/3180", "PATCH /troubleTicket/3180"]);
  });

  it("does not replay a JSON Patch add after a 500 (it may have been applied)", async () => {
    server.use(
      http.patch(`${baseUrls.v5}/troubleTicket/:id`, async ({ request }) => {
        await see(seen, "v5", request);
        return tmfError("v5", 500, "Internal Server Error");
      }),
    );
    const error = await client("v5")
      .addNote("3180", { canonicalId: "cmt_1", text: "x", author: "Jane Doe" }, { attempt: 1, since: now })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientHttpError);
    expect((error as TransientHttpError).maybeProcessed).toBe(true);
    expect(calls()).toEqual(["GET /troubleTicket/3180", "PATCH /troubleTicket/3180"]);
  });

  it("does not retry a 400 and keeps the carrier's error body", async () => {
    server.use(
      http.post(`${baseUrls.v4}/troubleTicket`, async ({ request }) => {
        await see(seen, "v4", request);
        return tmfError("v4", 400, "severity is not one of Critical, Major, Minor");
      }),
    );
    const error = await client("v4")
      .openTicket(delegation)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentHttpError);
    expect((error as PermanentHttpError).attempts).toBe(1);
    expect((error as PermanentHttpError).responseBody).toContain("severity is not one of");
    expect(calls()).toEqual(["GET /troubleTicket", "POST /troubleTicket"]);
  });
});

describe.each(["v4", "v5"] as const)("%s hub listeners", (version) => {
  const callback = "https://gateway.example/webhooks/con_01/s3cr3t-path-value";

  it("registers the callback with POST /hub and returns the hub id", async () => {
    const result = await client(version, {
      hubQuery: "eventType=TroubleTicketStatusChangeEvent",
    }).registerListener(callback);
    expect(result).toEqual({ listenerId: "hub-7" });
    expect(seen[0]?.body).toEqual({
      callback,
      query: "eventType=TroubleTicketStatusChangeEvent",
      ...(version === "v5" ? { "@type": "Hub" } : {}),
    });
    expectContract();
  });

  it("removes it with DELETE /hub/{id}, and treats 404 as already removed", async () => {
    await client(version).unregisterListener("hub-7");
    server.use(
      http.delete(`${baseUrls[version]}/hub/:id`, async ({ request }) => {
        await see(seen, version, request);
        return tmfError(version, 404, "Not Found");
      }),
    );
    await client(version).unregisterListener("hub-gone");
    expect(calls()).toEqual(["DELETE /hub/hub-7", "DELETE /hub/hub-gone"]);
  });
});

describe("hub without an id in the body", () => {
  it("takes the id from Location (v5 Hub.id is optional; the spec's own example has none)", async () => {
    server.use(
      http.post(`${baseUrls.v5}/hub`, () =>
        HttpResponse.json(
          { "@type": "Hub", callback: "https://gateway.example/cb" },
          { status: 201, headers: { Location: `${baseUrls.v5}/hub/77` } },
        ),
      ),
    );
    expect(await client("v5").registerListener("https://gateway.example/cb")).toEqual({ listenerId: "77" });
  });
});

describe("listChanged", () => {
  const cursor = "2026-01-05T09:00:00.000Z";
  const rows = (version: Tmf621Version) => [
    ticketFixture(version, { id: "1", lastUpdate: "2026-01-05T09:30:00.000Z" }),
    ticketFixture(version, { id: "2", lastUpdate: "2026-01-05T09:45:00.000Z" }),
    // A carrier that ignores the operator sends older rows; they are dropped here.
    ticketFixture(version, { id: "3", lastUpdate: "2026-01-04T00:00:00.000Z" }),
  ];

  it.each(["v4", "v5"] as const)(
    "%s filters on lastUpdate.gte when the carrier supports it",
    async (version) => {
      server.use(
        http.get(`${baseUrls[version]}/troubleTicket`, async ({ request }) => {
          await see(seen, version, request);
          return HttpResponse.json(rows(version));
        }),
      );
      const result = await client(version, { supportsLastUpdateFilter: true }).listChanged(cursor, [
        "1",
        "9",
      ]);
      expect(result).toEqual({ externalIds: ["1", "2"], nextCursor: "2026-01-05T09:45:00.000Z" });
      expect(seen[0]?.url.searchParams.get("lastUpdate.gte")).toBe(cursor);
      expect(seen[0]?.url.searchParams.get("limit")).toBe("100");
    },
  );

  it("re-reads the open tickets otherwise, keeping those changed since the cursor", async () => {
    const updates: Record<string, string> = {
      "1": "2026-01-05T09:30:00.000Z",
      "2": "2026-01-05T08:00:00.000Z",
    };
    server.use(
      http.get(`${baseUrls.v4}/troubleTicket/:id`, async ({ request, params }) => {
        await see(seen, "v4", request);
        const id = String(params["id"]);
        if (updates[id] === undefined) return tmfError("v4", 404, "Not Found");
        return HttpResponse.json(ticketFixture("v4", { id, lastUpdate: updates[id] }));
      }),
    );
    const result = await client("v4").listChanged(cursor, ["1", "2", "gone"]);
    expect(result.externalIds.sort()).toEqual(["1", "gone"]);
    expect(result.nextCursor).toBe("2026-01-05T09:30:00.000Z");
    expect(calls().sort()).toEqual([
      "GET /troubleTicket/1",
      "GET /troubleTicket/2",
      "GET /troubleTicket/gone",
    ]);
  });

  it("starts a filtered window on the first poll by re-reading the open tickets", async () => {
    const result = await client("v5", { supportsLastUpdateFilter: true }).listChanged(null, ["3180"]);
    expect(result).toEqual({ externalIds: ["3180"], nextCursor: "2026-01-05T09:59:00.000Z" });
    expect(calls()).toEqual(["GET /troubleTicket/3180"]);
  });

  it("rejects a cursor that is not a date", async () => {
    await expect(client("v5").listChanged("yesterday", [])).rejects.toThrow(RangeError);
  });
});

describe("auth toward the carrier", () => {
  it("gets an OAuth2 client-credentials token once and sends it as a bearer", async () => {
    const tokenRequests: string[] = [];
    server.use(
      http.post(`${carrierOrigin}/oauth/token`, async ({ request }) => {
        tokenRequests.push(await request.text());
        return HttpResponse.json({ access_token: "oauth-access-1", token_type: "Bearer", expires_in: 3600 });
      }),
    );
    const oauthClient = client("v5", {
      auth: {
        type: "oauth2",
        tokenUrl: `${carrierOrigin}/oauth/token`,
        clientId: "msp-gateway",
        clientSecret: "client-secret-value",
      },
    });
    await oauthClient.getTicket("3180");
    await oauthClient.getTicket("3181");
    expect(tokenRequests).toHaveLength(1);
    expect(new URLSearchParams(tokenRequests[0]).get("grant_type")).toBe("client_credentials");
    expect(seen.map((request) => request.authorization)).toEqual([
      "Bearer oauth-access-1",
      "Bearer oauth-access-1",
    ]);
  });

  it("testConnection reports a 401 without throwing", async () => {
    server.use(http.get(`${baseUrls.v4}/troubleTicket`, () => tmfError("v4", 401, "Unauthorized")));
    const result = await client("v4").testConnection();
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/401.*check the credentials/);
  });
});
