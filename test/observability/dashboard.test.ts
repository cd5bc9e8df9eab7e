// deploy/grafana/ticket-sync-gateway.json: every PromQL expression names only series a gateway exposes, as
// read from a real scrape of GET /metrics (the # TYPE lines, with a histogram's _bucket, _sum and _count).

import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, TEST_ADMIN_TOKEN, type TestContext } from "../harness.js";

const dashboard = JSON.parse(
  readFileSync(new URL("../../deploy/grafana/ticket-sync-gateway.json", import.meta.url), "utf8"),
) as {
  panels: { title: string; type: string; datasource?: { uid: string }; targets?: { expr: string }[] }[];
};

const keywords = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"]);
const operators = new Set(["and", "or", "unless"]);

/** The metric names a PromQL expression selects (functions, label lists, matchers and ranges stripped). */
function selectedMetrics(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  return [...stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter((m) => m[2] === undefined)
    .map((m) => m[1]!)
    .filter((name) => !keywords.has(name) && !operators.has(name));
}

let ctx: TestContext;
let exposed: Set<string>;
beforeAll(async () => {
  ctx = await createTestApp();
  const res = await ctx.app.request("/metrics", { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  exposed = new Set(
    [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
      type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
    ),
  );
});
afterAll(() => ctx?.close());

describe("the Grafana dashboard", () => {
  const queries = dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
  );

  it("reads its series through the datasource variable", () => {
    for (const panel of dashboard.panels.filter((p) => p.type !== "row")) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template
      expect(panel.datasource?.uid, panel.title).toBe("${datasource}");
    }
  });

  it("queries only series the gateway exposes", () => {
    expect(queries.length).toBeGreaterThan(20);
    const used = new Set<string>();
    for (const { panel, expr } of queries) {
      const names = selectedMetrics(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        expect(exposed.has(name), `${panel}: ${name} in ${expr}`).toBe(true);
        used.add(name);
      }
    }
    // Every gateway series of the issue is on the dashboard.
    for (const family of [
      "tsg_http_request_duration_seconds_bucket",
      "tsg_jobs_total",
      "tsg_job_enqueue_to_done_seconds_bucket",
      "tsg_jobs_pending",
      "tsg_jobs_oldest_pending_age_seconds",
      "tsg_dead_letters_open",
      "tsg_vendor_request_duration_seconds_bucket",
      "tsg_webhooks_accepted_total",
      "tsg_webhooks_rejected_total",
      "tsg_sla_clocks_at_risk",
      "tsg_sla_clocks_breached",
      "tsg_ledger_append_duration_seconds_bucket",
      "tsg_db_queries_in_flight",
    ])
      expect(used.has(family), family).toBe(true);
  });

  it("would notice a misspelt series", () => {
    expect(
      selectedMetrics('sum by (kind) (rate(tsg_jobs_totl{outcome="dead"}[5m])) / on (kind) tsg_jobs_pending'),
    ).toEqual(["tsg_jobs_totl", "tsg_jobs_pending"]);
    expect(exposed.has("tsg_jobs_totl")).toBe(false);
  });
});
