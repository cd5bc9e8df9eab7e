/**
 * A gateway process for fault tests: the real app on PostgreSQL, with the idempotency fault seam wired to
 * real faults. A request whose Idempotency-Key starts with `kill-session@<point>:` has its database session
 * terminated (pg_terminate_backend, filtered on this database's name) at that point; one starting with
 * `kill-process@<point>:` SIGKILLs this process there (`committed`: after COMMIT, before the response is
 * written). Each fault strikes once per key.
 */
import { serve } from "@hono/node-server";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { createApp } from "../../src/app.js";
import { openDatabase, queryRows, type Tx } from "../../src/db/client.js";
import { LedgerKeyring } from "../../src/ledger/keys.js";
import { createLogger } from "../../src/lib/logger.js";
import { loadPlanCatalog } from "../../src/sla/catalog.js";
import { defaultSyncSettings } from "../../src/sync/settings.js";

const url = process.env.DATABASE_URL!;
const database = await openDatabase({ kind: "postgres", url, maxConnections: 4 });
const admin = postgres(url, { max: 1, onnotice: () => {} });

// A restarted process is told which faults already struck (FAULTS_FIRED, one `point key` per line).
const fired = new Set<string>((process.env.FAULTS_FIRED ?? "").split("\n").filter(Boolean));

async function killSession(tx: Tx) {
  const [row] = await queryRows<{ pid: number }>(tx, sql`select pg_backend_pid() as pid`);
  await admin`
    select pg_terminate_backend(pid) from pg_stat_activity
    where pid = ${row!.pid} and datname = current_database()`;
  // The server closes the socket on its own schedule; let the driver see it before the next query.
  await new Promise((r) => setTimeout(r, 200));
}

const app = createApp({
  database,
  config: {
    adminToken: process.env.GATEWAY_ADMIN_TOKEN!,
    publicUrl: "http://gateway.test",
    nodeEnv: "test",
    secretsKey: Buffer.alloc(32, 9),
    sync: defaultSyncSettings,
    ledger: { keyring: LedgerKeyring.generate(), checkpointIntervalMs: 60_000 },
  },
  logger: createLogger(process.env.LOG_LEVEL ?? "info"),
  catalog: loadPlanCatalog(),
  now: () => new Date(),
  faults: {
    idempotency: async (point, tx, key) => {
      // Each fault strikes once per key, so the client's retry with the same key meets no fault.
      if (fired.has(`${point} ${key}`)) return;
      fired.add(`${point} ${key}`);
      if (key.startsWith(`kill-session@${point}:`) && tx) await killSession(tx);
      if (key.startsWith(`kill-process@${point}:`)) process.kill(process.pid, "SIGKILL");
    },
  },
});
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: "127.0.0.1" });
