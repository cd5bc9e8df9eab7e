import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type CarrierClient,
  type CarrierTicketInput,
  PermanentHttpError,
  TransientHttpError,
} from "../../sdk/index.js";
import { createMefSonataClient } from "../client.js";
import { MefSonataSettings, type MefSonataSettingsInput } from "../config.js";
import { DelegationInputError } from "../mapping.js";
import { fixture, fixtureTicketId, type JsonRecord, linkedDelegationId } from "./fixtures/index.js";
import {
  hubUrl,
  mefAnswer,
  mefHandlers,
  offSpecRequests,
  type SeenRequest,
  see,
  sellerUrl,
  ticketStore,
  ticketUrl,
} from "./handlers.js";

const seen: SeenRequest[] = [];
let store = ticketStore();
const server = setupServer();

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  // Whatever a test asserted, nothing the client sent may break the official spec.
  expect(offSpecRequests(seen), "requests that break troubleTicketManagement.api v4").toEqual([]);
  server.resetHandlers();
  seen.length = 0;
  store = ticketStore();
});
afterAll(() => server.close());

/** Handlers on a fresh store, with `overrides` in front. */
function useSeller(...overrides: Parameters<typeof server.use>) {
  server.resetHandlers(...overrides, ...mefHandlers(seen, store));
}

const baseSettings: MefSonataSettingsInput = {
  baseUrl: sellerUrl,
  auth: { type: "bearer", token: "buyer-token" },
  reporterContact: { name: "Provider NOC", emailAddress: "noc@provider.example", number: "+44 20 7946 0000" },
};

function client(overrides: Partial<MefSonataSettingsInput> = {}): CarrierClient {
  return createMefSonataClient(MefSonataSettings.parse({ ...baseSettings, ...overrides }), {
    timeoutMs: 1_000,
    retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 2_000 },
    now: () => new Date("2024-05-01T10:00:00.000Z"),
  });
}

const delegation: CarrierTicketInput = {
  delegationId: "dlg_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
  canonicalId: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
  title: "Circuit down at Leeds office",
  description: "No light on the CPE since 09:12.",
  priority: "P2",
  reason: null,
  service: { id: "01494079-6c79-4a25-83f7-48284196d44d", type: null },
  customer: { id: "ten_acme", name: "Acme Ltd" },
  reporter: { name: "Dana Ops", email: null, phone: null },
};

const calls = () => seen.map((request) => `${request.method} ${request.path}${request.url.search}`);
const ticket = () => store.get(fixtureTicketId)!;
const sellerNote = {
  id: "S-77",
  author: "Seller NOC",
  date: "2021-06-02T21:00:00.000Z",
  source: "seller",
  text: "Field engineer dispatched.",
  // Not in the Note schema (which allows extra properties): must survive our PATCH verbatim.
  "@type": "SellerNote",
};

