import express, { type Router } from "express";
import { OAUTH_SCOPES } from "@taskmesh/auth";

/** Where the protected-resource metadata of `resource` lives (RFC 9728 3.1: well-known path + the resource's path). */
export function resourceMetadataUrl(resource: URL): string {
  const path = resource.pathname === "/" ? "" : resource.pathname.replace(/\/$/, "");
  return new URL(`/.well-known/oauth-protected-resource${path}`, resource).href;
}

/**
 * The OAuth 2.0 Protected Resource Metadata (RFC 9728) of the MCP endpoint, at the
 * path-suffixed location and at the root (clients that only try the root find it too).
 */
export function metadataRoutes(options: { resource: URL; authorizationServer: string }): Router {
  const router = express.Router();
  const document = {
    resource: options.resource.href,
    authorization_servers: [options.authorizationServer],
    scopes_supported: [OAUTH_SCOPES.read, OAUTH_SCOPES.write],
    bearer_methods_supported: ["header"],
    resource_name: "taskmesh MCP server",
    resource_documentation: "https://taskmesh.dev/docs/mcp",
  };
  const path = new URL(resourceMetadataUrl(options.resource)).pathname;
  for (const route of new Set([path, "/.well-known/oauth-protected-resource"])) {
    router.get(route, (_req, res) => {
      // Browser-based MCP clients read it cross-origin; it holds nothing secret.
      res.set("Access-Control-Allow-Origin", "*").set("Cache-Control", "public, max-age=300").json(document);
    });
  }
  return router;
}
