import type { Express, RequestHandler } from "express";
import { MethodNotAllowedError } from "../errors.ts";
import { guardedListenersOf, type ListenerName, listenerOf } from "./listener.ts";

/** The parts of the router's layers and routes (router 2, Express 5) read here. */
interface Layer {
  match(path: string): { path: string } | false;
  route?: { methods: Record<string, boolean | undefined>; stack: { handle: unknown }[] };
  handle: unknown;
}

const ANY = Symbol("any method");

/**
 * The methods the routes registered in `stack` answer for `path` on `listener`: ANY when one
 * of them takes every method (router.all), so the request's method cannot be the problem.
 * Routers mounted with `use` are walked with their mount path taken off, as the router does;
 * a route behind a listener guard that does not serve `listener` does not count.
 */
function methodsAt(
  stack: readonly Layer[],
  path: string,
  listener: ListenerName,
  into: Set<string>,
): typeof ANY | undefined {
  for (const layer of stack) {
    const matched = layer.match(path);
    if (!matched) continue;
    const { route } = layer;
    if (route) {
      const hidden = route.stack.some((h) => guardedListenersOf(h.handle)?.has(listener) === false);
      if (hidden) continue;
      if (route.methods._all) return ANY;
      for (const [method, on] of Object.entries(route.methods)) if (on) into.add(method.toUpperCase());
      if (route.methods.get) into.add("HEAD");
      continue;
    }
    const nested = (layer.handle as { stack?: unknown }).stack;
    if (Array.isArray(nested)) {
      const rest = path.slice(matched.path.length);
      const found = methodsAt(nested as Layer[], rest.startsWith("/") ? rest : `/${rest}`, listener, into);
      if (found === ANY) return ANY;
    }
  }
  return undefined;
}

/**
 * Mounted after a service's routes, before the not-found handler: a request no route took,
 * on a path that routes do exist for with other methods, is 405 problem+json with an Allow
 * header listing them (read from the routes Express registered, so it cannot go stale).
 * OPTIONS and HEAD pass through unchanged (CORS preflights, the router's own answers).
 */
export function methodNotAllowed(app: Express): RequestHandler {
  return (req, _res, next) => {
    if (req.method === "OPTIONS" || req.method === "HEAD") {
      next();
      return;
    }
    const allow = new Set<string>();
    const stack = (app.router as unknown as { stack: Layer[] }).stack;
    if (
      methodsAt(stack, req.path, listenerOf(req), allow) === ANY ||
      allow.size === 0 ||
      allow.has(req.method)
    ) {
      next();
      return;
    }
    next(new MethodNotAllowedError(req.method, req.path, [...allow].sort()));
  };
}
