import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, createTestApp, type TestContext } from "../harness.js";

const clock = { now: new Date("2026-11-23T09:00:00Z") };
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp({ now: () => clock.now });
});
afterAll(async () => ctx?.close());

const allWeek = (hours: [string, string][]) => ({
  mon: hours,
  tue: hours,
  wed: hours,
  thu: hours,
  fri: hours,
  sat: hours,
  sun: hours,
});

describe("POST /v1/sla/preview", () => {
  it("computes a plan's due times across the Stockholm spring DST change (ombori-pilot P1)", async () => {
    const tenant = await createTenant(ctx);
    const res = await tenant.client.post("/v1/sla/preview", {
      openedAt: "2026-03-27T16:30:00+01:00",
      plan: "ombori-pilot",
      priority: "P1",
    });
    expect(res.status, res.text).toBe(200);
    // Friday 16:30-18:00 is 90 minutes; the other 150 run on Monday from 08:00 CEST.
    expect(res.body).toMatchObject({
      responseDueAt: "2026-03-30T08:30:00Z",
      firstUpdateDueAt: "2026-03-30T12:30:00Z",
      resolutionDueAt: null,
      targets: { responseMinutes: 240, updateMinutes: 240 },
    });
    expect(res.body.calendar.timezone).toBe("Europe/Stockholm");
  });

  it("uses a given time zone instead of the plan's", async () => {
    const res = await ctx.admin.post("/v1/sla/preview", {
      openedAt: "2026-11-23T14:00:00Z",
      plan: "ombori-pilot",
      priority: "P1",
      timezone: "America/New_York",
    });
    expect(res.body.responseDueAt).toBe("2026-11-23T18:00:00Z");
  });

  it("computes on an explicit calendar across the Los Angeles autumn DST change", async () => {
    const res = await ctx.admin.post("/v1/sla/preview", {
      openedAt: "2026-10-31T16:00:00-07:00",
      calendar: { timezone: "America/Los_Angeles", hours: allWeek([["08:00", "17:00"]]) },
      targets: { responseMinutes: 120, resolutionBusinessDays: 2 },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.responseDueAt).toBe("2026-11-01T17:00:00Z");
    // The same local time (16:00) on the second following business day, now in PST.
    expect(res.body.resolutionDueAt).toBe("2026-11-03T00:00:00Z");
    expect(res.body.firstUpdateDueAt).toBeNull();
  });

  it("counts only the part of a pause after openedAt", async () => {
    const res = await ctx.admin.post("/v1/sla/preview", {
      openedAt: "2026-11-23T09:00:00+01:00",
      plan: "ombori-pilot",
      priority: "P1",
      pauses: [{ from: "2026-11-23T07:00:00Z", to: "2026-11-23T08:30:00Z" }],
    });
    expect(res.body.responseDueAt).toBe("2026-11-23T12:30:00Z");
  });

  it("honours holidays in an explicit calendar", async () => {
    const res = await ctx.admin.post("/v1/sla/preview", {
      openedAt: "2026-12-24T16:00:00+01:00",
      calendar: {
        timezone: "Europe/Stockholm",
        hours: {
          mon: [["08:00", "17:00"]],
          tue: [["08:00", "17:00"]],
          wed: [["08:00", "17:00"]],
          thu: [["08:00", "17:00"]],
          fri: [["08:00", "17:00"]],
        },
        holidays: ["2026-12-25"],
      },
      targets: { responseMinutes: 120 },
    });
    expect(res.body.responseDueAt).toBe("2026-12-28T08:00:00Z");
  });

  it.each([
    [{ calendar: { timezone: "Mars/Base", hours: allWeek([["08:00", "17:00"]]) } }, "calendar.timezone"],
    [
      {
        calendar: {
          timezone: "UTC",
          hours: {
            mon: [
              ["08:00", "12:00"],
              ["11:00", "17:00"],
            ],
          },
        },
      },
      "calendar.hours.mon[1]",
    ],
    [{ calendar: { timezone: "UTC", hours: { mon: [["17:00", "08:00"]] } } }, "calendar.hours.mon[0]"],
    [{ calendar: { timezone: "UTC", hours: {} } }, "calendar.hours"],
  ])("rejects a bad calendar %j naming %s", async (patch, path) => {
    const res = await ctx.admin.post("/v1/sla/preview", {
      openedAt: "2026-11-23T09:00:00Z",
      targets: { responseMinutes: 60 },
      ...patch,
    });
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it("rejects a reversed pause and a target given both ways, naming the path", async () => {
    const reversed = await ctx.admin.post("/v1/sla/preview", {
      openedAt: "2026-11-23T09:00:00Z",
      plan: "ombori-pilot",
      priority: "P1",
      pauses: [{ from: "2026-11-23T11:00:00Z", to: "2026-11-23T10:00:00Z" }],
    });
    expect(reversed.status, reversed.text).toBe(400);
    expect(reversed.body.errors.map((e: { path: string }) => e.path)).toContain("pauses[0].to");
    const both = await ctx.admin.post("/v1/sla/preview", {
      openedAt: "2026-11-23T09:00:00Z",
      calendar: { timezone: "UTC", hours: allWeek([["08:00", "17:00"]]) },
      targets: { responseMinutes: 60, responseBusinessDays: 1 },
    });
    expect(both.status, both.text).toBe(400);
    expect(both.body.errors.map((e: { path: string }) => e.path)).toContain("targets.responseBusinessDays");
  });

  it("rejects a bad priority, an instant without offset, and answers 404 for an unknown plan", async () => {
    const badPriority = await ctx.admin.post("/v1/sla/preview", {
      openedAt: "2026-11-23T09:00:00Z",
      plan: "ombori-pilot",
      priority: "P7",
    });
    expect(badPriority.status).toBe(400);
    expect(badPriority.body.errors.map((e: { path: string }) => e.path)).toEqual(["priority"]);
    const noOffset = await ctx.admin.post("/v1/sla/preview", {
      openedAt: "2026-11-23T09:00:00",
      plan: "ombori-pilot",
      priority: "P1",
    });
    expect(noOffset.status).toBe(400);
    expect(noOffset.body.errors[0].path).toBe("openedAt");
    const unknown = await ctx.admin.post("/v1/sla/preview", {
      openedAt: "2026-11-23T09:00:00Z",
      plan: "platinum",
      priority: "P1",
    });
    expect(unknown.status).toBe(404);
  });
});

describe("GET /v1/plans", () => {
  it("lists the catalog and reads one plan", async () => {
    const list = await ctx.admin.get("/v1/plans");
    const ids = list.body.items.map((p: { id: string }) => p.id);
    for (const id of [
      "ombori-free",
      "ombori-pilot",
      "roi-priority",
      "roxen-support",
      "activesoftswitch-lite",
      "helpdesk-incidents",
    ]) {
      expect(ids).toContain(id);
    }
    const one = await ctx.admin.get("/v1/plans/ombori-production");
    expect(one.body.targets.P1).toEqual({ responseMinutes: 30, updateMinutes: 60 });
    expect((await ctx.admin.get("/v1/plans/nope")).status).toBe(404);
  });
});

describe("GET /v1/reports/sla", () => {
  it("groups tickets with met and breached counts and business-minute percentiles, as JSON and CSV", async () => {
    const tenant = await createTenant(ctx, { plan: "ombori-production" });
    const open = async (priority: string) =>
      (await tenant.client.post("/v1/tickets", { title: "x", priority })).body.id as string;
    clock.now = new Date("2026-11-23T09:00:00Z");
    const fast = await open("P1");
    const slow = await open("P1");
    const minor = await open("P3");
    clock.now = new Date("2026-11-23T09:10:00Z");
    await ctx.admin.patch(`/v1/tickets/${fast}`, { status: "acknowledged" });
    await ctx.admin.patch(`/v1/tickets/${minor}`, { status: "acknowledged" });
    clock.now = new Date("2026-11-23T09:50:00Z");
    await ctx.admin.patch(`/v1/tickets/${slow}`, { status: "acknowledged" });

    const res = await ctx.admin.get(
      `/v1/reports/sla?from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z&groupBy=priority&tenantId=${tenant.id}`,
    );
    expect(res.status, res.text).toBe(200);
    const p1 = res.body.groups.find((g: { group: string }) => g.group === "P1");
    expect(p1).toMatchObject({
      tickets: 2,
      responseMet: 1,
      responseBreached: 1,
      medianResponseBusinessMinutes: 10,
      p90ResponseBusinessMinutes: 50,
    });
    const p3 = res.body.groups.find((g: { group: string }) => g.group === "P3");
    expect(p3).toMatchObject({ tickets: 1, responseMet: 1, responseBreached: 0 });

    const byTenant = await tenant.client.get(
      "/v1/reports/sla?from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z&groupBy=tenant",
    );
    expect(byTenant.body.groups.map((g: { group: string }) => g.group)).toEqual([tenant.id]);

    const csv = await ctx.app.request(
      `/v1/reports/sla?from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z&tenantId=${tenant.id}`,
      { headers: { authorization: "Bearer test-admin-token-0123456789abcdef", accept: "text/csv" } },
    );
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = (await csv.text()).trim().split("\n");
    expect(lines[0]).toContain("group,tickets,responseMet,responseBreached");
    expect(lines).toHaveLength(3);
  });

  it("rejects from after to", async () => {
    const res = await ctx.admin.get("/v1/reports/sla?from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z");
    expect(res.status).toBe(400);
  });
});
