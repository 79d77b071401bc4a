import { describe, expect, it } from "vitest";
import { loadMcpServerConfig } from "../../services/mcp-server/src/config.ts";

describe("mcp-server configuration", () => {
  it("when only the required values are set, then the documented defaults apply", () => {
    expect(loadMcpServerConfig({ APP_API_TOKEN: "t", AUTH_ISSUER: "http://localhost:3000" })).toMatchObject({
      PORT: 3001,
      HOST: "0.0.0.0",
      DAPR_HTTP_PORT: 3500,
      TASK_API_APP_ID: "task-api",
      MCP_RESOURCE_URL: "http://localhost:3001/mcp",
      ALLOWED_HOSTS: [],
      ALLOWED_ORIGINS: [],
      TOOL_CALLS_PER_MINUTE: 300,
      TOOL_CALL_BURST: 60,
      MAX_BODY_BYTES: 262_144,
      TOKEN_CACHE_SECONDS: 30,
    });
  });

  it("when lists and numbers are given, then they are parsed; bad values fail fast", () => {
    expect(
      loadMcpServerConfig({
        APP_API_TOKEN: "t",
        AUTH_ISSUER: "https://tasks.example.com",
        ALLOWED_HOSTS: "mcp.example.com, localhost",
        ALLOWED_ORIGINS: "https://claude.ai",
        TOOL_CALLS_PER_MINUTE: "120",
      }),
    ).toMatchObject({
      ALLOWED_HOSTS: ["mcp.example.com", "localhost"],
      ALLOWED_ORIGINS: ["https://claude.ai"],
      TOOL_CALLS_PER_MINUTE: 120,
    });
    expect(() => loadMcpServerConfig({ APP_API_TOKEN: "t" })).toThrow(/AUTH_ISSUER/);
    expect(() => loadMcpServerConfig({ AUTH_ISSUER: "http://x" })).toThrow(/APP_API_TOKEN/);
    expect(() =>
      loadMcpServerConfig({ APP_API_TOKEN: "t", AUTH_ISSUER: "http://x", MAX_BODY_BYTES: "10" }),
    ).toThrow(/MAX_BODY_BYTES/);
  });
});
