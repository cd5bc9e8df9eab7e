import { createHash, randomBytes } from "node:crypto";
import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createJsmSimulator,
  type JsmSimulator,
  type JsmSimulatorOptions,
} from "../../connectors/jsm/simulator.js";
import {
  createZendeskSimulator,
  simulatorUsers,
  type ZendeskSimulator,
} from "../../connectors/zendesk/simulator.js";
import { attachmentLinks, jobs, ledgerEntries } from "../../src/db/schema/index.js";
import { createTenant } from "../harness.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "./sync-harness.js";

// One tenant connected to a Zendesk and a JSM at once: a file attached in Zendesk reaches the JSM issue,
// streamed through the gateway, hashed on the way and recorded in the ledger.

const secret = "attachments-webhook-secret-000000";
const jsmCap = 4096;
let ctx: SyncTestContext;
let zd: ZendeskSimulator;
let jsm: JsmSimulator;
const zdOptions: Parameters<typeof createZendeskSimulator>[0] = {};
const jsmOptions: JsmSimulatorOptions = {};
const servers: Listening[] = [];
let tenant: Awaited<ReturnType<typeof createTenant>>;
let zdConnection: string;
let jsmConnection: string;
let ticketId: string;
let zdTicketId: number;
let jsmIssueId: string;

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const settle = async () => {
  await Promise.all([zd.settled(), jsm.settled()]);
};
const drain = () => ctx.drain({ settle, timeoutMs: 30_000 });

beforeAll(async () => {
  ctx = await createSyncTestApp();
  zd = createZendeskSimulator(zdOptions);
  jsm = createJsmSimulator(jsmOptions);
  const [zdServer, jsmServer] = await Promise.all([listen(zd.app), listen(jsm.app)]);
  servers.push(zdServer!, jsmServer!);
  zd.setAccountUrl(zdServer!.url);
  jsm.setSiteUrl(jsmServer!.url);
  tenant = await createTenant(ctx, { name: "Two desks" });
  const connect = async (type: string, settings: Record<string, unknown>) => {
    const res = await tenant.client.post("/v1/connections", {
      type,
      name: `${type} of two desks`,
      role: "servicedesk",
      settings,
    });
    expect(res.status, res.text).toBe(201);
    return { id: res.body.id as string, webhookUrl: res.body.webhookUrl as string };
  };
  const zdConn = await connect("zendesk", {
    baseUrl: zdServer!.url,
    auth: { type: "basic", username: `${simulatorUsers.integration.email}/token`, password: zd.apiToken },
    integrationUserId: simulatorUsers.integration.id,
    webhookSecret: secret,
  });
  zdConnection = zdConn.id;
  zdOptions.webhook = { url: zdConn.webhookUrl, secret, kind: "trigger" };
  const jsmConn = await connect("jsm", {
    ...jsm.connectionSettings(jsmServer!.url, secret),
    maxAttachmentBytes: jsmCap,
  });
  jsmConnection = jsmConn.id;
  jsmOptions.webhook = { url: jsmConn.webhookUrl, secret };
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await ctx?.close();
});

async function attachInZendesk(fileName: string, bytes: Uint8Array) {
  const token = zd.simulateAgentUpload({ fileName, contentType: "application/pdf", bytes });
  zd.simulateAgentComment(zdTicketId, { body: `Here is ${fileName}`, public: true, uploads: [token] });
  await drain();
}

const canonicalAttachments = async () => {
  const res = await tenant.client.get(`/v1/tickets/${ticketId}/attachments`);
  expect(res.status, res.text).toBe(200);
  return res.body.items as {
    id: string;
    fileName: string;
    sizeBytes: number | null;
    sha256: string | null;
  }[];
};
const jsmFiles = () => jsm.issue(jsmIssueId).attachments;
const copyJobs = () =>
  ctx.database.db
    .select()
    .from(jobs)
    .where(and(eq(jobs.connectionId, jsmConnection), eq(jobs.kind, "attachment.copy")));

