import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { type CarrierClient, type CarrierTicketInput, PermanentHttpError } from "../../sdk/index.js";
import { loopbackServers } from "../../sdk/testing/loopback.js";
import { createMefSonataClient } from "../client.js";
import { MefSonataSettings } from "../config.js";
import { mefSonata } from "../index.js";
import {
  createMefSonataSimulator,
  IllegalTransitionError,
  type MefSonataSimulator,
  type MefSonataSimulatorOptions,
} from "../simulator.js";
import { contractErrors, notification, simulatorContract } from "./contract.js";

const webhookSecret = "whsec-sonata-0123456789abcdef";
const loopback = loopbackServers();
const listen = loopback.listen;
const simulators: MefSonataSimulator[] = [];

afterEach(async () => {
  for (const sim of simulators.splice(0)) {
    await sim.settled();
    // Whatever a test asserted, nothing the simulator sent may break the official specs.
    expect(sim.contractViolations, JSON.stringify(sim.contractViolations, null, 2)).toEqual([]);
  }
  await loopback.closeAll();
});

function settingsFor(baseUrl: string) {
  return MefSonataSettings.parse({
    baseUrl: `${baseUrl}/mefApi/sonata/troubleTicket/v4`,
    auth: { type: "bearer", token: "simulator-token" },
    webhookSecret,
    reporterContact: {
      name: "Provider NOC",
      emailAddress: "noc@provider.example",
      number: "+44 20 7946 0000",
    },
  });
}

/** The gateway's webhook route, as it will verify and parse notifications with the connector. */
async function startReceiver() {
  const received: { eventType: string; externalId: string; deliveryId: string | undefined }[] = [];
  const rejected: string[] = [];
  const receiver = new Hono();
  receiver.post("/webhooks/:connection/:secret/*", async (c) => {
    const rawBody = new Uint8Array(await c.req.arrayBuffer());
    const prefix = `/webhooks/${c.req.param("connection")}/${c.req.param("secret")}/`;
    const subPath = c.req.path.slice(prefix.length);
    const verdict = mefSonata.verifyWebhook(
      { headers: c.req.raw.headers, rawBody, pathSecret: c.req.param("secret"), subPath },
      settingsFor("http://unused"),
      new Date(),
    );
    if (!verdict.ok) {
      rejected.push(verdict.reason);
      return c.json({ code: "invalidCredentials", reason: verdict.reason }, 401);
    }
    const body: unknown = JSON.parse(new TextDecoder().decode(rawBody));
    const listener = `/${subPath.slice(subPath.indexOf("listener/"))}`;
    const checked = notification.validateRequest({ method: "POST", path: listener, body });
    if (!checked.ok) throw new Error(`notification breaks the spec: ${contractErrors(checked)}`);
    for (const notice of mefSonata.parseWebhook(rawBody, c.req.raw.headers, subPath)) {
      received.push({
        eventType: listener.slice("/listener/".length),
        externalId: notice.externalId,
        deliveryId: notice.deliveryId,
      });
    }
    return c.body(null, 204);
  });
  const url = await listen(receiver.fetch);
  return { callbackUrl: `${url}/webhooks/con_1/${webhookSecret}`, url, received, rejected };
}

// A generous per-request timeout: the simulator validates every exchange against the spec, and its first
// compile on a loaded machine must not turn a create into an ambiguous failure (tests of timeouts pass their own).
async function startSimulator(options: Partial<MefSonataSimulatorOptions> = {}, timeoutMs = 10_000) {
  const sim = createMefSonataSimulator({ contract: simulatorContract, ...options });
  simulators.push(sim);
  const url = await listen(sim.app.fetch);
  sim.setServerUrl(url);
  const client: CarrierClient = createMefSonataClient(settingsFor(url), {
    timeoutMs,
    retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 1_500 },
  });
  return { sim, url, client };
}

