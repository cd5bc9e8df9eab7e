import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env.js";
import { tokenMatches } from "../auth/api-keys.js";
import { defaultMetricsSettings, type MetricsSettings } from "../config.js";
import type { Db } from "../db/client.js";
import { GatewayError } from "../errors.js";
import { bearerToken } from "../middleware/auth.js";
import { metricsContentType, renderMetrics } from "../observability/metrics.js";

function exposition(c: Context, db: Db, settings: MetricsSettings) {
  return renderMetrics({ db, tenantLabels: settings.tenantLabels, cacheMs: settings.cacheMs }).then((text) =>
    c.body(text, 200, { "content-type": metricsContentType, "cache-control": "no-store" }),
  );
}

/** `GET /metrics` on the API port: the Prometheus text format, for the metrics token or the admin token. */
export function metricsRoutes() {
  const router = new Hono<AppEnv>();
  router.get("/metrics", async (c) => {
    const { config, database } = c.get("deps");
    const settings = config.metrics ?? defaultMetricsSettings;
    const presented = bearerToken(c.req.header("authorization"));
    if (presented === null)
      throw new GatewayError("UNAUTHORIZED", "Send Authorization: Bearer <metrics token or admin token>.");
    // Both compared every time, so the timing does not tell which token a guess came close to.
    const isAdmin = tokenMatches(presented, config.adminToken);
    const isMetrics = settings.token !== null && tokenMatches(presented, settings.token);
    if (!isAdmin && !isMetrics) throw new GatewayError("FORBIDDEN", "This token may not read metrics.");
    return exposition(c, database.db, settings);
  });
  return router;
}

/**
 * `METRICS_PORT`: a listener serving only `GET /metrics`, without auth, for in-cluster scraping (and for
 * worker processes, which serve no API). Keep the port off any public network.
 */
export function startMetricsListener(
  options: { db: Db; settings: MetricsSettings; host: string },
  onListening?: (port: number) => void,
): Server {
  const app = new Hono();
  app.get("/metrics", (c) => exposition(c, options.db, options.settings));
  app.notFound((c) => c.text("Not found: this port serves GET /metrics only.\n", 404));
  const server = createServer(getRequestListener(app.fetch));
  server.listen(options.settings.port ?? 0, options.host, () =>
    onListening?.((server.address() as AddressInfo).port),
  );
  return server;
}
