import { type Context, Hono } from "hono";
import { idOf, text } from "../../schemas/common.js";
import type { AppEnv } from "../app-env.js";
import { GatewayError } from "../errors.js";
import { webhooksRejected } from "../observability/metrics.js";
import { acceptWebhook } from "../sync/inbound.js";
import { serviceContext } from "./openapi.js";

const connectionIdFormat = idOf("connection");
const webhookSecretFormat = text().max(2000);

/**
 * Vendor webhooks: `/webhooks/:connectionId` for systems that sign or authenticate their calls, and
 * `/webhooks/:connectionId/:secret/...` for systems that cannot (the secret is a path segment, since vendors
 * append their own paths to a callback). Checked before anything else; answered 2xx only once stored.
 */
export function webhookRoutes() {
  const router = new Hono<AppEnv>();
  const handle = async (c: Context<AppEnv>, pathSecret?: string) => {
    const connectionId = c.req.param("connectionId") ?? "";
    // Checked before any query: a malformed id, secret or percent-encoding names no webhook URL.
    const unknown = () => {
      webhooksRejected.inc({ connector: "unknown", reason: "unknown_connection" });
      return new GatewayError("NOT_FOUND", "Unknown webhook URL.");
    };
    if (!connectionIdFormat.safeParse(connectionId).success) throw unknown();
    if (pathSecret !== undefined && !webhookSecretFormat.safeParse(pathSecret).success) throw unknown();
    const prefix = `/webhooks/${connectionId}${pathSecret !== undefined ? `/${pathSecret}` : ""}`;
    let subPath: string;
    try {
      subPath = decodeURIComponent(c.req.path.slice(prefix.length)).replace(/^\/+/, "");
    } catch {
      webhooksRejected.inc({ connector: "unknown", reason: "malformed" });
      throw new GatewayError("BAD_REQUEST", "The webhook path is not valid percent-encoding.");
    }
    if (!webhookSecretFormat.safeParse(subPath).success) throw unknown();
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
