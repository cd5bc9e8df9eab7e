import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createJsmSimulator,
  type JsmSimulator,
  type JsmSimulatorOptions,
} from "../../connectors/jsm/simulator.js";
import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
  type ServiceNowSimulatorOptions,
  simulatorUsers as snUsers,
} from "../../connectors/servicenow/simulator.js";
import { jobs, ledgerEntries } from "../../src/db/schema/index.js";
import { createTenant } from "../harness.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "./sync-harness.js";

// One tenant with a JSM and a ServiceNow desk on the same ticket: work logged through the API lands as a Jira
// worklog and a ServiceNow Time Worked row; work logged at either desk comes in once (not billable) and is
// copied to the other; nothing echoes back, nothing is written twice.

const secret = "worklog-sync-webhook-secret-00000";
let ctx: SyncTestContext;
let jsm: JsmSimulator;
let sn: ServiceNowSimulator;
const jsmOptions: JsmSimulatorOptions = {};
const snOptions: ServiceNowSimulatorOptions = {};
const servers: Listening[] = [];
let tenant: Awaited<ReturnType<typeof createTenant>>;
let jsmConnection: string;
let snConnection: string;
let ticketId: string;
let issueId: string;
let incidentId: string;

const settle = async () => {
  await Promise.all([jsm.settled(), sn.settled()]);
};
const drain = () => ctx.drain({ settle, timeoutMs: 30_000 });

interface WorklogView {
  id: string;
  author: string;
  startedAt: string;
  durationMinutes: number;
  billable: boolean;
  source: string;
}
const canonicalWorklogs = async () => {
  const res = await ctx.admin.get(`/v1/tickets/${ticketId}/worklogs`);
  expect(res.status, res.text).toBe(200);
  return res.body.items as WorklogView[];
};
const jiraWorklogs = () => jsm.issue(issueId).worklogs;
const timeWorked = () => sn.state.timeWorked.filter((row) => row["task"] === incidentId);

beforeAll(async () => {
  ctx = await createSyncTestApp();
  jsm = createJsmSimulator(jsmOptions);
  sn = createServiceNowSimulator(snOptions);
  const [jsmServer, snServer] = await Promise.all([listen(jsm.app), listen(sn.app)]);
  servers.push(jsmServer!, snServer!);
  jsm.setSiteUrl(jsmServer!.url);
  sn.setInstanceUrl(snServer!.url);
  tenant = await createTenant(ctx, { name: "Worklog desks" });
  const connect = async (type: string, settings: Record<string, unknown>) => {
    const res = await tenant.client.post("/v1/connections", {
      type,
      name: `${type} of worklog desks`,
      role: "servicedesk",
      settings,
    });
    expect(res.status, res.text).toBe(201);
    return { id: res.body.id as string, webhookUrl: res.body.webhookUrl as string };
  };
  const jsmConn = await connect("jsm", {
    ...jsm.connectionSettings(jsmServer!.url, secret),
  });
  jsmConnection = jsmConn.id;
  jsmOptions.webhook = { url: jsmConn.webhookUrl, secret };
  const snConn = await connect("servicenow", {
    baseUrl: snServer!.url,
    auth: { type: "basic", username: sn.integrationUser.username, password: sn.integrationUser.password },
    webhookSecret: secret,
  });
  snConnection = snConn.id;
  snOptions.webhook = { url: snConn.webhookUrl, secret };

  const created = await tenant.client.post("/v1/tickets", {
    title: "Router keeps rebooting",
    priority: "P2",
  });
  expect(created.status, created.text).toBe(201);
  ticketId = created.body.id;
  await drain();
  issueId = [...jsm.state.issues.values()][0]!.id;
  incidentId = [...sn.state.incidents.keys()][0]!;
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await ctx?.close();
});

