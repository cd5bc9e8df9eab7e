import { describe, expect, it } from "vitest";
import { connectors, connectorTypes } from "../../connectors/index.js";
import type { ConformanceAdapter } from "../../connectors/sdk/testing/conformance.js";
import { describeConformance } from "./kit.js";

// Every servicedesk connector in the registry passes the kit; its adapter is found in its own folder
// (connectors/<type>/test/conformance.ts), so adding a connector needs no file here.
const servicedeskTypes = connectorTypes.filter((type) => connectors[type].kind === "servicedesk");

const adapters = await Promise.all(
  servicedeskTypes.map(async (type) => {
    try {
      const module = (await import(`../../connectors/${type}/test/conformance.ts`)) as {
        conformance?: ConformanceAdapter;
      };
      return { type, adapter: module.conformance ?? null, error: null };
    } catch (error) {
      return { type, adapter: null, error };
    }
  }),
);

describe("conformance adapters", () => {
  it.each(adapters)(
    "$type exports its adapter from connectors/$type/test/conformance.ts",
    ({ type, adapter, error }) => {
      expect(
        adapter,
        `connectors/${type}/test/conformance.ts: ${String(error ?? "no export named conformance")}`,
      ).not.toBeNull();
      expect(adapter?.type).toBe(type);
    },
  );
});

for (const { adapter } of adapters) if (adapter) describeConformance(adapter);
