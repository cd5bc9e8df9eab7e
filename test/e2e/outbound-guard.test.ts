import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OutboundBlockedError } from "../../connectors/sdk/index.js";
import { ledgerEntries } from "../../src/db/schema/index.js";
import { outboundFetchFor } from "../../src/sync/clients.js";
import { defaultSyncSettings } from "../../src/sync/settings.js";
import { createTenant } from "../harness.js";
import { createSyncTestApp, type SyncTestContext } from "./sync-harness.js";

// A vendor on loopback (allowed in development) that redirects every call to the cloud metadata endpoint:
// the save-time check passes, so only the connect-time check of the redirect hop can stop it.
let ctx: SyncTestContext;
let vendor: Server;
let vendorUrl: string;
let vendorRequests = 0;

beforeAll(async () => {
  ctx = await createSyncTestApp();
  vendor = createServer((_req, res) => {
    vendorRequests += 1;
    res.writeHead(307, {
      location: "http://169.254.169.254/latest/meta-data/iam/security-credentials/?t=s3cret",
    });
    res.end();
  });
  await new Promise<void>((resolve) => vendor.listen(0, "127.0.0.1", resolve));
  vendorUrl = `http://127.0.0.1:${(vendor.address() as AddressInfo).port}`;
});
afterAll(async () => {
  vendor?.closeAllConnections();
  await new Promise((resolve) => vendor?.close(resolve));
  await ctx?.close();
});

describe("engine calls through the guarded fetch", () => {
  it("dead-letters and ledgers a delivery whose vendor redirects to the metadata address, without retrying", async () => {
    const tenant = await createTenant(ctx, { plan: "ombori-enterprise" });
    const made = await ctx.admin.post("/v1/connections", {
      type: "servicenow",
      name: "Redirecting ServiceNow",
      role: "servicedesk",
      tenantId: tenant.id,
      settings: {
        baseUrl: vendorUrl,
        auth: { type: "basic", username: "svc", password: "vendor-p4ssword" },
        webhookSecret: "a-webhook-secret-of-some-length",
      },
    });
    expect(made.status, made.text).toBe(201);
    const ticket = (
      await ctx.admin.post("/v1/tickets", { tenantId: tenant.id, title: "Printer on fire", priority: "P3" })
    ).body;
    await ctx.drain();

    expect(vendorRequests, "one request, then no retry of a permanent refusal").toBe(1);
    const dead = await ctx.admin.get(`/v1/dead-letters?ticketId=${ticket.id}`);
    expect(dead.body.items, dead.text).toHaveLength(1);
    expect(dead.text).toContain("169.254.169.254");
    expect(dead.text).toContain("metadata");
    const ledger = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(eq(ledgerEntries.ticketId, ticket.id));
    const deadLettered = ledger.filter((row) => row.kind === "sync.dead_lettered");
    expect(deadLettered, JSON.stringify(ledger.map((row) => row.kind))).toHaveLength(1);
    const ledgerText = JSON.stringify(ledger);
    expect(deadLettered[0]!.detail).toMatchObject({ reason: "permanent_error", attempt: 1 });
    expect(ledgerText).toContain("169.254.169.254 is in the blocked metadata range");
    expect(ledgerText).not.toContain("s3cret");
    expect(ledgerText).not.toContain("vendor-p4ssword");
  });
});

describe("outboundFetchFor", () => {
  const resolve = async (hostname: string) =>
    hostname === "api.vendor.example.com" ? [{ address: "127.0.0.1", family: 4 as const }] : [];
  const engineIn = (production: boolean) => ({
    secretsKey: Buffer.alloc(32),
    publicUrl: "http://gateway.test",
    sync: { ...defaultSyncSettings, production },
    resolve,
  });
  // The loopback vendor, reached by a public-looking name.
  const vendorByName = () =>
    `${vendorUrl.replace("127.0.0.1", "api.vendor.example.com")}/api/now/table/incident`;

  it("refuses a public-looking name resolving to loopback in production", async () => {
    const before = vendorRequests;
    const error = await outboundFetchFor(engineIn(true))(vendorByName()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OutboundBlockedError);
    expect(error).toMatchObject({ host: "api.vendor.example.com", address: "127.0.0.1", range: "loopback" });
    expect(vendorRequests).toBe(before);
  });

  it("reaches the same loopback address in development, where simulators listen there", async () => {
    // The vendor answers 307 to anything; reaching it at all is what development allows.
    const response = await outboundFetchFor(engineIn(false))(vendorByName(), { redirect: "manual" });
    expect(response.status).toBe(307);
  });
});
