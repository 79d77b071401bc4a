import express from "express";
import supertest from "supertest";
import { describe, expect, it } from "vitest";
import { hostOriginGuard } from "../../services/mcp-server/src/http/host-origin.guard.ts";

function app(allowedHosts: string[], allowedOrigins: string[]) {
  const a = express();
  a.use(hostOriginGuard({ allowedHosts, allowedOrigins }));
  a.get("/", (_req, res) => res.send("ok"));
  return supertest(a);
}

describe("Host/Origin guard (DNS-rebinding protection)", () => {
  const guarded = app(
    ["mcp.example.com:443", "localhost", "127.0.0.1:3001"],
    ["https://app.example.com", "http://localhost/"],
  );

  it("when the Host is allowed exactly or by name on any port, then the request passes", async () => {
    await guarded.get("/").set("Host", "mcp.example.com:443").expect(200, "ok");
    await guarded.get("/").set("Host", "LOCALHOST:9999").expect(200);
    await guarded.get("/").set("Host", "localhost").expect(200);
    await guarded.get("/").set("Host", "127.0.0.1:3001").expect(200);
  });

  it("when the Host is another name, another port of an exact entry, or malformed, then 403 problem+json", async () => {
    for (const host of [
      "evil.example",
      "mcp.example.com:8443",
      "127.0.0.1:3002",
      "mcp.example.com",
      "[bad",
    ]) {
      const res = await guarded.get("/").set("Host", host).expect(403);
      expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
      expect((res.body as { detail: string }).detail).toMatch(/Invalid Host header/);
    }
  });

  it("when an Origin is sent, then only allowed origins pass (an entry without port allows any port)", async () => {
    const host = { Host: "localhost:3001" };
    await guarded.get("/").set(host).set("Origin", "https://app.example.com").expect(200);
    await guarded.get("/").set(host).set("Origin", "https://APP.example.com/").expect(200);
    await guarded.get("/").set(host).set("Origin", "http://localhost:6274").expect(200);
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
    await guarded.get("/").set("Host", "localhost").expect(200);
  });
});
