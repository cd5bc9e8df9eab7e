import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createJsmSimulator,
  type JsmSimulator,
  type JsmSimulatorOptions,
} from "../../connectors/jsm/simulator.js";
import { externalLinks, ledgerEntries } from "../../src/db/schema/index.js";
import { createTenant } from "../harness.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "./sync-harness.js";

const secret = "jsm-comment-edits-secret-000000000";
let ctx: SyncTestContext;
let sim: JsmSimulator;
let server: Listening;
const options: JsmSimulatorOptions = {};
let tenant: Awaited<ReturnType<typeof createTenant>>;
let connectionId: string;

beforeAll(async () => {
  ctx = await createSyncTestApp();
  sim = createJsmSimulator(options);
  server = await listen(sim.app);
  sim.setSiteUrl(server.url);
  tenant = await createTenant(ctx);
  const res = await tenant.client.post("/v1/connections", {
    type: "jsm",
    name: "JSM",
    role: "servicedesk",
    settings: {
      ...sim.connectionSettings(server.url, secret),
    },
  });
  expect(res.status, res.text).toBe(201);
  connectionId = res.body.id;
  options.webhook = { url: res.body.webhookUrl, secret };
});
afterAll(async () => {
  await server?.close();
  await ctx?.close();
});

describe("Jira comments edited and deleted at the vendor", () => {
  it("updates the canonical comment on an edit and records a deletion without erasing anything", async () => {
    const issue = sim.simulateAgentCreate({ summary: "Comment edits" });
    const comment = sim.simulateAgentComment(issue.id, { body: "First wording", public: true });
    await ctx.drain({ settle: () => sim.settled() });
    const [link] = await ctx.database.db
      .select()
      .from(externalLinks)
      .where(and(eq(externalLinks.connectionId, connectionId), eq(externalLinks.externalId, issue.id)));
    const ticketId = link!.ticketId;
    const comments = async () =>
      (await tenant.client.get(`/v1/tickets/${ticketId}/comments`)).body.items as { body: string }[];
    expect((await comments()).map((c) => c.body)).toEqual(["First wording"]);

    sim.simulateCommentEdit(issue.id, comment.id, "Second wording");
    await ctx.drain({ settle: () => sim.settled() });
    expect((await comments()).map((c) => c.body)).toEqual(["Second wording"]);

    sim.simulateCommentDelete(issue.id, comment.id);
    await ctx.drain({ settle: () => sim.settled() });
    expect((await comments()).map((c) => c.body)).toEqual(["Second wording"]);
    const kinds = (
      await ctx.database.db.select().from(ledgerEntries).where(eq(ledgerEntries.ticketId, ticketId))
    ).map((e) => e.kind);
    expect(kinds).toContain("comment.edited");
    expect(kinds).toContain("comment.deleted_at_vendor");
    expect(JSON.stringify(await ctx.admin.get(`/v1/tickets/${ticketId}/ledger?limit=200`))).not.toContain(
      "wording",
    );
  });
});