describe("work logs between the gateway, JSM and ServiceNow", () => {
  it("copies a work log added through the API to both desks, once", async () => {
    const res = await ctx.admin.post(`/v1/tickets/${ticketId}/worklogs`, {
      author: "Dana Field",
      startedAt: "2026-03-02T09:30:00Z",
      durationMinutes: 90,
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.worklog).toMatchObject({ source: "api" });
    await drain();

    expect(jiraWorklogs()).toHaveLength(1);
    const jira = jiraWorklogs()[0]!;
    expect(jira.timeSpentSeconds).toBe(5400);
    expect(new Date(jira.started).toISOString()).toBe("2026-03-02T09:30:00.000Z");
    expect(jira.authorId).toBe(jsm.integrationAccount.accountId);
    expect(jira.properties).toEqual([
      { key: "ticket-sync-gateway", value: { worklogId: res.body.worklog.id } },
    ]);

    expect(timeWorked()).toHaveLength(1);
    const row = timeWorked()[0]!;
    expect(row["time_worked"]).toBe("1970-01-01 01:30:00");
    expect(row["sys_created_by"]).toBe(sn.integrationUser.username);
    expect(row["comments"]).toBe("Dana Field (started 2026-03-02 09:30:00 UTC)");
    // The desk's rollup moved the incident: its webhook came back and was recognised as our own.
    expect(sn.state.incidents.get(incidentId)!["time_worked"]).toBe("1970-01-01 01:30:00");

    const mine = await canonicalWorklogs();
    expect(mine).toHaveLength(1);
  });

  it("imports a Jira worklog once, not billable, and copies it to ServiceNow without an echo", async () => {
    jsm.simulateAgentWorklog(issueId, {
      started: new Date("2026-03-03T14:00:00Z"),
      timeSpentSeconds: 45 * 60,
      comment: "Checked the line from the client side",
    });
    await drain();
    const logs = await canonicalWorklogs();
    expect(logs).toHaveLength(2);
    const imported = logs.find((log) => log.source === "jsm")!;
    expect(imported).toMatchObject({
      durationMinutes: 45,
      billable: false,
      startedAt: "2026-03-03T14:00:00.000Z",
    });
    expect(timeWorked()).toHaveLength(2);
    // The desk's text travels to the other desk with the copy; the gateway's ledger keeps none.
    expect(timeWorked()[1]!["comments"]).toContain("Checked the line from the client side");
    expect(timeWorked()[1]!["time_worked"]).toBe("1970-01-01 00:45:00");
    // Not written back to Jira, and no billing entry for time the client's desk logged.
    expect(jiraWorklogs()).toHaveLength(2);
    const billing = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.ticketId, ticketId), eq(ledgerEntries.kind, "billing.consumed")));
    expect(billing.filter((entry) => entry.detail["source"] === imported.id)).toEqual([]);
  });

  it("imports ServiceNow time worked once and copies it to Jira", async () => {
    sn.simulateAgentTimeWorked(incidentId, { seconds: 20 * 60, comments: "Remote reboot" });
    await drain();
    const logs = await canonicalWorklogs();
    expect(logs).toHaveLength(3);
    const imported = logs.find((log) => log.source === "servicenow")!;
    expect(imported).toMatchObject({ durationMinutes: 20, billable: false, author: snUsers.agent.user_name });
    expect(jiraWorklogs()).toHaveLength(3);
    expect(jiraWorklogs()[2]!.timeSpentSeconds).toBe(1200);
    expect(timeWorked()).toHaveLength(3);
  });

  it("settles: more syncs and polls change nothing", async () => {
    // Touch both records so each desk's worklogs are read again.
    jsm.simulateAgentUpdate(issueId, { summary: "Router keeps rebooting (again)" });
    sn.simulateAgentUpdate(incidentId, { short_description: "Router keeps rebooting (again)" });
    await drain();
    await ctx.poll();
    await drain();
    expect(await canonicalWorklogs()).toHaveLength(3);
    expect(jiraWorklogs()).toHaveLength(3);
    expect(timeWorked()).toHaveLength(3);
    const copies = await ctx.database.db.select().from(jobs).where(eq(jobs.kind, "worklog.add"));
    expect(copies.map((job) => job.status).sort()).toEqual(["done", "done", "done", "done"]);
    expect(new Set(copies.map((job) => job.connectionId))).toEqual(new Set([jsmConnection, snConnection]));
  });

  it("a retried copy finds the work log an unanswered attempt wrote", async () => {
    // The desk stores the worklog but the answer is lost (a timeout after the write).
    jsm.faults.push({
      kind: "timeout",
      delayMs: 2500,
      times: 1,
      match: { method: "POST", pathIncludes: "/worklog" },
    });
    const res = await ctx.admin.post(`/v1/tickets/${ticketId}/worklogs`, {
      author: "Dana Field",
      startedAt: "2026-03-04T08:00:00Z",
      durationMinutes: 15,
    });
    expect(res.status, res.text).toBe(201);
    await drain();
    const stamped = jiraWorklogs().filter(
      (log) =>
        (log.properties[0]?.value as { worklogId?: string } | undefined)?.worklogId === res.body.worklog.id,
    );
    expect(jsm.faults).toHaveLength(0);
    expect(stamped).toHaveLength(1);
    const [copy] = await ctx.database.db
      .select()
      .from(jobs)
      .where(and(eq(jobs.orderKey, res.body.worklog.id), eq(jobs.connectionId, jsmConnection)));
    expect(copy).toMatchObject({ status: "done" });
    expect(copy!.attempts).toBeGreaterThanOrEqual(2);
    expect(timeWorked()).toHaveLength(4);
  });
});
