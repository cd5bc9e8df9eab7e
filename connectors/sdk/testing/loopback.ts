import type { Server } from "node:http";
import { serve } from "@hono/node-server";

/**
 * Real HTTP servers on loopback ports for tests (a simulator, a webhook receiver): `listen` answers the base
 * URL, `closeAll` (in an `afterEach`) drops open connections and closes every server started since.
 */
export function loopbackServers() {
  const servers: Server[] = [];
  return {
    listen(fetch: (request: Request) => Response | Promise<Response>): Promise<string> {
      return new Promise((resolve) => {
        const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info) =>
          resolve(`http://127.0.0.1:${info.port}`),
        );
        servers.push(server as Server);
      });
    },
    async closeAll(): Promise<void> {
      for (const server of servers.splice(0)) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  };
}