describe("attachments between Zendesk and JSM", () => {
  it("creates the canonical ticket at both servicedesks", async () => {
    const res = await tenant.client.post("/v1/tickets", { title: "Printer on fire", priority: "P2" });
    expect(res.status, res.text).toBe(201);
    ticketId = res.body.id;
    await drain();
    const zdTicket = [...zd.state.tickets.values()].find((t) => t.external_id === ticketId);
    const jsmIssue = [...jsm.state.issues.values()].find((i) => i.custom["customfield_10050"] === ticketId);
    expect(zdTicket).toBeDefined();
    expect(jsmIssue).toBeDefined();
    zdTicketId = zdTicket!.id;
    jsmIssueId = jsmIssue!.id;
  });

  it("copies a Zendesk agent's file to the JSM issue, byte for byte, with its hash in the ledger", async () => {
    const bytes = new Uint8Array(randomBytes(3000));
    await attachInZendesk("invoice.pdf", bytes);

    const listed = await canonicalAttachments();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ fileName: "invoice.pdf", sizeBytes: 3000, sha256: sha256(bytes) });

    const files = jsmFiles();
    expect(files).toHaveLength(1);
    expect(files[0]!.filename).toBe("invoice.pdf");
    expect(sha256(files[0]!.bytes)).toBe(sha256(bytes));

    const synced = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.kind, "attachment.synced"), eq(ledgerEntries.connectionId, jsmConnection)));
    expect(synced).toHaveLength(1);
    expect(synced[0]!.ticketId).toBe(ticketId);
    expect(synced[0]!.detail).toMatchObject({
      attachmentId: listed[0]!.id,
      sha256: sha256(bytes),
      sizeBytes: 3000,
      externalAttachmentId: files[0]!.id,
    });
    const added = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.kind, "attachment.added"), eq(ledgerEntries.connectionId, zdConnection)));
    expect(added).toHaveLength(1);

    // The copy came back from JSM by webhook as the integration user's: no second canonical attachment,
    // and nothing went back to Zendesk.
    await ctx.poll();
    await drain();
    expect(await canonicalAttachments()).toHaveLength(1);
    const zdFiles = zd.state.comments.filter((c) => c.ticket_id === zdTicketId).flatMap((c) => c.attachments);
    expect(zdFiles).toHaveLength(1);
  });

  it("dead-letters a file over the JSM cap without uploading anything", async () => {
    const uploadsBefore = jsm.exchanges.filter((e) => e.method === "POST" && /attach/i.test(e.path)).length;
    const bytes = new Uint8Array(randomBytes(jsmCap + 1));
    await attachInZendesk("too-big.bin", bytes);

    const listed = await canonicalAttachments();
    const big = listed.find((a) => a.fileName === "too-big.bin");
    expect(big).toMatchObject({ sizeBytes: jsmCap + 1, sha256: null });
    const job = (await copyJobs()).find((j) => j.payload["attachmentId"] === big!.id);
    expect(job).toMatchObject({ status: "dead", attempts: 1 });
    expect(job!.lastError).toMatch(/exceeds the 4096-byte limit/);
    expect(jsmFiles()).toHaveLength(1);
    expect(jsm.exchanges.filter((e) => e.method === "POST" && /attach/i.test(e.path))).toHaveLength(
      uploadsBefore,
    );
    const dead = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(
        and(eq(ledgerEntries.kind, "sync.dead_lettered"), eq(ledgerEntries.connectionId, jsmConnection)),
      );
    expect(dead.some((entry) => entry.detail["reason"] === "permanent_error")).toBe(true);
    // The ticket's own updates are not held up by the dead file.
    await tenant.client.patch(`/v1/tickets/${ticketId}`, { title: "Printer on fire, again" });
    await drain();
    expect(jsm.issue(jsmIssueId).summary).toBe("Printer on fire, again");
  });

  it("does not attach twice when a copy is delivered again", async () => {
    const [first] = await canonicalAttachments();
    const job = (await copyJobs()).find((j) => j.payload["attachmentId"] === first!.id)!;
    expect(job.status).toBe("done");
    const redeliver = () =>
      ctx.database.db
        .update(jobs)
        .set({ status: "pending", nextAttemptAt: new Date(0), finishedAt: null })
        .where(eq(jobs.id, job.id));

    // Delivered again while linked: nothing to do.
    await redeliver();
    await drain();
    expect(jsmFiles()).toHaveLength(1);

    // Delivered again after the link was lost (an upload that landed, then a crash before the commit):
    // the retry finds the file at JSM and links it instead of uploading a second copy.
    await ctx.database.db
      .delete(attachmentLinks)
      .where(
        and(eq(attachmentLinks.connectionId, jsmConnection), eq(attachmentLinks.attachmentId, first!.id)),
      );
    await redeliver();
    await drain();
    expect(jsmFiles()).toHaveLength(1);
    const [relinked] = await ctx.database.db
      .select()
      .from(attachmentLinks)
      .where(
        and(eq(attachmentLinks.connectionId, jsmConnection), eq(attachmentLinks.attachmentId, first!.id)),
      );
    expect(relinked?.externalAttachmentId).toBe(jsmFiles()[0]!.id);
    const synced = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.kind, "attachment.synced"), eq(ledgerEntries.connectionId, jsmConnection)))
      .orderBy(asc(ledgerEntries.sequence));
    expect(synced.map((entry) => entry.detail["recovered"] ?? false)).toEqual([false, true]);
    expect(await canonicalAttachments()).toHaveLength(2);
  });

  it("keeps attachments to the ticket's tenant", async () => {
    const other = await createTenant(ctx, { name: "Someone else" });
    expect((await other.client.get(`/v1/tickets/${ticketId}/attachments`)).status).toBe(404);
    expect((await ctx.admin.get(`/v1/tickets/${ticketId}/attachments`)).status).toBe(200);
  });
});