/** Registers the receiver at the simulator's hub, as the engine does for a new connection. */
async function startWithListener(options: Partial<MefSonataSimulatorOptions> = {}) {
  const started = await startSimulator(options);
  const receiver = await startReceiver();
  const { listenerId } = await started.client.registerListener(receiver.callbackUrl);
  return { ...started, receiver, listenerId };
}

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

async function raw(url: string, path: string, init: RequestInit & { token?: string | null } = {}) {
  const headers = new Headers(init.headers);
  if (init.token !== null) headers.set("authorization", `Bearer ${init.token ?? "simulator-token"}`);
  if (init.body !== undefined) headers.set("content-type", "application/json;charset=utf-8");
  const response = await fetch(`${url}/mefApi/sonata/troubleTicket/v4${path}`, { ...init, headers });
  const text = await response.text();
  return { status: response.status, body: text === "" ? undefined : (JSON.parse(text) as unknown) };
}

describe("MEF Sonata simulator driven by the real client over HTTP", () => {
  it("registers our listener at the hub and removes it", async () => {
    const { sim, client, receiver, listenerId } = await startWithListener();
    expect([...sim.hubs.values()]).toEqual([
      {
        id: listenerId,
        callback: receiver.callbackUrl,
        query:
          "eventType=troubleTicketAttributeValueChangeEvent,troubleTicketStatusChangeEvent,troubleTicketResolvedEvent,troubleTicketInformationRequiredEvent",
      },
    ]);
    await client.unregisterListener(listenerId);
    expect(sim.hubs.size).toBe(0);
  });

  it("creates a spec-shaped ticket once and links it on the second call", async () => {
    const { sim, client } = await startSimulator();
    const created = await client.openTicket(delegation);
    expect(created.action).toBe("created");
    const again = await client.openTicket(delegation);
    expect(again).toMatchObject({ externalId: created.externalId, action: "linked" });
    expect(sim.tickets.size).toBe(1);
    expect(await client.getTicket(created.externalId)).toMatchObject({
      correlationId: delegation.delegationId,
      status: "acknowledged",
      state: "open",
      notes: [{ externalId: `${delegation.delegationId}-delegation`, source: "buyer" }],
    });
    // R12: the seller names its ticket contact.
    expect(
      sim.tickets.get(created.externalId)?.relatedContactInformation.map((contact) => contact["role"]),
    ).toEqual(["reporterContact", "sellerTicketContact"]);
  });

  it("full flow: acknowledge -> information required (clock stop) -> our note -> resolve -> our close", async () => {
    const { sim, client, receiver } = await startWithListener();
    const { externalId } = await client.openTicket(delegation);

    sim.seller.acknowledge(externalId, {
      sellerPriority: "high",
      expectedResolutionDate: new Date("2030-01-01T00:00:00Z"),
    });
    sim.seller.progress(externalId);
    sim.seller.requestInformation(externalId, "Please confirm site access hours.");
    await sim.settled();
    const pending = await client.getTicket(externalId);
    expect(pending).toMatchObject({
      status: "pending",
      state: "pending",
      statusReason: "Information required from the Buyer",
    });
    expect(pending.notes.at(-1)).toMatchObject({
      source: "seller",
      text: "Please confirm site access hours.",
    });

    await client.addNote(
      externalId,
      { canonicalId: "cmt_01JD9", text: "Access 08:00-18:00, ask for security.", author: "Dana Ops" },
      { attempt: 1, since: new Date() },
    );
    // R37: the buyer's answer ends the clock stop.
    expect(await client.getTicket(externalId)).toMatchObject({ status: "inProgress", state: "in_progress" });

    sim.seller.resolve(externalId, "Replaced the faulty line card.");
    await sim.settled();
    const resolved = await client.getTicket(externalId);
    expect(resolved).toMatchObject({ state: "resolved", resolvedAt: expect.any(String) });

    await client.close(externalId);
    expect(await client.getTicket(externalId)).toMatchObject({ status: "closed", state: "closed" });
    await sim.settled();

    expect(receiver.rejected).toEqual([]);
    expect(receiver.received.map((event) => event.eventType)).toEqual([
      "troubleTicketAttributeValueChangeEvent", // acknowledge: seller assessment and R22 note
      "troubleTicketStatusChangeEvent", // inProgress
      "troubleTicketAttributeValueChangeEvent", // the information request note
      "troubleTicketStatusChangeEvent", // pending
      "troubleTicketInformationRequiredEvent",
      "troubleTicketStatusChangeEvent", // inProgress after our note (no attribute event for buyer patches)
      "troubleTicketAttributeValueChangeEvent", // the resolution note
      "troubleTicketStatusChangeEvent", // resolved
      "troubleTicketResolvedEvent",
      "troubleTicketStatusChangeEvent", // closed by us
    ]);
    expect(new Set(receiver.received.map((event) => event.externalId))).toEqual(new Set([externalId]));
    expect(new Set(receiver.received.map((event) => event.deliveryId)).size).toBe(receiver.received.length);
    expect(sim.notifications.delivered.every((delivery) => delivery.status === 204)).toBe(true);
    expect(sim.notifications.delivered[0]?.url).toBe(
      `${receiver.callbackUrl}/mefApi/sonata/troubleTicketNotification/v4/listener/troubleTicketAttributeValueChangeEvent`,
    );
    // Buyer notes are never modified: ours and the delegation note are there exactly as sent.
    const stored = sim.tickets.get(externalId)!.note;
    expect(stored.filter((note) => note["source"] === "buyer").map((note) => note["id"])).toEqual([
      `${delegation.delegationId}-delegation`,
      "cmt_01JD9",
    ]);
  });

  it("resolve -> our reopen -> resolve -> close", async () => {
    const { sim, client } = await startWithListener();
    const { externalId } = await client.openTicket(delegation);
    sim.seller.progress(externalId);
    sim.seller.resolve(externalId, "Cleared a configuration fault.");

    await client.reopen(externalId, "Still no light on the CPE");
    const reopened = await client.getTicket(externalId);
    expect(reopened).toMatchObject({ status: "reopened", state: "in_progress", resolvedAt: null });
    // R46: the seller keeps our reason as a buyer note by closureRejection.
    expect(reopened.notes.at(-1)).toMatchObject({
      author: "closureRejection",
      source: "buyer",
      text: "Still no light on the CPE",
    });
    // A retried reopen after a lost answer sends nothing more.
    const requestsBefore = sim.requests.length;
    await client.reopen(externalId, "Still no light on the CPE");
    expect(sim.requests.slice(requestsBefore).map((request) => request.method)).toEqual(["GET"]);

    sim.seller.progress(externalId);
    sim.seller.resolve(externalId, "Replaced the CPE.");
    await client.close(externalId);
    expect((await client.getTicket(externalId)).state).toBe("closed");
    expect(sim.tickets.get(externalId)!.statusChange.map((change) => change.status)).toEqual([
      "acknowledged",
      "inProgress",
      "resolved",
      "reopened",
      "inProgress",
      "resolved",
      "closed",
    ]);
  });

  it("resolved closes without us when the agreed confirmation time passes; our late close sends nothing", async () => {
    const { sim, client } = await startSimulator();
    const { externalId } = await client.openTicket(delegation);
    sim.seller.progress(externalId);
    sim.seller.resolve(externalId, "Cleared.");
    sim.seller.closeUnconfirmed(externalId);
    expect(await client.getTicket(externalId)).toMatchObject({
      state: "closed",
      statusReason: "No Buyer response within the agreed confirmation time",
    });
    const requestsBefore = sim.requests.length;
    await client.close(externalId);
    expect(sim.requests.slice(requestsBefore).map((request) => request.method)).toEqual(["GET"]);
  });

  it("cancel: assessingCancellation, then cancelled once the seller accepts", async () => {
    const { sim, client, receiver } = await startWithListener();
    const { externalId } = await client.openTicket(delegation);
    await client.cancel(externalId, "The customer found a local fault");
    await sim.settled();
    expect(await client.getTicket(externalId)).toMatchObject({ status: "cancelled", state: "cancelled" });
    expect(receiver.received.map((event) => event.eventType)).toEqual([
      "troubleTicketStatusChangeEvent",
      "troubleTicketStatusChangeEvent",
    ]);
    expect(sim.tickets.get(externalId)!.note.at(-1)).toMatchObject({
      source: "buyer",
      text: "The customer found a local fault",
    });
  });

  it("refuses illegal transitions: the API with a 422 Error422 list, the scripted seller with an error", async () => {
    const { sim, client, url } = await startSimulator({ cancellation: "manual" });
    const { externalId } = await client.openTicket(delegation);

    const error = await client.close(externalId).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentHttpError);
    expect(error).toMatchObject({ status: 422 });
    expect(JSON.parse((error as PermanentHttpError).responseBody ?? "")).toEqual([
      {
        code: "otherIssue",
        reason:
          "The Trouble Ticket is acknowledged; it cannot become closed (only a resolved ticket can be closed, R47)",
      },
    ]);
    expect(
      (await raw(url, `/troubleTicket/${externalId}/reopen`, { method: "POST", body: '{"reason":"x"}' }))
        .status,
    ).toBe(422);

    expect(() => sim.seller.resolve(externalId, "too early")).toThrow(IllegalTransitionError);
    sim.seller.progress(externalId);
    sim.seller.resolve(externalId, "done");
    expect(() => sim.seller.requestInformation(externalId, "?")).toThrow(
      /cannot go from resolved to pending/,
    );
    // R40: a resolved ticket cannot be cancelled.
    await expect(client.cancel(externalId, null)).rejects.toMatchObject({ status: 422 });
    expect(sim.tickets.get(externalId)?.status).toBe("resolved");
  });

  it("validates every request against the spec: 400 with the MEF error body", async () => {
    const { url } = await startSimulator();
    const missingImpact = await raw(url, "/troubleTicket", {
      method: "POST",
      body: JSON.stringify({
        description: "x",
        priority: "high",
        severity: "minor",
        ticketType: "maintenance",
      }),
    });
    expect(missingImpact.status).toBe(400);
    expect(missingImpact.body).toMatchObject({
      code: "invalidBody",
      message: expect.stringContaining("/observedImpact is required"),
    });

    const unknownQuery = await raw(url, "/troubleTicket?lastUpdate.gt=2024-01-01T00:00:00Z");
    expect(unknownQuery).toEqual({
      status: 400,
      body: { code: "invalidQuery", reason: "Unknown query parameter lastUpdate.gt" },
    });
    expect((await raw(url, "/troubleTicket?status=rejected")).status).toBe(400);
    // R4: buyerId MUST NOT be sent to a seller that does not serve several buyers.
    expect((await raw(url, "/troubleTicket?buyerId=b1")).body).toMatchObject({ code: "invalidQuery" });
    expect(await raw(url, "/troubleTicket", { token: null })).toEqual({
      status: 401,
      body: { code: "missingCredentials", reason: "No credentials provided" },
    });
    expect((await raw(url, "/troubleTicket/none")).body).toMatchObject({ code: "notFound" });
    expect((await raw(url, "/troubleTicket/x/resolve", { method: "POST" })).status).toBe(404);
  });

  it("enforces append-only notes on PATCH (R20, R32)", async () => {
    const { sim, client, url } = await startSimulator();
    const { externalId } = await client.openTicket(delegation);
    sim.seller.addNote(externalId, "Engineer on the way.");
    const notes = sim.tickets.get(externalId)!.note;
    const dropped = await raw(url, `/troubleTicket/${externalId}`, {
      method: "PATCH",
      body: JSON.stringify({ note: [notes[0]] }),
    });
    expect(dropped.status).toBe(422);
    const edited = await raw(url, `/troubleTicket/${externalId}`, {
      method: "PATCH",
      body: JSON.stringify({ note: [{ ...notes[0], text: "rewritten" }, notes[1]] }),
    });
    expect(edited.status).toBe(422);
    expect(sim.tickets.get(externalId)!.note).toEqual(notes);
  });

  it("serves a multi-buyer seller: buyerId on every request and in every event (R3-R7)", async () => {
    const { sim, client, url } = await startSimulator({ buyerId: "buyer-7" });
    await expect(client.openTicket(delegation)).rejects.toMatchObject({ status: 400 });
    const receiver = await startReceiver();
    const multi = createMefSonataClient(
      MefSonataSettings.parse({ ...settingsFor(url), buyerId: "buyer-7" }),
      { timeoutMs: 1_000, retry: { retries: 0, minTimeoutMs: 5, maxTimeoutMs: 5 } },
    );
    await multi.registerListener(receiver.callbackUrl);
    const { externalId } = await multi.openTicket(delegation);
    sim.seller.progress(externalId);
    await sim.settled();
    expect(sim.notifications.delivered[0]?.body["event"]).toMatchObject({
      id: externalId,
      buyerId: "buyer-7",
    });
  });

  it("a refused create is a 422 the client surfaces (MEF v4 has no rejected status)", async () => {
    const { sim, client } = await startSimulator();
    sim.seller.refuseNextCreate("Product is not active for this Buyer");
    await expect(client.openTicket(delegation)).rejects.toMatchObject({ status: 422, retryable: false });
    expect(sim.tickets.size).toBe(0);
  });

  it("a seller that declines after acknowledging resolves with its reason", async () => {
    const { sim, client } = await startSimulator();
    const { externalId } = await client.openTicket(delegation);
    sim.seller.reject(externalId, "Fault is in the customer's premises equipment");
    expect(await client.getTicket(externalId)).toMatchObject({
      state: "resolved",
      statusReason: "Declined by the Seller: Fault is in the customer's premises equipment",
    });
  });
});