describe("openTicket (create-or-link)", () => {
  it("links a ticket already carrying our delegation id as externalId, without POSTing", async () => {
    useSeller();
    const ref = await client().openTicket({ ...delegation, delegationId: linkedDelegationId });
    expect(ref).toEqual({
      externalId: fixtureTicketId,
      externalKey: null,
      url: null,
      updatedAt: "2021-06-02T20:56:08.560Z",
      action: "linked",
    });
    expect(calls(), JSON.stringify(calls())).toEqual([
      `GET /troubleTicket?externalId=${linkedDelegationId}`,
      `GET /troubleTicket/${fixtureTicketId}`,
    ]);
    expect(seen[0]?.authorization).toBe("Bearer buyer-token");
  });

  it("POSTs a TroubleTicket_Create when none carries the id", async () => {
    useSeller();
    const ref = await client().openTicket(delegation);
    expect(ref.action).toBe("created");
    expect(calls()).toEqual([
      `GET /troubleTicket?externalId=${delegation.delegationId}`,
      "POST /troubleTicket",
    ]);
    expect(seen[1]?.body, JSON.stringify(seen[1]?.body)).toMatchObject({
      externalId: delegation.delegationId,
      priority: "high",
      severity: "significant",
      observedImpact: "degraded",
      ticketType: "maintenance",
      relatedEntity: [{ "@referredType": "Product", id: delegation.service!.id }],
      relatedContactInformation: [{ role: "reporterContact", emailAddress: "noc@provider.example" }],
      note: [{ source: "buyer", id: `${delegation.delegationId}-delegation` }],
    });
    expect(store.get(ref.externalId)?.["externalId"]).toBe(delegation.delegationId);
  });

  it("does not link a ticket a loose seller filter returns for another externalId", async () => {
    useSeller(
      http.get(ticketUrl, async ({ request }) => {
        await see(seen, request);
        return mefAnswer("GET", "/troubleTicket", 200, fixture("trouble-ticket-list-response"));
      }),
    );
    const ref = await client().openTicket(delegation);
    expect(ref.action).toBe("created");
  });

  it("links what an ambiguous failed POST created instead of creating a second ticket", async () => {
    let posts = 0;
    useSeller(
      http.post(ticketUrl, async ({ request }) => {
        posts += 1;
        await see(seen, request);
        store.set("landed", {
          ...fixture<JsonRecord>("trouble-ticket-response"),
          id: "landed",
          externalId: delegation.delegationId,
        });
        return mefAnswer("POST", "/troubleTicket", 500, {
          code: "internalError",
          reason: "Connection reset",
        });
      }),
    );
    const ref = await client().openTicket(delegation);
    expect(ref).toMatchObject({ externalId: "landed", action: "linked" });
    expect(posts, JSON.stringify(calls())).toBe(1);
  });

  it("refuses a delegation without a carrier service before sending anything", async () => {
    useSeller();
    await expect(client().openTicket({ ...delegation, service: null })).rejects.toBeInstanceOf(
      DelegationInputError,
    );
    expect(calls()).toEqual([]);
  });

  it("surfaces the seller's 422 refusal as a permanent error carrying the MEF body", async () => {
    useSeller(
      http.post(ticketUrl, async ({ request }) => {
        await see(seen, request);
        return mefAnswer("POST", "/troubleTicket", 422, [
          { code: "referenceNotFound", reason: "Unknown product", propertyPath: "/relatedEntity/0/id" },
        ]);
      }),
    );
    const error = await client()
      .openTicket(delegation)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentHttpError);
    expect(error).toMatchObject({ status: 422, attempts: 1, retryable: false });
    expect((error as PermanentHttpError).responseBody).toContain("referenceNotFound");
  });

  it("sends buyerId and sellerId only when the connection is configured with them (R3-R7)", async () => {
    useSeller();
    await client().openTicket({ ...delegation, delegationId: linkedDelegationId });
    expect(seen.every((request) => !request.url.searchParams.has("buyerId"))).toBe(true);
    seen.length = 0;
    await client({ buyerId: "buyer-7", sellerId: "seller-2" }).openTicket({
      ...delegation,
      delegationId: linkedDelegationId,
    });
    expect(seen.map((request) => request.url.searchParams.get("buyerId"))).toEqual(["buyer-7", "buyer-7"]);
    expect(seen.map((request) => request.url.searchParams.get("sellerId"))).toEqual(["seller-2", "seller-2"]);
  });
});

describe("getTicket", () => {
  it("reads and normalises the ticket", async () => {
    useSeller();
    ticket()["status"] = "pending";
    const read = await client().getTicket(fixtureTicketId);
    expect(read).toMatchObject({ externalId: fixtureTicketId, status: "pending", state: "pending" });
  });

  it("surfaces a missing ticket as a permanent 404", async () => {
    useSeller();
    await expect(client().getTicket("nope")).rejects.toMatchObject({ status: 404, retryable: false });
  });
});

