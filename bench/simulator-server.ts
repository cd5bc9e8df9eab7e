import { serve } from "@hono/node-server";
import { createServiceNowSimulator } from "../connectors/servicenow/simulator.js";

/** The ServiceNow simulator in its own process, so its CPU does not count against the dispatcher. */
const sim = createServiceNowSimulator({});
serve({ fetch: sim.app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
  sim.setInstanceUrl(`http://127.0.0.1:${info.port}`);
  process.stdout.write(`listening ${info.port}\n`);
});