describe("faults", () => {
  it("retries a 503 from the seller's gateway, and honours Retry-After on a 429", async () => {
    const { sim, client } = await startSimulator();
    const { externalId } = await client.openTicket(delegation);
    sim.faults.push(
      { kind: "status", status: 503, times: 1 },
      { kind: "status", status: 429, retryAfterSeconds: 1, times: 1 },
    );
    const started = performance.now();
    expect((await client.getTicket(externalId)).externalId).toBe(externalId);
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(sim.requests.filter((request) => request.method === "GET").length).toBe(4);
  });

  it("links the ticket a timed-out create made instead of creating another", async () => {
    const { sim, client } = await startSimulator({}, 200);
    // The seller applies the create, then answers after the client gave up waiting.
    sim.faults.push({ kind: "timeout", delayMs: 400, times: 1, match: { method: "POST" } });
    const ref = await client.openTicket(delegation);
    expect(ref.action).toBe("linked");
    expect(sim.tickets.size).toBe(1);
  });

  it("a dropped notification is caught up by polling the open tickets", async () => {
    const { sim, client, receiver } = await startWithListener();
    const { externalId } = await client.openTicket(delegation);
    const first = await client.listChanged(null, [externalId]);
    expect(first.externalIds).toEqual([externalId]);

    sim.faults.push({ kind: "drop-notifications", times: 1 });
    sim.seller.progress(externalId);
    await sim.settled();
    expect(receiver.received).toEqual([]);
    expect(sim.notifications.dropped).toHaveLength(1);

    const next = await client.listChanged(first.nextCursor, [externalId]);
    expect(next.externalIds).toEqual([externalId]);
    expect((await client.listChanged(next.nextCursor, [externalId])).externalIds).toEqual([]);
  });

  it("a 500 answer carries the spec's Error500 body", async () => {
    const { sim, url } = await startSimulator();
    sim.faults.push({ kind: "status", status: 500, times: 1 });
    expect(await raw(url, "/troubleTicket")).toEqual({
      status: 500,
      body: { code: "internalError", reason: "Simulated failure" },
    });
  });
});
