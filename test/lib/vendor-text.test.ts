import { describe, expect, it } from "vitest";
import { sanitizeVendorText } from "../../src/lib/vendor-text.js";

describe("sanitizeVendorText", () => {
  it.each([
    ["plain", "plain", []],
    ["nul\u0000byte", "nulbyte", [{ path: "", nul: 1, surrogates: 0 }]],
    ["a\ud800b", "a\ufffdb", [{ path: "", nul: 0, surrogates: 1 }]],
    ["\udc00x\ud83d", "\ufffdx\ufffd", [{ path: "", nul: 0, surrogates: 2 }]],
    ["pair \ud83d\ude00 kept", "pair \ud83d\ude00 kept", []],
    ["\u0000\ud800", "\ufffd", [{ path: "", nul: 1, surrogates: 1 }]],
  ])("%j becomes %j", (input, output, repairs) => {
    expect(sanitizeVendorText(input)).toEqual({ value: output, repairs });
  });

  it("walks records and names each repaired path, leaving clean values and non-strings alone", () => {
    const record = {
      title: "ok",
      description: "x\u0000y",
      version: 3,
      requester: { name: "A\udfff" },
      comments: [{ body: "fine" }, { body: "\u0000\u0000" }],
      when: new Date(0),
    };
    const { value, repairs } = sanitizeVendorText(record);
    expect(value).toEqual({
      ...record,
      description: "xy",
      requester: { name: "A\ufffd" },
      comments: [{ body: "fine" }, { body: "" }],
    });
    expect(value.when).toBe(record.when);
    expect(repairs.map((r) => r.path)).toEqual(["description", "requester.name", "comments[1].body"]);
    expect(record.description).toBe("x\u0000y");
  });
});
