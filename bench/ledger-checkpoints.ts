import { randomBytes } from "node:crypto";
import { type Db, openDatabase } from "../src/db/client.js";
import { runMigrations } from "../src/db/migrate.js";
import { appendLedger } from "../src/ledger/append.js";
import { signCheckpoints } from "../src/ledger/checkpoints.js";
import { LedgerKeyring } from "../src/ledger/keys.js";
import { createBenchDatabase, fmt, median } from "./lib.js";

export interface CheckpointBenchResult {
  /** Ledger entries appended per second without / with a checkpoint signer running, runs interleaved. */
  without: number[];
  with: number[];
  signingMs: number[];
  checkpoints: number;
  tenants: number;
  writers: number;
  intervalMs: number;
}

const TENANTS = 20;
const WRITERS = 8;

/** Appends one entry per transaction (as the inbox does per notice) from `WRITERS` loops for `seconds`. */
async function ingest(db: Db, seconds: number): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let appended = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (performance.now() < until) {
        const tenant = `ten_bench_${Math.floor(Math.random() * TENANTS)}`;
        await db.transaction((tx) =>
          appendLedger(tx, [
            {
              tenantId: tenant,
              ticketId: `tkt_${Math.floor(Math.random() * 500)}`,
              direction: "inbound",
              kind: "sync.received",
              actor: { type: "system", id: "bench" },
              side: "client",
              externalId: randomBytes(8).toString("hex"),
            },
          ]),
        );
        appended++;
      }
    }),
  );
  return appended / seconds;
}

/**
 * The cost of checkpointing on PostgreSQL: ledger appends per second from concurrent writers, alone and
 * while the signer runs every `intervalMs` (far more often than the 60 s default, to make any cost visible).
 */
export async function benchCheckpoints(options: {
  seconds: number;
  runs: number;
  intervalMs: number;
}): Promise<CheckpointBenchResult> {
  const database = await createBenchDatabase();
  const handle = await openDatabase({ kind: "postgres", url: database.url, maxConnections: WRITERS + 2 });
  const result: CheckpointBenchResult = {
    without: [],
    with: [],
    signingMs: [],
    checkpoints: 0,
    tenants: TENANTS,
    writers: WRITERS,
    intervalMs: options.intervalMs,
  };
  try {
    await runMigrations(handle);
    const keyring = LedgerKeyring.generate();
    // Warm-up: every chain exists and has a first checkpoint before the first measured run.
    await ingest(handle.db, 1);
    await signCheckpoints(handle.db, { keyring, now: () => new Date() });
    for (let run = 0; run < options.runs; run++) {
      result.without.push(await ingest(handle.db, options.seconds));
      let stop = false;
      const signer = (async () => {
        while (!stop) {
          const started = performance.now();
          const signed = await signCheckpoints(handle.db, { keyring, now: () => new Date() });
          result.signingMs.push(performance.now() - started);
          result.checkpoints += signed.signed.length;
          await new Promise((r) => setTimeout(r, options.intervalMs));
        }
      })();
      result.with.push(await ingest(handle.db, options.seconds));
      stop = true;
      await signer;
    }
    return result;
  } finally {
    await handle.close();
    await database.drop();
  }
}

export function checkpointMarkdown(r: CheckpointBenchResult, seconds: number): string {
  const without = median(r.without);
  const withSigner = median(r.with);
  return [
    "## Ledger checkpoints (PostgreSQL)",
    "",
    `Ledger entries appended per second by ${r.writers} concurrent writers (one entry per transaction, ${r.tenants} tenants, 500 tickets, so 340 chains), ${seconds} s per run, runs interleaved: alone, and while \`signCheckpoints\` runs every ${r.intervalMs} ms (the default interval is 60 s). Each signing run probes every chain head, re-walks the entries appended since the last checkpoint and signs a checkpoint per moved tenant.`,
    "",
    "| | median entries/s | runs |",
    "|---|---:|---|",
    `| ingest alone | ${fmt(without)} | ${r.without.map((v) => fmt(v)).join(", ")} |`,
    `| ingest while signing | ${fmt(withSigner)} | ${r.with.map((v) => fmt(v)).join(", ")} |`,
    "",
    `Ratio with / without: **${fmt(withSigner / without, 2)}**. ${r.checkpoints} checkpoints signed in ${r.signingMs.length} signing runs; a run took ${fmt(median(r.signingMs), 1)} ms at the median.`,
  ].join("\n");
}
