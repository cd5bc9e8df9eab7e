import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env.js";
import { GatewayError } from "../errors.js";
import { acceptWebhook } from "../sync/inbound.js";
import { serviceContext } from "./openapi.js";

/**
 * Vendor webhooks: `/webhooks/:connectionId` for systems that sign or authenticate their calls, and
 * `/webhooks/:connectionId/:secret/...` for systems that cannot (the secret is a path segment, since vendors
 * append their own paths to a callback). Checked before anything else; answered 2xx only once stored.
 */
export function webhookRoutes() {
  const router = new Hono<AppEnv>();
  const handle = async (c: Context<AppEnv>, pathSecret?: string) => {
    const connectionId = c.req.param("connectionId") ?? "";
    const prefix = `/webhooks/${connectionId}${pathSecret !== undefined ? `/${pathSecret}` : ""}`;
    const subPath = decodeURIComponent(c.req.path.slice(prefix.length)).replace(/^\/+/, "");
    const rawBody = new Uint8Array(await c.req.arrayBuffer());
    const ctx = serviceContext(c);
    const result = await acceptWebhook(ctx.db, ctx.engine, {
      connectionId,
      ...(pathSecret !== undefined ? { pathSecret } : {}),
      subPath,
      headers: c.req.raw.headers,
      rawBody,
      now: ctx.now(),
    });
    if (result.status === 404) throw new GatewayError("NOT_FOUND", "Unknown webhook URL.");
    if (result.status === 401) throw new GatewayError("UNAUTHORIZED", String(result.body["detail"]));
    if (result.status === 400) throw new GatewayError("BAD_REQUEST", String(result.body["detail"]));
    return c.json(result.body, 202);
  };
  router.post("/webhooks/:connectionId", (c) => handle(c));
  router.post("/webhooks/:connectionId/:secret", (c) => handle(c, c.req.param("secret")));
  router.post("/webhooks/:connectionId/:secret/*", (c) => handle(c, c.req.param("secret")));
  return router;
}
