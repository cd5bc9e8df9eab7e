import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { Scalar } from "@scalar/hono-api-reference";
import { Hono } from "hono";
import type { AppEnv } from "../app-env.js";
import { ping } from "../db/client.js";
import { pendingMigrationCount } from "../db/migrate.js";
import { problemCodes } from "../errors.js";
import { jobBacklog } from "../jobs/queue.js";
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from "../lib/problem.js";

const require = createRequire(import.meta.url);
let scalarBundle: Promise<string> | null = null;
/** `npm run build` copies Scalar's standalone bundle here (dist/assets); from the sources it is in node_modules. */
const builtScalarBundle = new URL("../../assets/scalar-standalone.js", import.meta.url);

function loadScalarBundle(): Promise<string> {
  return readFile(builtScalarBundle, "utf8").catch(() =>
    readFile(require.resolve("@scalar/api-reference/browser/standalone.js"), "utf8"),
  );
}

/** Health, readiness and the offline API docs (the docs UI is served from node_modules, no CDN). */
export function systemRoutes() {
  const router = new Hono<AppEnv>();
  router.get("/healthz", (c) => c.json({ status: "ok" }));
  // Readiness is this process's own state only: its database reachable and migrated, not shutting down,
  // and its own worker loops turning when it runs them. Backlog, dead letters or a vendor being down never
  // fail it (taking API pods out of service would not help with any of those).
  router.get("/readyz", async (c) => {
    const { database, processState } = c.get("deps");
    const state = processState?.() ?? { shuttingDown: false, workerLoops: null };
    if (state.shuttingDown) {
      c.header("retry-after", String(UNAVAILABLE_RETRY_AFTER_SECONDS));
      return c.json({ status: "unavailable", reason: "shutting down" }, 503);
    }
    let pending: number;
    try {
      await ping(database.db);
      pending = await pendingMigrationCount(database);
    } catch {
      c.header("retry-after", String(UNAVAILABLE_RETRY_AFTER_SECONDS));
      return c.json({ status: "unavailable", database: "unreachable" }, 503);
    }
    if (pending > 0)
      return c.json({ status: "unavailable", database: "ok", pendingMigrations: pending }, 503);
    const worker = state.workerLoops ? { loops: state.workerLoops } : null;
    if (state.workerLoops?.some((loop) => !loop.alive))
      return c.json({ status: "unavailable", database: "ok", engine: database.kind, worker }, 503);
    // The backlog is information, never a reason to be unready: one dead vendor must not take API pods out.
    const backlog = await jobBacklog(database.db).catch(() => null);
    return c.json({ status: "ready", database: "ok", engine: database.kind, worker, backlog });
  });
  router.get("/docs/assets/scalar.js", async (c) => {
    scalarBundle ??= loadScalarBundle();
    c.header("content-type", "text/javascript; charset=utf-8");
    c.header("cache-control", "public, max-age=86400");
    return c.body(await scalarBundle);
  });
  router.get(
    "/docs",
    Scalar({ url: "/openapi.json", cdn: "/docs/assets/scalar.js", pageTitle: "ticket-sync-gateway API" }),
  );
  router.get("/problems/:code", (c) => {
    const code = c.req.param("code").toUpperCase().replaceAll("-", "_") as keyof typeof problemCodes;
    const known = problemCodes[code];
    if (!known) return c.json({ error: "unknown problem type" }, 404);
    return c.json({ type: c.req.path, title: known.title, status: known.status });
  });
  return router;
}
