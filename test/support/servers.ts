import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Closes the servers; with `dropConnections`, keep-alive connections are cut rather than awaited. */
export async function closeServers(
  servers: Server[],
  options: { dropConnections?: boolean } = {},
): Promise<void> {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => {
            resolve();
          });
          if (options.dropConnections) s.closeAllConnections();
        }),
    ),
  );
}

/**
 * An app that only answers its sidecar's probes (/healthz, /dapr/subscribe with no
 * subscriptions), on 127.0.0.1 and a free port: it stands in for an app whose sidecar alone
 * matters to a test, since daprd waits for its app port before it is ready.
 */
export async function startBareApp(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const subscribe = req.url === "/dapr/subscribe";
    res.writeHead(subscribe || req.url === "/healthz" ? 200 : 404, { "content-type": "application/json" });
    res.end(subscribe ? "[]" : "{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}
