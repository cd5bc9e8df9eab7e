import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type ExportReport, verifyExport } from "./ledger/offline-verify.js";

const usage = `Usage: ticket-sync-gateway verify-export <export.ndjson> --keys <jwks.json> [--checkpoints <kept.json>] [--json]

Checks a ledger export (GET /v1/ledger/export, unfiltered or by tenant) offline: the embedded checkpoints
and any kept ones are signed by a key in the JWKS (GET /v1/ledger/keys), and every chain in the file links,
hashes and still holds each committed head. Exit status: 0 verified, 1 not verified, 2 usage error.`;

function readJson(file: string): unknown {
  const text = readFileSync(file, "utf8");
  try {
    return JSON.parse(text);
  } catch {
    // NDJSON: one checkpoint (or export line) per line
    return text
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as unknown);
  }
}

/** A kept-checkpoints file: an array, a {items} page from /v1/ledger/checkpoints, or export-style lines. */
function keptCheckpoints(value: unknown): unknown[] {
  const list = Array.isArray(value) ? value : ((value as { items?: unknown[] }).items ?? [value]);
  return list.map((item) =>
    (item as { type?: unknown }).type === "ledger.checkpoint"
      ? (item as { checkpoint: unknown }).checkpoint
      : item,
  );
}

function describe(report: ExportReport): string[] {
  const lines = [
    `${report.entries} entries in ${report.chains} chains; ${report.checkpoints.length} checkpoints`,
  ];
  for (const c of report.checkpoints) {
    lines.push(`checkpoint ${c.id} (${c.scope}, ${c.issuedAt}): ${c.ok ? "OK" : "FAILED"}`);
    for (const problem of c.problems) lines.push(`  - ${problem}`);
    for (const d of c.divergences) lines.push(`  - ${d.chainKey}: ${d.kind} at ${d.sequence}: ${d.detail}`);
  }
  for (const d of report.brokenChains)
    lines.push(`chain ${d.chainKey}: ${d.kind} at ${d.sequence}: ${d.detail}`);
  for (const scope of report.uncoveredScopes) lines.push(`note: no checkpoint covers scope ${scope}`);
  for (const bad of report.badLines) lines.push(`line ${bad.line}: ${bad.message}`);
  if (report.checkpoints.length === 0) lines.push("no checkpoint to verify against");
  lines.push(report.ok ? "VERIFIED" : "NOT VERIFIED");
  return lines;
}

function parseOptions(args: string[]) {
  try {
    return parseArgs({
      args,
      options: { keys: { type: "string" }, checkpoints: { type: "string" }, json: { type: "boolean" } },
      allowPositionals: true,
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return null;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== "verify-export") {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const parsed = parseOptions(rest);
  if (!parsed) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const [file] = parsed.positionals;
  if (!file || !parsed.values.keys) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const jwks = readJson(parsed.values.keys) as { keys: [] };
  const kept = parsed.values.checkpoints ? keptCheckpoints(readJson(parsed.values.checkpoints)) : [];
  const report = await verifyExport(readFileSync(file, "utf8"), jwks, kept);
  process.stdout.write(
    parsed.values.json ? `${JSON.stringify(report, null, 2)}\n` : `${describe(report).join("\n")}\n`,
  );
  return report.ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
