// The vendor specs and documented payloads in test/specs and test/payloads are unmodified copies:
// each file's sha256 must match the one its SOURCES.md records, and every file must be listed there
// (a new copy without a recorded origin fails), and every listed file must exist.

import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL(".", import.meta.url));

/** The `<sha256>  <path>` lines of the SOURCES.md sha256 block. */
function recordedSums(sourcesText: string): Map<string, string> {
  const block = /## sha256\s*```\n([\s\S]*?)```/.exec(sourcesText);
  if (!block?.[1]) throw new Error("SOURCES.md has no ## sha256 code block");
  const sums = new Map<string, string>();
  for (const line of block[1].split("\n").filter((l) => l.trim() !== "")) {
    const match = /^([0-9a-f]{64}) {2}(\S.*)$/.exec(line);
    if (!match) throw new Error(`not a sha256sum line: ${line}`);
    sums.set(match[2]!, match[1]!);
  }
  return sums;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .filter((path) => path !== "SOURCES.md")
    .sort();
}

describe.each(["specs", "payloads"])("test/%s: unmodified copies with recorded origins", (folder) => {
  const dir = join(root, folder);
  const sums = recordedSums(readFileSync(join(dir, "SOURCES.md"), "utf8"));

  it("lists exactly the files present", () => {
    expect(filesUnder(dir)).toEqual([...sums.keys()].sort());
  });

  it.each([...sums])("%s matches its recorded sha256", (path, sum) => {
    const actual = createHash("sha256")
      .update(readFileSync(join(dir, path)))
      .digest("hex");
    expect(actual, `${folder}/${path} differs from the copy SOURCES.md records`).toBe(sum);
  });
});

describe("recordedSums", () => {
  it("rejects a malformed line, so a broken SOURCES.md cannot pass by listing nothing", () => {
    expect(() => recordedSums("## sha256\n\n```\nnot-a-sum  file\n```\n")).toThrow(/not a sha256sum line/);
    expect(() => recordedSums("no block")).toThrow(/no ## sha256/);
  });
});
