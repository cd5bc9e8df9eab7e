import { serve } from "@hono/node-server";
import { Hono } from "hono";

/** The ingest baseline: a Hono handler that reads and parses the body and answers 202, storing nothing. */
const app = new Hono();
app.post("/webhooks/:id", async (c) => {
  const body = (await c.req.json()) as { sys_id?: string };
  return c.json({ accepted: body.sys_id ? 1 : 0, duplicates: 0 }, 202);
});
const port = Number(process.env.PORT ?? 0);
serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, (info) => {
  process.stdout.write(`listening ${info.port}\n`);
});
