import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, createTestApp, type TestContext } from "../harness.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
});
afterAll(async () => ctx?.close());

describe("priority schemes over the API", () => {
  it("lists the translation tables with their lossless flags", async () => {
    const res = await ctx.admin.get("/v1/priority-schemes");
    expect(res.status, res.text).toBe(200);
    const byId = Object.fromEntries(res.body.items.map((s: { id: string }) => [s.id, s]));
    expect(Object.keys(byId)).toEqual(
      expect.arrayContaining([
        "servicenow",
        "jira",
        "zendesk",
        "roxen",
        "activesoftswitch",
        "tmf621-default",
      ]),
    );
    expect(byId.activesoftswitch.lossless).toMatchObject({ P1: true, P4: false });
    expect(byId.jira.outbound).toMatchObject({ P1: "Highest", P4: "Low" });
  });

  it.each([
    [
      { scheme: "jira", value: "High" },
      { priority: "P2", exact: true },
    ],
    [
      { scheme: "jira", value: "Lowest" },
      { priority: "P4", exact: false },
    ],
    [
      { scheme: "activesoftswitch", priority: "P4" },
      { value: "Low", lossy: true },
    ],
    [
      { scheme: "zendesk", priority: "P1" },
      { value: "urgent", lossy: false },
    ],
    [
      { scheme: "servicenow", value: 5 },
      { priority: "P4", exact: false },
    ],
  ])("translates %j", async (body, expected) => {
    const res = await ctx.admin.post("/v1/priority/translate", body);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject(expected);
  });

  it("rejects unknown values and a request naming both directions", async () => {
    const unknown = await ctx.admin.post("/v1/priority/translate", { scheme: "jira", value: "Blocker" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].path).toBe("value");
    const both = await ctx.admin.post("/v1/priority/translate", {
      scheme: "jira",
      value: "High",
      priority: "P1",
    });
    expect(both.status).toBe(400);
  });

  it("applies a tenant's own overrides, set on the tenant", async () => {
    const tenant = await createTenant(ctx);
    const patched = await ctx.admin.patch(`/v1/tenants/${tenant.id}`, {
      priorityOverrides: {
        jira: { inbound: [{ value: "Blocker", priority: "P1" }], outbound: { P1: "Blocker" } },
      },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.priorityOverrides.jira.outbound.P1).toBe("Blocker");
    const out = await tenant.client.post("/v1/priority/translate", { scheme: "jira", priority: "P1" });
    expect(out.body).toMatchObject({ value: "Blocker" });
    const read = await tenant.client.post("/v1/priority/translate", { scheme: "jira", value: "blocker" });
    expect(read.body).toMatchObject({ priority: "P1" });
    // Without the tenant, the shipped table applies.
    expect(
      (await ctx.admin.post("/v1/priority/translate", { scheme: "jira", priority: "P1" })).body.value,
    ).toBe("Highest");
    const bad = await ctx.admin.patch(`/v1/tenants/${tenant.id}`, {
      priorityOverrides: { jira: { outbound: { P9: "x" } } },
    });
    expect(bad.status).toBe(400);
  });
});
