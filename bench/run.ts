import { writeFileSync } from "node:fs";
import { machineDescription } from "./lib.js";
import { benchTicketCreate, ticketCreateMarkdown } from "./ticket-create.js";

/**
 * `npm run bench`: runs every benchmark and rewrites docs/benchmarks.md with the machine and date.
 * BENCH_QUICK=1 shortens every run (for a smoke check, not for figures).
 */
const quick = process.env.BENCH_QUICK === "1";
const seconds = quick ? 2 : 10;
const runs = quick ? 1 : 3;
const connections = 10;

const sections: string[] = [];

const ticketResults = [];
for (const engine of ["pglite", "postgres"] as const) {
  process.stderr.write(`ticket creation on ${engine}...\n`);
  ticketResults.push(await benchTicketCreate({ engine, seconds, runs, connections }));
}
sections.push(ticketCreateMarkdown(ticketResults, connections, seconds));

const header = [
  "# Benchmarks",
  "",
  "Written by `npm run bench`; do not edit by hand. Figures are this machine's, with the load generator on the same cores as the gateway: compare runs on one machine, not across machines.",
  "",
  `- Date: ${new Date().toISOString()}`,
  `- Machine: ${machineDescription()}`,
  `- PostgreSQL: the local server (\`BENCH_DATABASE_URL\`, default postgres://root@127.0.0.1:5432/test), a fresh database per benchmark`,
  quick
    ? "- Mode: BENCH_QUICK=1 (short runs; smoke check only)"
    : `- Mode: full (${runs} runs of ${seconds} s each)`,
  "",
];
writeFileSync("docs/benchmarks.md", `${[...header, ...sections].join("\n")}\n`);
process.stderr.write("wrote docs/benchmarks.md\n");
