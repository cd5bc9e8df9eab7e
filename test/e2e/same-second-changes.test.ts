import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toServiceNowDateTime } from "../../connectors/servicenow/mapping.js";
import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
} from "../../connectors/servicenow/simulator.js";
import { externalLinks } from "../../src/db/schema/index.js";
import { createTenant } from "../harness.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "./sync-harness.js";

// A vendor without delivery ids and with whole-second timestamps: ServiceNow business rules that send only
// {sys_id, sys_updated_on, operation} (no sys_mod_count). Two changes to one record within one second carry
// the same notice and the same (sys_id, sys_updated_on); the second must still reach the ticket.

const webhookSecret = "same-second-webhook-secret-0123456789";
let ctx: SyncTestContext;
let sim: ServiceNowSimulator;
let simServer: Listening;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let connectionId: string;
// The instance's clock stands still within one second, so both changes share sys_updated_on.
let frozen = new Date();

beforeAll(async () => {
  ctx = await createSyncTestApp();
  sim = createServiceNowSimulator({ now: () => frozen });
  simServer = await listen(sim.app);
  sim.setInstanceUrl(simServer.url);
  tenant = await createTenant(ctx);
  const res = await ctx.admin.post("/v1/connections", {
    type: "servicenow",
    name: "Same-second ServiceNow",
    role: "servicedesk",
    tenantId: tenant.id,
    settings: {
      baseUrl: simServer.url,
      auth: { type: "basic", username: sim.integrationUser.username, password: sim.integrationUser.password },
      webhookSecret,
    },
  });
  expect(res.status, res.text).toBe(201);
  connectionId = res.body.id;
});
afterAll(async () => {
  await simServer?.close();
  await ctx?.close();
});

const drain = () => ctx.drain({ settle: () => sim.settled() });
const titleOf = async (sysId: string) => {
  const [link] = await ctx.database.db
    .select()
    .from(externalLinks)
    .where(and(eq(externalLinks.connectionId, connectionId), eq(externalLinks.externalId, sysId)));
  if (!link) return undefined;
  return (await ctx.admin.get(`/v1/tickets/${link.ticketId}`)).body.title as string;
};
const notify = (sysId: string) =>
  fetch(`${ctx.gatewayUrl}/webhooks/${connectionId}`, {
    method: "POST",
    headers: { authorization: `Bearer ${webhookSecret}`, "content-type": "application/json" },
    body: JSON.stringify({
      sys_id: sysId,
      sys_updated_on: toServiceNowDateTime(frozen),
      operation: "update",
    }),
  });

describe("two changes to one record within one second (no delivery ids)", () => {
  it("through webhooks: the identical second notice is not dropped once the first was read", async () => {
    frozen = new Date(Math.floor(Date.now() / 1000) * 1000);
    const sysId = sim.simulateAgentInsert({ short_description: "Webhook v1" })["sys_id"]!;
    expect((await notify(sysId)).status).toBe(202);
    await drain();
    expect(await titleOf(sysId)).toBe("Webhook v1");

    const before = sim.state.incidents.get(sysId)!["sys_updated_on"];
    sim.simulateAgentUpdate(sysId, { short_description: "Webhook v2" });
    expect(sim.state.incidents.get(sysId)!["sys_updated_on"], "same vendor second").toBe(before);
    const second = await notify(sysId);
    expect(await second.json()).toMatchObject({ accepted: 1 });
    await drain();
    expect(await titleOf(sysId)).toBe("Webhook v2");
  });

  it("through webhooks: a retried notice is still de-duplicated while the first is unread", async () => {
    const sysId = sim.simulateAgentInsert({ short_description: "Retried" })["sys_id"]!;
    expect(await (await notify(sysId)).json()).toMatchObject({ accepted: 1 });
    expect(await (await notify(sysId)).json()).toMatchObject({ accepted: 0, duplicates: 1 });
    await drain();
  });

  it("through polls: the re-read boundary second is read again, so the later change lands", async () => {
    frozen = new Date(Math.floor(Date.now() / 1000) * 1000);
    const sysId = sim.simulateAgentInsert({ short_description: "Poll v1" })["sys_id"]!;
    await ctx.poll();
    await drain();
    expect(await titleOf(sysId)).toBe("Poll v1");

    const before = sim.state.incidents.get(sysId)!["sys_updated_on"];
    sim.simulateAgentUpdate(sysId, { short_description: "Poll v2" });
    expect(sim.state.incidents.get(sysId)!["sys_updated_on"], "same vendor second").toBe(before);
    await ctx.poll();
    await drain();
    expect(await titleOf(sysId)).toBe("Poll v2");
  });
});
