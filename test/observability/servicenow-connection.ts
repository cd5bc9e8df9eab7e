import { expect } from "vitest";
import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
} from "../../connectors/servicenow/simulator.js";
import { type Listening, listen, type SyncTestContext } from "../e2e/sync-harness.js";
import { createTenant } from "../harness.js";

export interface ConnectedServiceNow {
  sim: ServiceNowSimulator;
  simServer: Listening;
  tenant: Awaited<ReturnType<typeof createTenant>>;
  connectionId: string;
}

/** A ServiceNow simulator on a loopback port, a tenant, and its connection, whose webhooks reach `ctx`. */
export async function connectServiceNow(
  ctx: SyncTestContext,
  webhookSecret: string,
): Promise<ConnectedServiceNow> {
  const options: Parameters<typeof createServiceNowSimulator>[0] = {};
  const sim = createServiceNowSimulator(options);
  const simServer = await listen(sim.app);
  sim.setInstanceUrl(simServer.url);
  const tenant = await createTenant(ctx, { plan: "ombori-enterprise" });
  const res = await ctx.admin.post("/v1/connections", {
    type: "servicenow",
    name: "Acme ServiceNow",
    role: "servicedesk",
    tenantId: tenant.id,
    settings: {
      baseUrl: simServer.url,
      auth: { type: "basic", username: sim.integrationUser.username, password: sim.integrationUser.password },
      webhookSecret,
    },
  });
  expect(res.status, res.text).toBe(201);
  options.webhook = { url: res.body.webhookUrl, secret: webhookSecret };
  return { sim, simServer, tenant, connectionId: res.body.id };
}
