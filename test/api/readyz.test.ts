// GET /readyz reports this process's own state only: database reachable and migrated, not shutting down,
// its own worker loops turning. It reads nothing about vendors or the backlog, so neither can fail it.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoopState, type ProcessState, trackLoops } from "../../src/lib/readiness.js";
import { createTestApp, type TestContext } from "../harness.js";

let ctx: TestContext;
let state: ProcessState = { shuttingDown: false, workerLoops: null };
beforeAll(async () => {
  ctx = await createTestApp({ processState: () => state });
});
afterAll(() => ctx.close());

const loop = (overrides: Partial<LoopState> = {}): LoopState => ({
  name: "outbox",
  alive: true,
  lastPassEndedAt: null,
  runningForMs: null,
  ...overrides,
});

describe("GET /readyz", () => {
  it("is ready with a migrated database and no worker in this process", async () => {
    state = { shuttingDown: false, workerLoops: null };
    const res = await ctx.app.request("/readyz");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ready", database: "ok", worker: null });
  });

  it("is ready with live worker loops, and lists them", async () => {
    state = { shuttingDown: false, workerLoops: [loop(), loop({ name: "inbox", runningForMs: 40 })] };
    const res = await ctx.app.request("/readyz");
    const body = (await res.json()) as { worker: { loops: LoopState[] } };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.worker.loops).toHaveLength(2);
  });

  it("is unavailable when one of its own worker loops is stuck", async () => {
    state = { shuttingDown: false, workerLoops: [loop(), loop({ name: "poller", alive: false })] };
    const res = await ctx.app.request("/readyz");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      status: "unavailable",
      worker: { loops: [{}, { alive: false }] },
    });
  });

  it("is unavailable while shutting down, so a load balancer stops sending", async () => {
    state = { shuttingDown: true, workerLoops: null };
    const res = await ctx.app.request("/readyz");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "unavailable", reason: "shutting down" });
  });
});

describe("trackLoops", () => {
  it("marks a loop dead when a pass outlives stallMs or no pass starts for that long", async () => {
    let clock = 0;
    let release: () => void = () => {};
    const tasks = [
      { name: "inbox", run: async () => 0 },
      { name: "poller", run: () => new Promise<number>((resolve) => (release = () => resolve(1))) },
    ];
    const tracked = trackLoops(tasks, { stallMs: 100, now: () => clock });
    expect(tracked.state().every((l) => l.alive)).toBe(true);

    await tracked.tasks[0]!.run();
    const pending = tracked.tasks[1]!.run();
    clock = 150;
    const [inbox, poller] = tracked.state();
    expect(inbox).toMatchObject({ name: "inbox", alive: false, lastPassEndedAt: new Date(0).toISOString() });
    expect(poller).toMatchObject({ name: "poller", alive: false, runningForMs: 150 });

    release();
    await pending;
    await tracked.tasks[0]!.run();
    expect(tracked.state().every((l) => l.alive)).toBe(true);
  });
});
