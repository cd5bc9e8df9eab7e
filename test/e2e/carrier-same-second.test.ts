import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
} from "../../connectors/servicenow/simulator.js";
import { createTmf621Simulator, type Tmf621Simulator } from "../../connectors/tmf621/simulator.js";
import { tmf621Contracts } from "../../connectors/tmf621/test/contract.js";
import { externalLinks } from "../../src/db/schema/index.js";
import { createTenant } from "../harness.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "./sync-harness.js";

// A carrier without event ids and with whole-second lastUpdate: two changes to one carrier ticket within one
// second carry the same event (ticket, event name, time) and the same poll cursor. The second must still
// reach the delegation, through events and through polls.

const snSecret = "servicenow-webhook-secret-same-second";
let ctx: SyncTestContext;
let sn: ServiceNowSimulator;
let tmf: Tmf621Simulator;
const servers: Listening[] = [];
const snOptions: Parameters<typeof createServiceNowSimulator>[0] = {};
let tmfConnectionId: string;
// The carrier's clock stands still within one second, so both changes share lastUpdate and eventTime.
let frozen = new Date();

const settleAll = async () => {
  await Promise.all([sn.settled(), tmf.settled()]);
};
const drain = () => ctx.drain({ settle: settleAll });

beforeAll(async () => {
  ctx = await createSyncTestApp();
  sn = createServiceNowSimulator(snOptions);
  tmf = createTmf621Simulator({ contract: tmf621Contracts(), now: () => frozen, eventIds: false });
  const [snServer, tmfServer] = await Promise.all([listen(sn.app), listen(tmf.app)]);
  servers.push(snServer!, tmfServer!);
  sn.setInstanceUrl(snServer!.url);
  tmf.setOrigin(tmfServer!.url);
  const tenant = await createTenant(ctx);
  const snRes = await ctx.admin.post("/v1/connections", {
    type: "servicenow",
    name: "Same-second ServiceNow",
    role: "servicedesk",
    tenantId: tenant.id,
    settings: {
      baseUrl: snServer!.url,
      auth: { type: "basic", username: sn.integrationUser.username, password: sn.integrationUser.password },
      webhookSecret: snSecret,
    },
  });
  expect(snRes.status, snRes.text).toBe(201);
  snOptions.webhook = { url: snRes.body.webhookUrl, secret: snSecret };
  const tmfRes = await ctx.admin.post("/v1/connections", {
    type: "tmf621",
    name: "Carrier without event ids",
    role: "carrier",
    settings: {
      baseUrl: `${tmfServer!.url}/tmf-api/troubleTicket/v5`,
      auth: { type: "bearer", token: "simulator-token" },
      version: "v5",
      webhookSecret: "tmf-same-second-path-secret-000",
    },
  });
  expect(tmfRes.status, tmfRes.text).toBe(201);
  tmfConnectionId = tmfRes.body.id;
  await drain();
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await ctx?.close();
});

/** A delegation of a fresh ServiceNow ticket to the carrier, with the carrier's ticket id. */
async function delegated(title: string) {
  const incident = sn.simulateAgentInsert({ short_description: title });
  await drain();
  const [link] = await ctx.database.db
    .select()
    .from(externalLinks)
    .where(eq(externalLinks.externalId, incident["sys_id"]!));
  const created = await ctx.admin.post(`/v1/tickets/${link!.ticketId}/delegations`, {
    connectionId: tmfConnectionId,
  });
  expect(created.status, created.text).toBe(201);
  await drain();
  const delegation = (await ctx.admin.get(`/v1/delegations/${created.body.id}`)).body;
  expect(delegation.carrierTicketId).toBeTruthy();
  return { delegationId: delegation.id as string, carrierId: delegation.carrierTicketId as string };
}
const stateOf = async (delegationId: string) =>
  (await ctx.admin.get(`/v1/delegations/${delegationId}`)).body.state as string;
const lastUpdateOf = (carrierId: string) => tmf.tickets.get(carrierId)!.ticket["lastUpdate"];

describe("two changes to one carrier ticket within one second (no event ids)", () => {
  it("through events: the second, identical-looking event is not dropped once the first was read", async () => {
    const { delegationId, carrierId } = await delegated("Carrier events in one second");
    frozen = new Date(Math.floor(Date.now() / 1000) * 1000);
    tmf.carrier.acknowledge(carrierId);
    await drain();
    expect(await stateOf(delegationId)).toBe("open");

    const before = lastUpdateOf(carrierId);
    tmf.carrier.progress(carrierId);
    expect(lastUpdateOf(carrierId), "same carrier second").toBe(before);
    await tmf.settled();
    const [first, second] = tmf.events.delivered.slice(-2).map((delivery) => delivery.body);
    expect(second!["eventId"]).toBeUndefined();
    expect([second!["eventType"], second!["eventTime"]]).toEqual([first!["eventType"], first!["eventTime"]]);
    await drain();
    expect(await stateOf(delegationId)).toBe("in_progress");
  });

  it("through polls: the cursor's own second is read again, so the later change lands", async () => {
    const { delegationId, carrierId } = await delegated("Carrier polls in one second");
    frozen = new Date(Math.floor(Date.now() / 1000) * 1000);
    tmf.faults.push({ kind: "drop-events", times: 1 });
    tmf.carrier.acknowledge(carrierId);
    await ctx.poll();
    await drain();
    expect(await stateOf(delegationId)).toBe("open");

    const before = lastUpdateOf(carrierId);
    tmf.faults.push({ kind: "drop-events", times: 1 });
    tmf.carrier.progress(carrierId);
    expect(lastUpdateOf(carrierId), "same carrier second").toBe(before);
    await ctx.poll();
    await drain();
    expect(await stateOf(delegationId)).toBe("in_progress");
    expect(tmf.events.dropped).toHaveLength(2);
    expect(tmf.contractViolations).toEqual([]);
  });
});
