import { describe, expect, it } from "vitest";
import { computeEntryHash, entryHashTemplate, hashFromTemplate } from "../../src/ledger/entry-hash.js";

// The database completes an entry's hash from this template (migration 0024); verification recomputes it
// from the stored row. Both must hash the same bytes.
describe("entry hash template", () => {
  const base = {
    occurredAt: new Date("2026-12-07T10:11:12.345Z"),
    chainKey: "tenant-a:3",
    tenantId: "tenant-a",
    ticketId: "ticket-1",
    connectionId: null,
    direction: "inbound" as const,
    kind: "sync.received",
    actorType: "connector",
    actorId: "conn-1",
    side: "client" as const,
    externalId: "INC001",
    payloadHash: null,
  };
  const details: Record<string, unknown>[] = [
    {},
    { prevHash: null, sequence: 0, side: "x" },
    { note: ',"prevHash":null,"sequence":0,"side":"provider"' },
    { text: 'é 中文 😀 \u2028 \\ " \n', list: [1, 2.5, { b: 1, a: 2 }] },
  ];
  it.each(details.map((detail) => [detail]))(
    "splits %j so that prev hash and sequence complete it",
    (detail) => {
      const template = entryHashTemplate({ ...base, detail });
      for (const [prevHash, sequence] of [
        [null, 1],
        ["ab".repeat(32), 9_007_199_254_740_991],
      ] as const) {
        expect(hashFromTemplate(template, prevHash, sequence)).toBe(
          computeEntryHash({ ...base, detail, prevHash, sequence }),
        );
      }
    },
  );
  it("changes with every field it covers", () => {
    const a = entryHashTemplate({ ...base, detail: {} });
    const b = entryHashTemplate({ ...base, side: "provider", detail: {} });
    expect(hashFromTemplate(a, null, 1)).not.toBe(hashFromTemplate(b, null, 1));
    expect(hashFromTemplate(a, null, 1)).not.toBe(hashFromTemplate(a, null, 2));
  });
});
