import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { type CarrierClient, HttpError, type InboundNotice, PermanentHttpError } from "../../sdk/index.js";
import { loopbackServers } from "../../sdk/testing/loopback.js";
import { createTmf621Client } from "../client.js";
import { Tmf621Settings, type Tmf621Version } from "../config.js";
import { tmf621 } from "../index.js";
import { createTmf621Simulator, type Tmf621Simulator, type Tmf621SimulatorOptions } from "../simulator.js";
import { describeContract, tmf621Contracts } from "./contract.js";
import { delegation } from "./delegation.js";

const webhookSecret = "tmf-path-secret-0123456789abcdef";
const connectionId = "con_01JD8X4Q2W";
const loopback = loopbackServers();
const listen = loopback.listen;

afterEach(async () => {
  await loopback.closeAll();
});

function settingsFor(version: Tmf621Version, simulatorUrl: string, overrides: Record<string, unknown> = {}) {
  return Tmf621Settings.parse({
    baseUrl: `${simulatorUrl}/tmf-api/troubleTicket/${version}`,
    auth: { type: "bearer", token: "simulator-token" },
    version,
    webhookSecret,
    ...overrides,
  });
}

/** A gateway stand-in: verifies and parses deliveries with the connector, as the webhook route will. */
async function startReceiver(settings: Tmf621Settings) {
  const deliveries: { subPath: string; notices: InboundNotice[] }[] = [];
  const rejected: string[] = [];
  const receiver = new Hono();
  receiver.post("/webhooks/:connectionId/:secret/*", async (c) => {
    const rawBody = new Uint8Array(await c.req.arrayBuffer());
    const prefix = `/webhooks/${c.req.param("connectionId")}/${c.req.param("secret")}/`;
    const subPath = c.req.path.slice(prefix.length);
    const verdict = tmf621.verifyWebhook(
      { headers: c.req.raw.headers, rawBody, pathSecret: c.req.param("secret"), subPath },
      settings,
      new Date(),
    );
    if (!verdict.ok) {
      rejected.push(verdict.reason);
      return c.json(verdict, 401);
    }
    deliveries.push({ subPath, notices: tmf621.parseWebhook(rawBody, c.req.raw.headers, subPath) });
    return c.body(null, 204);
  });
  const url = await listen(receiver.fetch);
  return { callback: `${url}/webhooks/${connectionId}/${webhookSecret}`, deliveries, rejected };
}

/** The client, with the carrier's response body added to the message of any HTTP failure. */
function explained(client: CarrierClient): CarrierClient {
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(client) as [
    string,
    (...args: unknown[]) => Promise<unknown>,
  ][]) {
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await method(...args);
      } catch (error) {
        if (error instanceof HttpError && error.responseBody !== null)
          error.message += `\n${error.responseBody}`;
        throw error;
      }
    };
  }
  return wrapped as unknown as CarrierClient;
}

async function startSimulator(
  version: Tmf621Version,
  options: Partial<Tmf621SimulatorOptions> = {},
  clientOptions: { timeoutMs?: number; settings?: Record<string, unknown> } = {},
) {
  const sim = createTmf621Simulator({ contract: tmf621Contracts(), ...options });
  const url = await listen(sim.app.fetch);
  sim.setOrigin(url);
  const settings = settingsFor(version, url, clientOptions.settings);
  const client = createTmf621Client(settings, {
    timeoutMs: clientOptions.timeoutMs ?? 2_000,
    retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 1_500 },
  });
  return { sim, url, settings, client: explained(client) };
}

/** Every request reached the simulator in the shape the spec requires, and it answered in the spec's shapes. */
function expectContract(sim: Tmf621Simulator) {
  expect(sim.requests.length).toBeGreaterThan(0);
  for (const request of sim.requests) {
    expect(
      request.contract.ok,
      `${request.method} ${request.path} ${request.contentType}\n${describeContract(request.contract)}\n${JSON.stringify(request.body, null, 2)}`,
    ).toBe(true);
  }
  expect(sim.contractViolations, JSON.stringify(sim.contractViolations, null, 2)).toEqual([]);
}

