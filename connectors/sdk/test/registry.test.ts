import { describe, expect, it } from "vitest";
import { connectors, connectorTypes } from "../../index.js";

describe("the connector registry", () => {
  it.each(connectorTypes)("%s: the key is the connector's own type", (type) => {
    expect(connectors[type].type).toBe(type);
  });

  it.each(connectorTypes)("%s: its priority scheme ids are its own and unique", (type) => {
    const connector = connectors[type];
    const ids = [
      ...(connector.priorityScheme ? [connector.priorityScheme.id] : []),
      ...(connector.otherPrioritySchemes ?? []).map((table) => table.id),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });
});
