import { runDemo } from "./index.js";

// `npm run demo`: the narrative, then the gateway and both simulators keep serving until Ctrl-C.
// `--exit` or DEMO_EXIT=1: exit after the narrative, 0 when every step passed, 1 otherwise (for CI).
const exitAfterNarrative = process.argv.includes("--exit") || process.env.DEMO_EXIT === "1";
const portText = process.env.PORT;
const port = portText === undefined || portText === "" ? undefined : Number(portText);
if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65_535)) {
  process.stderr.write(`demo: PORT must be a port number (0-65535), not ${JSON.stringify(portText)}\n`);
  process.exit(2);
}

try {
  const demo = await runDemo({ port, keepRunning: !exitAfterNarrative });
  if (exitAfterNarrative) process.exit(demo.summary.ok ? 0 : 1);
  process.stdout.write("\nServing until Ctrl-C.\n");
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("\nStopping the worker, the servers and the database...\n");
    await demo.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
} catch (error) {
  process.stderr.write(`demo failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
}
