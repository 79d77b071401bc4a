import { createHmac, timingSafeEqual } from "node:crypto";
import http, { type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  receivedAt: number;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Answers each request; defaults to 204. Return "hang" to never answer. */
  respond: (request: ReceivedRequest, index: number) => number | "hang";
  close(): Promise<void>;
}

/** A real HTTP server standing in for a user's webhook endpoint. */
export async function startReceiver(respond: Receiver["respond"] = () => 204): Promise<Receiver> {
  const hanging = new Set<http.ServerResponse>();
  const receiver: Receiver = {
    url: "",
    port: 0,
    requests: [],
    respond,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const request: ReceivedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        receivedAt: Date.now(),
      };
      const index = receiver.requests.push(request) - 1;
      const status = receiver.respond(request, index);
      if (status === "hang") {
        hanging.add(res);
        return;
      }
      res.statusCode = status;
      res.end(status === 204 ? undefined : "receiver says hi");
    });
  });
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      resolve();
    }),
  );
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}/hooks/taskmesh`;
  return receiver;
}

/**
 * An independent Standard Webhooks verifier (spec 1.0, "Verifying signatures"), node:crypto
 * only: strip whsec_, base64-decode the key, HMAC-SHA256 over `${id}.${timestamp}.${body}`,
 * compare each `v1,<base64>` of the header in constant time.
 */
export function verifyStandardWebhook(
  secret: string,
  id: string,
  timestamp: string,
  body: string,
  header: string,
): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest();
  return header.split(" ").some((entry) => {
    const [version, signature] = entry.split(",");
    if (version !== "v1" || signature === undefined) return false;
    const given = Buffer.from(signature, "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
