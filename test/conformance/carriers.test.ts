import { describe, expect, it } from "vitest";
import { connectors, connectorTypes } from "../../connectors/index.js";
import type { CarrierConformanceAdapter } from "../../connectors/sdk/testing/carrier-conformance.js";
import { describeCarrierConformance } from "./carrier-kit.js";

// Every carrier connector in the registry passes the carrier kit; its adapters (one per API version it speaks)
// are found in its own folder (connectors/<type>/test/conformance.ts), so adding a carrier needs no file here.
const carrierTypes = connectorTypes.filter((type) => connectors[type].kind === "carrier");

const found = await Promise.all(
  carrierTypes.map(async (type) => {
    try {
      const module = (await import(`../../connectors/${type}/test/conformance.ts`)) as {
        conformance?: readonly CarrierConformanceAdapter[];
      };
      return { type, adapters: module.conformance ?? null, error: null };
    } catch (error) {
      return { type, adapters: null, error };
    }
  }),
);

describe("carrier conformance adapters", () => {
  it.each(found)(
    "$type exports its adapters from connectors/$type/test/conformance.ts",
    ({ type, adapters, error }) => {
      expect(
        adapters,
        `connectors/${type}/test/conformance.ts: ${String(error ?? "no export named conformance")}`,
      ).not.toBeNull();
      expect(adapters?.length, "at least one adapter").toBeGreaterThan(0);
      for (const adapter of adapters ?? []) expect(adapter.type).toBe(type);
    },
  );
});

for (const { adapters } of found) for (const adapter of adapters ?? []) describeCarrierConformance(adapter);
