import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { afterAll, describe, expect, it } from "vitest";
import { createServiceNowClient } from "../client.js";
import { ServiceNowSettings } from "../config.js";
import { fromGlideDuration, toGlideDuration, toTimeWorkedFields } from "../mapping.js";
import { createServiceNowSimulator, simulatorUsers } from "../simulator.js";
import { testMappingContext } from "./priority-stub.js";

// Time Worked (task_time_worked) through the Table API: what the client writes, what it reads, and the
// read-back that keeps a retried write from adding the time twice.

const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function start() {
  const sim = createServiceNowSimulator();
  const url = await new Promise<string>((resolve) => {
    const server = serve({ fetch: sim.app.fetch, port: 0, hostname: "127.0.0.1" }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    );
    servers.push(server as Server);
  });
  sim.setInstanceUrl(url);
  const settings = ServiceNowSettings.parse({
    baseUrl: url,
    auth: { type: "basic", username: sim.integrationUser.username, password: sim.integrationUser.password },
  });
  const client = createServiceNowClient(settings, {
    mapping: testMappingContext,
    timeoutMs: 2_000,
    retry: { retries: 1, minTimeoutMs: 5, maxTimeoutMs: 50 },
  });
  const incident = sim.simulateAgentInsert({
    short_description: "Wifi down",
    caller_id: simulatorUsers.caller.sys_id,
  });
  return { sim, client, sysId: incident["sys_id"]! };
}

describe("glide durations", () => {
  it("reads and writes days past the first as the platform does", () => {
    expect(toGlideDuration(5400)).toBe("1970-01-01 01:30:00");
    expect(toGlideDuration(25.5 * 3600)).toBe("1970-01-02 01:30:00");
    expect(fromGlideDuration("1970-01-02 01:30:00")).toBe(25.5 * 3600);
    expect(() => fromGlideDuration("1 Hour 30 Minutes")).toThrow(RangeError);
  });

  it("names who worked and when it started in the row's comments (the row has no start)", () => {
    expect(
      toTimeWorkedFields("abc", {
        canonicalId: "wlg_1",
        startedAt: "2026-03-02T09:30:00Z",
        durationSeconds: 600,
        author: "Dana Field",
        comment: "Reboot",
      }),
    ).toEqual({
      task: "abc",
      time_worked: "1970-01-01 00:10:00",
      comments: "Dana Field (started 2026-03-02 09:30:00 UTC): Reboot",
    });
  });
});

describe("Time Worked through the Table API", () => {
  it("writes a row, rolls it up on the incident, and a retry finds it instead of writing again", async () => {
    const { sim, client, sysId } = await start();
    const since = new Date(Date.now() - 1000);
    const worklog = {
      canonicalId: "wlg_1",
      startedAt: "2026-03-02T09:30:00Z",
      durationSeconds: 5400,
      author: "Dana Field",
      comment: "Replaced the power supply",
    };
    const first = await client.addWorklog!(sysId, worklog, { attempt: 1, since });
    const again = await client.addWorklog!(sysId, worklog, { attempt: 2, since });
    expect(again.externalId).toBe(first.externalId);
    expect(sim.state.timeWorked).toHaveLength(1);
    expect(sim.state.incidents.get(sysId)!["time_worked"]).toBe("1970-01-01 01:30:00");

    sim.simulateAgentTimeWorked(sysId, { seconds: 26 * 3600, comments: "Site visit" });
    const listed = await client.listWorklogs!(sysId);
    expect(listed).toEqual([
      expect.objectContaining({
        externalId: first.externalId,
        author: sim.integrationUser.username,
        durationSeconds: 5400,
      }),
      expect.objectContaining({
        author: simulatorUsers.agent.user_name,
        durationSeconds: 26 * 3600,
        comment: "Site visit",
      }),
    ]);
  });

  it("a first attempt always writes, even when an identical row exists (two equal work logs are two)", async () => {
    const { sim, client, sysId } = await start();
    const worklog = {
      canonicalId: "wlg_2",
      startedAt: "2026-03-02T09:30:00Z",
      durationSeconds: 600,
      author: "Dana Field",
    };
    await client.addWorklog!(sysId, worklog, { attempt: 1, since: new Date() });
    await client.addWorklog!(sysId, { ...worklog, canonicalId: "wlg_3" }, { attempt: 1, since: new Date() });
    expect(sim.state.timeWorked).toHaveLength(2);
  });
});