describe("addNote (buyer notes are never modified)", () => {
  const note = { canonicalId: "cmt_01JD9", text: "Site access granted from 14:00.", author: "Dana Ops" };
  const first = { attempt: 1, since: new Date("2024-05-01T09:59:00.000Z") };

  it("PATCHes the existing notes byte for byte with ours appended", async () => {
    useSeller();
    ticket()["note"] = [...(ticket()["note"] as JsonRecord[]), sellerNote];
    const before = structuredClone(ticket()["note"]) as JsonRecord[];
    await client().addNote(fixtureTicketId, note, first);
    const patch = seen.find((request) => request.method === "PATCH");
    expect(patch?.body, JSON.stringify(patch?.body)).toEqual({
      note: [
        ...before,
        {
          id: "cmt_01JD9",
          author: "Dana Ops",
          date: "2024-05-01T10:00:00.000Z",
          source: "buyer",
          text: note.text,
        },
      ],
    });
  });

  it("writes nothing when a note with our id is already there", async () => {
    useSeller();
    ticket()["note"] = [
      { id: "cmt_01JD9", author: "Dana Ops", date: "2024-05-01T10:00:00Z", source: "buyer", text: "x" },
    ];
    await client().addNote(fixtureTicketId, note, first);
    expect(calls()).toEqual([`GET /troubleTicket/${fixtureTicketId}`]);
  });

  it("on a retry, skips a buyer note with the identical text written since the first attempt", async () => {
    useSeller();
    const ours = {
      id: "other-id",
      author: "Dana Ops",
      date: "2024-05-01T09:59:30Z",
      source: "buyer",
      text: note.text,
    };
    ticket()["note"] = [ours];
    await client().addNote(fixtureTicketId, note, { ...first, attempt: 2 });
    expect(calls()).toEqual([`GET /troubleTicket/${fixtureTicketId}`]);
    // The same text on a first attempt is a new note (people repeat themselves).
    await client().addNote(fixtureTicketId, note, first);
    expect(seen.filter((request) => request.method === "PATCH")).toHaveLength(1);
  });

  it("reads again and resends when a seller note arrived between our read and our PATCH (422)", async () => {
    let patches = 0;
    useSeller(
      http.patch(`${ticketUrl}/:id`, async ({ request }) => {
        patches += 1;
        if (patches > 1) return undefined;
        const entry = await see(seen, request);
        ticket()["note"] = [...(ticket()["note"] as JsonRecord[]), sellerNote];
        return mefAnswer("PATCH", entry.path, 422, [
          { code: "invalidValue", reason: "note items may not be deleted", propertyPath: "/note" },
        ]);
      }),
    );
    await client().addNote(fixtureTicketId, note, first);
    const bodies = seen
      .filter((request) => request.method === "PATCH")
      .map((request) => request.body as JsonRecord);
    expect(bodies).toHaveLength(2);
    const resent = bodies[1]!["note"] as JsonRecord[];
    expect(resent.map((item) => item["id"])).toEqual(["note-1", "S-77", "cmt_01JD9"]);
    expect(resent[1]).toEqual(sellerNote);
  });

  it("gives up on a 422 that re-reading does not explain (e.g. the ticket is closed, R35)", async () => {
    useSeller(
      http.patch(`${ticketUrl}/:id`, async ({ request }) => {
        const entry = await see(seen, request);
        return mefAnswer("PATCH", entry.path, 422, [
          { code: "otherIssue", reason: "The Trouble Ticket is closed" },
        ]);
      }),
    );
    await expect(client().addNote(fixtureTicketId, note, first)).rejects.toMatchObject({ status: 422 });
    expect(seen.filter((request) => request.method === "PATCH")).toHaveLength(1);
  });
});

