import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTmf621Simulator, type Tmf621Simulator } from "../../connectors/tmf621/simulator.js";
import { tmf621Contracts } from "../../connectors/tmf621/test/contract.js";
import { jobs } from "../../src/db/schema/index.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "./sync-harness.js";

// A carrier connection's own `pollIntervalSeconds` decides when its open delegations are re-read next;
// without one, the engine's interval (200 ms in the sync harness) applies.

let ctx: SyncTestContext;
let tmf: Tmf621Simulator;
let server: Listening;

beforeAll(async () => {
  ctx = await createSyncTestApp();
  tmf = createTmf621Simulator({ contract: tmf621Contracts() });
  server = await listen(tmf.app);
  tmf.setOrigin(server.url);
});
afterAll(async () => {
  await server?.close();
  await ctx?.close();
});

async function carrier(name: string, extra: Record<string, unknown>) {
  const res = await ctx.admin.post("/v1/connections", {
    type: "tmf621",
    name,
    role: "carrier",
    settings: {
      baseUrl: `${server.url}/tmf-api/troubleTicket/v5`,
      auth: { type: "bearer", token: "simulator-token" },
      version: "v5",
      webhookSecret: `${name.replace(/\W/g, "-")}-path-secret-0000`,
      ...extra,
    },
  });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

async function nextPollAt(connectionId: string): Promise<number> {
  const [row] = await ctx.database.db
    .select({ nextAttemptAt: jobs.nextAttemptAt })
    .from(jobs)
    .where(
      and(eq(jobs.connectionId, connectionId), eq(jobs.kind, "connection.poll"), eq(jobs.status, "pending")),
    );
  expect(row, "the connection has a pending poll job").toBeDefined();
  return row!.nextAttemptAt.getTime();
}

describe("carrier poll interval", () => {
  it("reschedules a carrier's poll by its own interval, or by the engine's when it sets none", async () => {
    const own = await carrier("Own interval carrier", { pollIntervalSeconds: 120 });
    const engineDefault = await carrier("Engine interval carrier", {});
    await ctx.drain({ settle: () => tmf.settled() });
    const before = Date.now();
    await ctx.poll();
    const after = Date.now();
    const ownAt = await nextPollAt(own);
    expect(ownAt).toBeGreaterThanOrEqual(before + 120_000 - 1_000);
    expect(ownAt).toBeLessThanOrEqual(after + 120_000 + 1_000);
    const engineAt = await nextPollAt(engineDefault);
    expect(engineAt).toBeLessThanOrEqual(after + 200 + 1_000);
    const shown = await ctx.admin.get(`/v1/connections/${engineDefault}`);
    expect(shown.body.settings).not.toHaveProperty("pollIntervalSeconds");
  });
});
