import http, { type IncomingMessage, type Server } from "node:http";
import type { Socket } from "node:net";
import type { Express, RequestHandler } from "express";
import { notFoundHandler } from "./problem.ts";

/**
 * Which socket a request arrived on. One Express app serves all three; the routes decide
 * per request with `onlyOn`:
 * - `public`: what the Service port and the Ingress expose (clients on the internet).
 * - `sidecar`: the Dapr app port, bound to 127.0.0.1, that only this pod's daprd reaches:
 *   event deliveries, cron ticks, /internal/*, /dapr/*, and service invocation with the
 *   trusted-caller identity.
 * - `operations`: /healthz, /readyz and /metrics for kubelet probes and Prometheus, on a
 *   port neither the Service nor the Ingress exposes.
 */
export type ListenerName = "public" | "sidecar" | "operations";

const listenerBySocket = new WeakMap<Socket, ListenerName>();

/**
 * The listener a request came in on. A socket no taskmesh listener accepted (a bare
 * `app.listen`, a test's supertest server) counts as public: the least trusted.
 */
export function listenerOf(req: IncomingMessage): ListenerName {
  return listenerBySocket.get(req.socket) ?? "public";
}

/**
 * An HTTP server for `app` whose connections are recorded as `name` (see listenerOf).
 * Not listening yet.
 */
export function createListenerServer(app: Express, name: ListenerName): Server {
  const server = http.createServer(app);
  server.on("connection", (socket: Socket) => {
    listenerBySocket.set(socket, name);
  });
  return server;
}

/** createListenerServer + listen; resolves once it accepts connections. */
export function listenOn(app: Express, name: ListenerName, port: number, host: string): Promise<Server> {
  const server = createListenerServer(app, name);
  return new Promise<Server>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

const guardedListeners = new WeakMap<object, ReadonlySet<ListenerName>>();

/**
 * Records that `guard` lets requests through on `names` only and answers like an unknown route
 * elsewhere, so that the 405 answer (methodNotAllowed) does not name a route's methods on a
 * listener where the route does not exist.
 */
export function markListenerGuard<H extends RequestHandler>(guard: H, names: Iterable<ListenerName>): H {
  guardedListeners.set(guard, new Set(names));
  return guard;
}

/** The listeners a guard marked by markListenerGuard serves on; undefined for any other handler. */
export function guardedListenersOf(handler: unknown): ReadonlySet<ListenerName> | undefined {
  return typeof handler === "function" ? guardedListeners.get(handler) : undefined;
}

/**
 * Serves what follows only on the given listeners; elsewhere the request is answered exactly
 * like an unknown route (404), so the public port does not even reveal that the route exists.
 */
export function onlyOn(...names: ListenerName[]): RequestHandler {
  const allowed = new Set(names);
  return markListenerGuard((req, res, next) => {
    if (allowed.has(listenerOf(req))) {
      next();
      return;
    }
    notFoundHandler(req, res, next);
  }, names);
}

/** The port a listening server was bound to. */
export function boundPort(server: Server): number {
  const address = server.address();
  return typeof address === "object" && address ? address.port : 0;
}