describe("ticket operations (cancel, close, reopen)", () => {
  it("cancel: POST /cancel without a body", async () => {
    useSeller();
    await client().cancel(fixtureTicketId, null);
    expect(calls()).toEqual([
      `GET /troubleTicket/${fixtureTicketId}`,
      `POST /troubleTicket/${fixtureTicketId}/cancel`,
    ]);
    expect(seen[1]?.body).toBeUndefined();
    expect(ticket()["status"]).toBe("assessingCancellation");
  });

  it("cancel with a reason: the reason goes as a buyer note first (cancel takes no body)", async () => {
    useSeller();
    await client().cancel(fixtureTicketId, "Customer fixed it on site");
    expect(calls()).toEqual([
      `GET /troubleTicket/${fixtureTicketId}`,
      `GET /troubleTicket/${fixtureTicketId}`,
      `PATCH /troubleTicket/${fixtureTicketId}`,
      `GET /troubleTicket/${fixtureTicketId}`,
      `POST /troubleTicket/${fixtureTicketId}/cancel`,
    ]);
    expect((seen[2]!.body as { note: JsonRecord[] }).note.at(-1)).toMatchObject({
      source: "buyer",
      text: "Customer fixed it on site",
    });
  });

  it("cancel again after a lost answer: the ticket already assesses cancellation, nothing is sent", async () => {
    useSeller();
    ticket()["status"] = "assessingCancellation";
    await client().cancel(fixtureTicketId, "again");
    expect(calls()).toEqual([`GET /troubleTicket/${fixtureTicketId}`]);
  });

  it("close: POST /close on a resolved ticket", async () => {
    useSeller();
    ticket()["status"] = "resolved";
    await client().close(fixtureTicketId);
    expect(calls().at(-1)).toBe(`POST /troubleTicket/${fixtureTicketId}/close`);
    expect(ticket()["status"]).toBe("closed");
  });

  it("close of a ticket that is not resolved: the seller's 422 is surfaced", async () => {
    useSeller();
    ticket()["status"] = "inProgress";
    const error = await client()
      .close(fixtureTicketId)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentHttpError);
    expect(error).toMatchObject({ status: 422 });
  });

  it("close that timed out after the seller applied it: the re-read shows closed, no error", async () => {
    useSeller(
      http.post(`${ticketUrl}/:id/close`, async ({ request }) => {
        await see(seen, request);
        ticket()["status"] = "closed";
        return mefAnswer("POST", `/troubleTicket/${fixtureTicketId}/close`, 500, {
          code: "internalError",
          reason: "Upstream timeout",
        });
      }),
    );
    ticket()["status"] = "resolved";
    await client().close(fixtureTicketId);
    expect(calls().filter((call) => call.startsWith("POST"))).toHaveLength(1);
  });

  it("reopen: POST /reopen with the reason (R43), or the connection's default", async () => {
    useSeller();
    ticket()["status"] = "resolved";
    await client().reopen(fixtureTicketId, "Still no light on the CPE");
    expect(seen.at(-1)?.body).toEqual({ reason: "Still no light on the CPE" });
    ticket()["status"] = "resolved";
    await client().reopen(fixtureTicketId, null);
    expect(seen.at(-1)?.body).toEqual({ reason: "The issue is still observed after the resolution." });
  });
});

describe("retries", () => {
  it("retries a 503 and then succeeds", async () => {
    let failures = 1;
    useSeller(
      http.get(`${ticketUrl}/:id`, async ({ request }) => {
        if (failures-- <= 0) return undefined;
        await see(seen, request);
        return new HttpResponse("<html>Service Unavailable</html>", { status: 503 });
      }),
    );
    expect((await client().getTicket(fixtureTicketId)).externalId).toBe(fixtureTicketId);
    expect(calls()).toEqual([
      `GET /troubleTicket/${fixtureTicketId}`,
      `GET /troubleTicket/${fixtureTicketId}`,
    ]);
  });

  it("waits at least Retry-After after a 429", async () => {
    const attemptsAt: number[] = [];
    useSeller(
      http.get(`${ticketUrl}/:id`, async () => {
        attemptsAt.push(performance.now());
        if (attemptsAt.length > 1) return undefined;
        return HttpResponse.json(
          { message: "Too many requests" },
          { status: 429, headers: { "Retry-After": "1" } },
        );
      }),
    );
    await client().getTicket(fixtureTicketId);
    expect(attemptsAt).toHaveLength(2);
    expect(attemptsAt[1]! - attemptsAt[0]!).toBeGreaterThanOrEqual(990);
  });

  it("gives up after the retry budget with a transient error", async () => {
    useSeller(
      http.get(`${ticketUrl}/:id`, async ({ request }) => {
        await see(seen, request);
        return mefAnswer("GET", `/troubleTicket/${fixtureTicketId}`, 500, {
          code: "internalError",
          reason: "down",
        });
      }),
    );
    const error = await client()
      .getTicket(fixtureTicketId)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientHttpError);
    expect(error).toMatchObject({ attempts: 3, retryable: true });
  });

  it("does not retry a 400 and reports the seller's MEF error body", async () => {
    useSeller(
      http.post(ticketUrl, async ({ request }) => {
        await see(seen, request);
        return mefAnswer("POST", "/troubleTicket", 400, fixture("error-400-response"));
      }),
    );
    const error = await client()
      .openTicket(delegation)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentHttpError);
    expect(error).toMatchObject({ status: 400, attempts: 1, retryable: false });
    expect((error as PermanentHttpError).responseBody).toContain("invalidBody");
    expect(String(error)).not.toContain("buyer-token");
    expect(calls().filter((call) => call.startsWith("POST"))).toHaveLength(1);
  });
});