describe.each(["v4", "v5"] as const)(
  "%s: the real client against the simulated carrier over HTTP",
  (version) => {
    it("runs the delegation: hub, create, link, acknowledge, information required, our note, resolve, our close", async () => {
      const { sim, url, client, settings } = await startSimulator(version);
      const receiver = await startReceiver(settings);
      const step = async () => {
        await sim.settled();
        return receiver.deliveries.at(-1)?.subPath;
      };

      const { listenerId } = await client.registerListener(receiver.callback);
      expect(sim.hubs.get(listenerId)).toMatchObject({ version, callback: receiver.callback });

      const created = await client.openTicket(delegation);
      expect(created.action).toBe("created");
      expect(created.url).toBe(`${url}${sim.basePath(version)}/troubleTicket/${created.externalId}`);
      expect(await step()).toBe("listener/troubleTicketCreateEvent");
      const id = created.externalId;
      const fresh = await client.getTicket(id);
      expect(fresh, JSON.stringify(fresh)).toMatchObject({
        correlationId: delegation.delegationId,
        status: "",
        state: "requested",
      });
      expect(fresh.notes).toEqual([expect.objectContaining({ text: delegation.reason, source: "buyer" })]);

      const linked = await client.openTicket(delegation);
      expect(linked).toMatchObject({ externalId: id, action: "linked" });
      expect(
        sim.requests.filter((request) => request.method === "POST" && request.path === "/troubleTicket"),
      ).toHaveLength(1);

      sim.carrier.acknowledge(id);
      expect(await step()).toBe("listener/troubleTicketStatusChangeEvent");
      const acknowledged = await client.getTicket(id);
      expect(acknowledged).toMatchObject({ status: "acknowledged", state: "open" });
      expect(acknowledged.acknowledgedAt).not.toBeNull();

      sim.carrier.requestInformation(id, "Please confirm the CPE serial number");
      expect(await step()).toBe("listener/troubleTicketInformationRequiredEvent");
      const pending = await client.getTicket(id);
      expect(pending).toMatchObject({
        status: "pending",
        state: "pending",
        statusReason: "Please confirm the CPE serial number",
      });
      expect(pending.notes.at(-1)).toMatchObject({
        text: "Please confirm the CPE serial number",
        source: "seller",
        author: "Carrier NOC",
      });

      await client.addNote(
        id,
        { canonicalId: "cmt_01", text: "Serial is FX-1", author: "Jane Doe" },
        { attempt: 1, since: new Date() },
      );
      expect(await step()).toBe("listener/troubleTicketAttributeValueChangeEvent");
      const answered = await client.getTicket(id);
      expect(answered.notes.map((note) => [note.source, note.text])).toEqual([
        ["buyer", delegation.reason],
        ["seller", "Please confirm the CPE serial number"],
        ["buyer", "Serial is FX-1"],
      ]);
      // The earlier notes are exactly as they were (ids and dates the carrier gave them).
      expect(answered.notes.slice(0, 2)).toEqual(pending.notes);

      sim.carrier.progress(id);
      expect(await step()).toBe("listener/troubleTicketStatusChangeEvent");
      expect((await client.getTicket(id)).state).toBe("in_progress");

      sim.carrier.resolve(id, "Replaced the line card at the POP");
      expect(await step()).toBe("listener/troubleTicketResolvedEvent");
      const resolved = await client.getTicket(id);
      expect(resolved).toMatchObject({ status: "resolved", state: "resolved" });
      expect(resolved.resolvedAt).not.toBeNull();

      await client.close(id);
      expect(await step()).toBe("listener/troubleTicketStatusChangeEvent");
      expect(await client.getTicket(id)).toMatchObject({ status: "closed", state: "closed" });

      expect(receiver.rejected).toEqual([]);
      expect(receiver.deliveries.map((delivery) => delivery.subPath)).toEqual([
        "listener/troubleTicketCreateEvent",
        "listener/troubleTicketStatusChangeEvent",
        "listener/troubleTicketInformationRequiredEvent",
        "listener/troubleTicketAttributeValueChangeEvent",
        "listener/troubleTicketStatusChangeEvent",
        "listener/troubleTicketResolvedEvent",
        "listener/troubleTicketStatusChangeEvent",
      ]);
      for (const delivery of receiver.deliveries) {
        expect(delivery.notices).toEqual([
          expect.objectContaining({ externalId: id, deliveryId: expect.any(String) }),
        ]);
      }
      expect(new Set(receiver.deliveries.map((delivery) => delivery.notices[0]?.deliveryId)).size).toBe(7);
      expect(sim.events.delivered.every((delivery) => delivery.status === 204)).toBe(true);

      await client.unregisterListener(listenerId);
      expect(sim.hubs.size).toBe(0);
      sim.carrier.addNote(id, "Closing remarks");
      await sim.settled();
      expect(receiver.deliveries).toHaveLength(7);

      expectContract(sim);
    });

    it("cancels, reopens and follows a rejection", async () => {
      const { sim, client } = await startSimulator(version);
      const first = await client.openTicket(delegation);
      sim.carrier.acknowledge(first.externalId);
      await client.cancel(first.externalId, "Fault cleared on our side");
      expect(await client.getTicket(first.externalId)).toMatchObject({
        state: "cancelled",
        statusReason: "Fault cleared on our side",
      });

      const second = await client.openTicket({ ...delegation, delegationId: "dlg_second" });
      sim.carrier.acknowledge(second.externalId);
      sim.carrier.resolve(second.externalId, "No fault found");
      await client.reopen(second.externalId, "Still no light on the circuit");
      expect(await client.getTicket(second.externalId)).toMatchObject({
        status: "inProgress",
        state: "in_progress",
      });

      const third = await client.openTicket({ ...delegation, delegationId: "dlg_third" });
      sim.carrier.reject(third.externalId, "Circuit is not ours");
      expect(await client.getTicket(third.externalId)).toMatchObject({
        state: "rejected",
        statusReason: "Circuit is not ours",
      });
      expectContract(sim);
    });

    it("refuses a status change its state machine does not allow (closing an unacknowledged ticket)", async () => {
      const { sim, client } = await startSimulator(version);
      const ref = await client.openTicket(delegation);
      const error = await client.close(ref.externalId).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PermanentHttpError);
      expect((error as PermanentHttpError).status).toBe(409);
      expect((error as PermanentHttpError).responseBody).toMatch(/\(no status\) -> closed is not allowed/);
      expect(sim.contractViolations).toEqual([]);
    });

    it("answers a request outside the spec with 400 and a TMF Error body", async () => {
      const { sim, url } = await startSimulator(version);
      const response = await fetch(`${url}${sim.basePath(version)}/troubleTicket`, {
        method: "POST",
        headers: { authorization: "Bearer simulator-token", "content-type": "application/json" },
        body: JSON.stringify({ description: "no severity, no ticketType" }),
      });
      const body = (await response.json()) as Record<string, unknown>;
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(body).toMatchObject({
        code: "400",
        reason: "Bad Request",
        ...(version === "v5" ? { "@type": "Error" } : {}),
      });
      expect(String(body["message"])).toMatch(/\/severity: is required/);
      expect(sim.requests[0]?.contract.ok).toBe(false);
      expect(sim.tickets.size).toBe(0);
      expect(sim.contractViolations).toEqual([]);
    });

    it("refuses a merge patch that drops existing notes (notes are append-only)", async () => {
      const { sim, url, client } = await startSimulator(version);
      const ref = await client.openTicket(delegation);
      const response = await fetch(`${url}${sim.basePath(version)}/troubleTicket/${ref.externalId}`, {
        method: "PATCH",
        headers: {
          authorization: "Bearer simulator-token",
          "content-type": version === "v4" ? "application/json" : "application/merge-patch+json",
        },
        body: JSON.stringify({ note: [], ...(version === "v5" ? { "@type": "TroubleTicket" } : {}) }),
      });
      expect(response.status).toBe(400);
      expect(await response.text()).toMatch(/notes are append-only/);
    });

    it("rejects requests without a valid bearer token", async () => {
      const { sim, url } = await startSimulator(version);
      const response = await fetch(`${url}${sim.basePath(version)}/troubleTicket`);
      expect(response.status).toBe(401);
      expect(sim.contractViolations).toEqual([]);
    });
  },
);

