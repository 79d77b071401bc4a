import type { Server } from "node:http";

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