describe("listChanged (no changed-since filter: the open tickets are re-read)", () => {
  it("reports every ticket first, then only those whose content changed", async () => {
    useSeller();
    store.set("T-2", { ...fixture<JsonRecord>("trouble-ticket-response"), id: "T-2" });
    const first = await client().listChanged(null, [fixtureTicketId, "T-2"]);
    expect(first.externalIds).toEqual([fixtureTicketId, "T-2"]);
    const quiet = await client().listChanged(first.nextCursor, [fixtureTicketId, "T-2"]);
    expect(quiet.externalIds).toEqual([]);
    store.get("T-2")!["note"] = [sellerNote];
    const changed = await client().listChanged(quiet.nextCursor, [fixtureTicketId, "T-2"]);
    expect(changed.externalIds).toEqual(["T-2"]);
  });

  it("hands a vanished ticket to the engine, whose own read reports it", async () => {
    useSeller();
    const result = await client().listChanged(null, ["gone"]);
    expect(result.externalIds).toEqual(["gone"]);
  });

  it("rejects a cursor it did not write", async () => {
    useSeller();
    await expect(client().listChanged("2024-05-01T10:00:00Z", [])).rejects.toBeInstanceOf(RangeError);
  });
});

describe("hub (registerListener / unregisterListener)", () => {
  it("registers our callback for ticket events only", async () => {
    useSeller();
    const result = await client().registerListener("https://gateway.example/webhooks/con_1/secret-segment/");
    expect(result).toEqual({ listenerId: "00000000-0000-0000-0000-000000000678" });
    expect(seen[0]?.body).toEqual({
      callback: "https://gateway.example/webhooks/con_1/secret-segment",
      query:
        "eventType=troubleTicketAttributeValueChangeEvent,troubleTicketStatusChangeEvent,troubleTicketResolvedEvent,troubleTicketInformationRequiredEvent",
    });
  });

  it("unregisters, treating an unknown listener as already gone", async () => {
    useSeller();
    await client().unregisterListener("00000000-0000-0000-0000-000000000678");
    await client().unregisterListener("unknown");
    expect(calls()).toEqual(["DELETE /hub/00000000-0000-0000-0000-000000000678", "DELETE /hub/unknown"]);
  });
});

describe("auth and testConnection", () => {
  it("uses an OAuth2 client-credentials token (MEF 128)", async () => {
    const tokenRequests: string[] = [];
    useSeller(
      http.post("https://auth.seller.example/oauth2/token", async ({ request }) => {
        tokenRequests.push(await request.text());
        return HttpResponse.json({ access_token: "issued-token", token_type: "Bearer", expires_in: 3600 });
      }),
    );
    const oauthClient = client({
      auth: {
        type: "oauth2",
        tokenUrl: "https://auth.seller.example/oauth2/token",
        clientId: "buyer",
        clientSecret: "client-secret",
        scope: "default",
      },
    });
    expect(await oauthClient.testConnection()).toEqual({
      ok: true,
      detail: "listed trouble tickets at the seller",
    });
    expect(tokenRequests[0]).toContain("grant_type=client_credentials");
    expect(seen[0]?.authorization).toBe("Bearer issued-token");
  });

  it("reports a refused credential without throwing", async () => {
    useSeller(
      http.get(ticketUrl, async ({ request }) => {
        await see(seen, request);
        return mefAnswer("GET", "/troubleTicket", 401, { code: "invalidCredentials", reason: "expired" });
      }),
    );
    const result = await client().testConnection();
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/401.*check the credentials/);
  });

  it("the hub fixture request is the spec's EventSubscriptionInput", async () => {
    useSeller();
    await client().registerListener(String(fixture("hub-register-request")["callback"]));
    expect(new URL(hubUrl).pathname.endsWith("/hub")).toBe(true);
    expect(seen[0]?.contract).toEqual({ ok: true });
  });
});