describe("spec differences the simulator enforces", () => {
  it("v4 declares only application/json for PATCH, so merge-patch+json is refused there", async () => {
    const { client } = await startSimulator(
      "v4",
      {},
      { settings: { v4PatchContentType: "application/merge-patch+json" } },
    );
    const ref = await client.openTicket(delegation);
    const error = await client.cancel(ref.externalId, null).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentHttpError);
    expect((error as PermanentHttpError).responseBody).toMatch(
      /does not accept application\/merge-patch\+json/,
    );
  });

  it("v5 without JSON Patch at the client: the note goes as a merge patch of the whole array", async () => {
    const { sim, client } = await startSimulator("v5", {}, { settings: { v5NotePatch: "merge-patch" } });
    const ref = await client.openTicket(delegation);
    await client.addNote(
      ref.externalId,
      { canonicalId: "c", text: "merged", author: "Jane Doe" },
      { attempt: 1, since: new Date() },
    );
    expect((await client.getTicket(ref.externalId)).notes.map((note) => note.text)).toEqual([
      delegation.reason,
      "merged",
    ]);
    expect(sim.requests.at(-2)?.contentType).toBe("application/merge-patch+json");
    expectContract(sim);
  });

  it("v5 JSON Patch on a ticket without notes adds the array", async () => {
    const { sim, client } = await startSimulator("v5");
    const ref = await client.openTicket({ ...delegation, reason: null });
    await client.addNote(
      ref.externalId,
      { canonicalId: "c", text: "first", author: "Jane Doe" },
      { attempt: 1, since: new Date() },
    );
    expect((await client.getTicket(ref.externalId)).notes.map((note) => note.text)).toEqual(["first"]);
    expectContract(sim);
  });
});

