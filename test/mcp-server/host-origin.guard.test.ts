import express from "express";
import supertest from "supertest";
import { describe, expect, it } from "vitest";
import { loadMcpServerConfig } from "../../services/mcp-server/src/config.ts";
import { hostOriginGuard, isLoopback } from "../../services/mcp-server/src/http/host-origin.guard.ts";

function app(allowedHosts: string[], allowedOrigins: string[]) {
  const a = express();
  a.use(hostOriginGuard({ allowedHosts, allowedOrigins }));
  a.get("/", (_req, res) => res.send("ok"));
  return supertest(a);
}

describe("Host/Origin guard (DNS-rebinding protection)", () => {
  const guarded = app(
    ["mcp.example.com:443", "mcp.internal"],
    ["https://app.example.com", "http://localhost/"],
  );

  it("when the Host is allowed exactly or by name on any port, then the request passes", async () => {
    await guarded.get("/").set("Host", "mcp.example.com:443").expect(200, "ok");
    await guarded.get("/").set("Host", "MCP.internal:9999").expect(200);
    await guarded.get("/").set("Host", "mcp.internal").expect(200);
  });

  it("when the Host is another name, another port of an exact entry, or malformed, then 403 problem+json", async () => {
    for (const host of [
      "evil.example",
      "mcp.example.com:8443",
      "mcp.example.com",
      "[bad",
      "evil.example@mcp.internal",
      // No allowed host is a loopback name here (production): loopback names are refused too.
      "localhost:3001",
      "127.0.0.1",
      "[::1]:3001",
    ]) {
      const res = await guarded.get("/").set("Host", host).expect(403);
      expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
      expect((res.body as { detail: string }).detail).toMatch(/Invalid Host header/);
    }
  });

  it("when an Origin is sent, then only allowed origins pass (an entry without port allows any port)", async () => {
    const host = { Host: "mcp.internal:3001" };
    await guarded.get("/").set(host).set("Origin", "https://app.example.com").expect(200);
    await guarded.get("/").set(host).set("Origin", "https://APP.example.com/").expect(200);
    await guarded.get("/").set(host).set("Origin", "http://localhost:6274").expect(200);
    // "http://localhost/" names a local client on any port, under any loopback name.
    await guarded.get("/").set(host).set("Origin", "http://127.0.0.1:6274").expect(200);
    await guarded.get("/").set(host).set("Origin", "http://[::1]:6274").expect(200);
    await guarded.get("/").set(host).set("Origin", "https://app.example.com:8443").expect(200);
    for (const origin of [
      "https://evil.example",
      "http://app.example.com",
      "https://app.example.com.evil.example",
      "null",
      "%%",
    ]) {
      const res = await guarded.get("/").set(host).set("Origin", origin).expect(403);
      expect((res.body as { detail: string }).detail).toMatch(/Invalid Origin header/);
    }
  });

  it("when no Origin is sent (not a browser), then the Host decides alone", async () => {
    await guarded.get("/").set("Host", "mcp.internal").expect(200);
  });
});

describe("Host guard on loopback (development)", () => {
  // The development default: MCP_RESOURCE_URL http://localhost:3001/mcp, its host allowed.
  const resource = new URL(
    loadMcpServerConfig({ APP_API_TOKEN: "t", AUTH_ISSUER: "http://localhost:3000" }).MCP_RESOURCE_URL,
  );
  const guarded = app([resource.host], [resource.origin]);

  it("when the resource URL is on localhost, then every loopback name passes on any port", async () => {
    for (const host of [
      "localhost:3001",
      "localhost",
      "LOCALHOST:5173",
      "127.0.0.1",
      "127.0.0.1:3001",
      "127.0.0.1:9999",
      "[::1]",
      "[::1]:3001",
      "[0:0:0:0:0:0:0:1]:3001",
    ]) {
      await guarded.get("/").set("Host", host).expect(200, "ok");
    }
  });

  it("when the Host is any other name, then 403 still (DNS-rebinding protection stays)", async () => {
    for (const host of [
      "evil.example",
      "evil.example:3001",
      "localhost.evil.example",
      "127.0.0.1.evil.example:3001",
      "evil.example@127.0.0.1",
      "0.0.0.0:3001",
      "[::2]:3001",
    ]) {
      const res = await guarded.get("/").set("Host", host).expect(403);
      expect((res.body as { detail: string }).detail, host).toMatch(/Invalid Host header/);
    }
  });

  it("when the allowed origin is a loopback one, then the same scheme and port on any loopback name passes", async () => {
    const host = { Host: "localhost:3001" };
    for (const origin of ["http://localhost:3001", "http://127.0.0.1:3001", "http://[::1]:3001"]) {
      await guarded.get("/").set(host).set("Origin", origin).expect(200);
    }
    for (const origin of ["http://127.0.0.1:6274", "https://127.0.0.1:3001", "http://evil.example:3001"]) {
      const res = await guarded.get("/").set(host).set("Origin", origin).expect(403);
      expect((res.body as { detail: string }).detail, origin).toMatch(/Invalid Origin header/);
    }
  });

  it("when a listen address or entry is checked, then only localhost, 127.0.0.0/8 and ::1 are loopback", () => {
    for (const host of ["localhost", "127.0.0.1", "127.1.2.3:80", "::1", "[::1]", "[::1]:3001"]) {
      expect(isLoopback(host), host).toBe(true);
    }
    for (const host of ["0.0.0.0", "::", "mcp.example.com", "localhost.evil.example", "128.0.0.1", ""]) {
      expect(isLoopback(host), host).toBe(false);
    }
  });
});
