/**
 * `npm run pglite-to-postgres -- --from ./data`: moves a PGlite trial into PostgreSQL (docs/deploy.md).
 * The target is DATABASE_URL; GATEWAY_ADMIN_TOKEN and SECRETS_KEY must be the trial's own (its
 * $DATA_DIR/dev-secrets.json), or the copied connector credentials cannot be decrypted.
 * Stop the trial gateway first: its data directory is locked while it runs.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config.js";
import { openDatabase } from "./client.js";
import { runMigrations } from "./migrate.js";
import { copyAllData } from "./transfer.js";

const { values } = parseArgs({ options: { from: { type: "string" } } });
const config = loadConfig();
if (!values.from || config.database.kind !== "postgres") {
  throw new ConfigError([
    "usage: DATABASE_URL=postgres://... GATEWAY_ADMIN_TOKEN=... SECRETS_KEY=... npm run pglite-to-postgres -- --from <the trial's DATA_DIR>",
  ]);
}
const source = await openDatabase({ kind: "pglite", dataDir: resolve(values.from) });
const target = await openDatabase(config.database);
try {
  await runMigrations(source);
  await runMigrations(target);
  const report = await copyAllData(source, target, { log: (line) => console.log(line) });
  const rows = report.tables.reduce((sum, t) => sum + t.rows, 0);
  console.log(`copied ${rows} rows in ${report.tables.length} tables into PostgreSQL`);
} finally {
  await source.close();
  await target.close();
}
