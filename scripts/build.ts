/**
 * `npm run build`: type-checks the production graph and compiles it to plain JavaScript in dist/, laid out
 * like the sources (dist/src, dist/schemas, dist/connectors) so every `new URL(..., import.meta.url)` finds
 * its asset: the migrations (dist/drizzle), the plan presets (dist/src/sla/plans.yaml), the console's
 * stylesheet (dist/src/console/console.css) and the one docs-UI file /docs serves (dist/assets). tsc starts
 * from the three entry points, so tests, simulators, the connector template, the demo and the contract
 * tooling are not compiled (test/build.test.ts checks).
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");
const require = createRequire(import.meta.url);

rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

cpSync(join(root, "drizzle"), join(dist, "drizzle"), { recursive: true });
cpSync(join(root, "src/sla/plans.yaml"), join(dist, "src/sla/plans.yaml"));
// The console's stylesheet, read beside its module; htmx is served from the htmx.org dependency.
cpSync(join(root, "src/console/console.css"), join(dist, "src/console/console.css"));
// The docs UI: only Scalar's standalone bundle (3.5 MB, MIT, its banner names the package and version),
// not @scalar/api-reference's ~100 MB of dependencies, which is a dev dependency for that reason.
mkdirSync(join(dist, "assets"), { recursive: true });
cpSync(
  require.resolve("@scalar/api-reference/browser/standalone.js"),
  join(dist, "assets/scalar-standalone.js"),
);
process.stdout.write(`built ${dist}\n`);