describe("create-or-link and polling against carrier limitations", () => {
  it("links by scanning when the carrier ignores filters and caps pages (X-Total-Count drives paging)", async () => {
    const { sim, client } = await startSimulator("v5", { ignoreFilters: true, maxPageSize: 2 });
    for (let index = 0; index < 4; index++)
      await client.openTicket({ ...delegation, delegationId: `dlg_other_${index}` });
    const created = await client.openTicket(delegation);
    const before = sim.requests.length;
    const linked = await client.openTicket(delegation);
    expect(linked).toMatchObject({ externalId: created.externalId, action: "linked" });
    expect(sim.requests.slice(before).map((request) => request.query["offset"])).toEqual(["0", "2", "4"]);
    expect(sim.tickets.size).toBe(5);
  });

  it("recovers a dropped event by polling with lastUpdate.gte", async () => {
    const { sim, client, settings } = await startSimulator(
      "v4",
      {},
      { settings: { supportsLastUpdateFilter: true } },
    );
    const receiver = await startReceiver(settings);
    await client.registerListener(receiver.callback);
    const ref = await client.openTicket(delegation);
    const other = await client.openTicket({ ...delegation, delegationId: "dlg_other" });
    await sim.settled();
    const first = await client.listChanged(null, [ref.externalId]);
    expect(first.externalIds).toEqual([ref.externalId]);

    await new Promise((resolve) => setTimeout(resolve, 5));
    const cursor = new Date().toISOString();
    sim.faults.push({ kind: "drop-events", times: 1 });
    sim.carrier.acknowledge(ref.externalId);
    await sim.settled();
    expect(sim.events.dropped).toHaveLength(1);
    expect(receiver.deliveries.map((delivery) => delivery.subPath)).not.toContain(
      "listener/troubleTicketStatusChangeEvent",
    );

    const polled = await client.listChanged(cursor, [ref.externalId]);
    expect(polled.externalIds).toEqual([ref.externalId]);
    expect(polled.externalIds).not.toContain(other.externalId);
    expect(sim.requests.at(-1)?.query["lastUpdate.gte"]).toBe(cursor);
    expectContract(sim);
  });

  it("re-reads open tickets when the carrier cannot filter on lastUpdate", async () => {
    const { sim, client } = await startSimulator("v5");
    const a = await client.openTicket(delegation);
    const b = await client.openTicket({ ...delegation, delegationId: "dlg_b" });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const cursor = new Date().toISOString();
    sim.carrier.acknowledge(b.externalId);
    const polled = await client.listChanged(cursor, [a.externalId, b.externalId]);
    expect(polled.externalIds).toEqual([b.externalId]);
    expect(polled.nextCursor).toBe(sim.tickets.get(b.externalId)?.ticket["lastUpdate"]);
  });
});

