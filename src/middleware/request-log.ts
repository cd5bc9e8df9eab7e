import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env.js";
import { httpRequestDuration, methodLabel } from "../observability/metrics.js";

/** One wide event per request: method, route, status, latency, principal; never headers or bodies. */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const logger = c.get("deps").logger.child({ requestId: c.get("requestId") });
    c.set("logger", logger);
    await next();
    const principal = c.var.principal;
    const status = c.res.status;
    const durationMs = performance.now() - started;
    // The matched pattern, never the path: ids and carriers' path secrets stay out of the label set.
    httpRequestDuration.observe(
      { method: methodLabel(c.req.method), route: c.req.routePath, status: String(status) },
      durationMs / 1000,
    );
    const event = {
      method: c.req.method,
      // A carrier's webhook URL carries its secret as a path segment: never log it.
      path: c.req.path.replace(/^(\/webhooks\/[^/]+)\/[^/]+/, "$1/[secret]"),
      route: c.req.routePath,
      status,
      durationMs: Math.round(durationMs * 100) / 100,
      principal: principal ? principal.kind : null,
      tenantId: principal?.kind === "tenant" ? principal.tenantId : undefined,
      outcome: status >= 500 ? "error" : status >= 400 ? "rejected" : "ok",
    };
    if (status >= 500) logger.error(event, "request");
    else logger.info(event, "request");
  };
}