describe("faults", () => {
  it("retries a 503 and a 429 with Retry-After, then succeeds", async () => {
    const { sim, client } = await startSimulator("v5");
    const ref = await client.openTicket(delegation);
    sim.faults.push({
      kind: "status",
      status: 503,
      times: 1,
      match: { method: "GET", pathIncludes: "/troubleTicket/" },
    });
    sim.faults.push({
      kind: "status",
      status: 429,
      retryAfterSeconds: 1,
      times: 1,
      match: { method: "GET" },
    });
    const started = performance.now();
    await client.getTicket(ref.externalId);
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    expect(sim.requests.slice(-3).map((request) => request.fault ?? "answered")).toEqual([
      "status",
      "status",
      "answered",
    ]);
  });

  it("links the ticket a timed-out POST created instead of creating a second one", async () => {
    const { sim, client } = await startSimulator("v4", {}, { timeoutMs: 300 });
    sim.faults.push({
      kind: "timeout",
      delayMs: 600,
      times: 1,
      match: { method: "POST", pathIncludes: "/troubleTicket" },
    });
    const ref = await client.openTicket(delegation);
    expect(ref.action).toBe("linked");
    expect(sim.tickets.size).toBe(1);
  });

  it("authenticates with OAuth2 client credentials at the simulator's token endpoint", async () => {
    const sim = createTmf621Simulator({
      contract: tmf621Contracts(),
      oauth2Client: { clientId: "msp-gateway", clientSecret: "client-secret-value" },
    });
    const url = await listen(sim.app.fetch);
    const client = createTmf621Client(
      settingsFor("v5", url, {
        auth: {
          type: "oauth2",
          tokenUrl: `${url}/oauth2/token`,
          clientId: "msp-gateway",
          clientSecret: "client-secret-value",
        },
      }),
      { timeoutMs: 2_000, retry: { retries: 1, minTimeoutMs: 5, maxTimeoutMs: 100 } },
    );
    expect(await client.testConnection()).toMatchObject({ ok: true });
    const refused = createTmf621Client(
      settingsFor("v5", url, {
        auth: {
          type: "oauth2",
          tokenUrl: `${url}/oauth2/token`,
          clientId: "msp-gateway",
          clientSecret: "wrong-secret",
        },
      }),
      { timeoutMs: 2_000, retry: { retries: 1, minTimeoutMs: 5, maxTimeoutMs: 100 } },
    );
    expect((await refused.testConnection()).ok).toBe(false);
  });
});
