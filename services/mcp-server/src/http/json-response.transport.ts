import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { isJsonContentType } from "@modelcontextprotocol/sdk/shared/mediaType.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  isInitializeRequest,
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  JSONRPCMessageSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
} from "@modelcontextprotocol/sdk/types.js";
import type { Request, Response } from "express";

/** The SDK transport's own limit on a JSON-RPC batch (webStandardStreamableHttp.js). */
const MAX_BATCH_SIZE = 100;

/**
 * One POST of Streamable HTTP in stateless, JSON-response mode: the body's JSON-RPC messages go
 * to the server, and the responses to its requests come back as one application/json body.
 * Behaves as the SDK's StreamableHTTPServerTransport does with `sessionIdGenerator: undefined`
 * and `enableJsonResponse: true` (same status codes, JSON-RPC error codes and messages; checked
 * side by side in test/mcp-server/json-response.transport.test.ts), without its detour
 * through web-standard Request/Response objects and a stream per request: measured here, that
 * detour was a third of the mcp-server's CPU per tool call (see README, MCP server).
 *
 * What the stateless mode has no use for is left out: no sessions, no SSE, no GET stream, no
 * resumability. Messages the server sends outside a response (notifications) have no channel
 * and are dropped, as the SDK transport drops them in this mode. Host/Origin and the body's
 * size and media type are checked before this (host-origin.guard.ts, jsonBody).
 */
export class JsonResponseTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  readonly #pending = new Map<RequestId, JSONRPCMessage | undefined>();
  #res: Response | undefined;
  #closed = false;

  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Answers `res` for the parsed body of `req`; `authInfo` reaches the handlers as extra.authInfo. */
  handle(req: Request, res: Response, body: unknown, authInfo?: AuthInfo): void {
    if (this.#res !== undefined) throw new Error("A JsonResponseTransport serves one request.");
    this.#res = res;
    const accept = req.headers.accept ?? "";
    if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
      this.#fail(
        406,
        -32000,
        "Not Acceptable: Client must accept both application/json and text/event-stream",
      );
      return;
    }
    if (!isJsonContentType(req.headers["content-type"] ?? null)) {
      this.#fail(415, -32000, "Unsupported Media Type: Content-Type must be application/json");
      return;
    }
    if (Array.isArray(body) && body.length > MAX_BATCH_SIZE) {
      this.#fail(400, -32600, `Invalid Request: Batch must not exceed ${MAX_BATCH_SIZE} messages`);
      return;
    }
    let messages: JSONRPCMessage[];
    try {
      messages = (Array.isArray(body) ? body : [body]).map((m) => JSONRPCMessageSchema.parse(m));
    } catch {
      this.#fail(400, -32700, "Parse error: Invalid JSON-RPC message");
      return;
    }
    const initializing = messages.some(isInitializeRequest);
    if (initializing && messages.length > 1) {
      this.#fail(400, -32600, "Invalid Request: Only one initialization request is allowed");
      return;
    }
    const version = req.headers["mcp-protocol-version"];
    if (!initializing && typeof version === "string" && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      this.#fail(
        400,
        -32000,
        `Bad Request: Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")})`,
      );
      return;
    }

    for (const message of messages) if (isJSONRPCRequest(message)) this.#pending.set(message.id, undefined);
    const extra: MessageExtraInfo = {
      ...(authInfo === undefined ? {} : { authInfo }),
      requestInfo: {
        headers: req.headers,
        url: new URL(req.originalUrl, `http://${req.headers.host ?? "localhost"}`),
      },
    };
    if (this.#pending.size === 0) {
      // Only notifications or responses: accepted, nothing to answer.
      res.status(202).end();
      for (const message of messages) this.onmessage?.(message, extra);
      return;
    }
    for (const message of messages) this.onmessage?.(message, extra);
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (!(isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message))) return Promise.resolve();
    const id = message.id;
    if (this.#closed || id === undefined || !this.#pending.has(id)) return Promise.resolve();
    this.#pending.set(id, message);
    const answers = [...this.#pending.values()];
    if (answers.some((a) => a === undefined)) return Promise.resolve();
    // One answer goes out as an object, several as an array (as the SDK transport does).
    this.#res?.status(200).json(answers.length === 1 ? answers[0] : answers);
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.onclose?.();
    return Promise.resolve();
  }

  #fail(status: number, code: number, message: string): void {
    this.onerror?.(new Error(message));
    this.#res?.status(status).json({ jsonrpc: "2.0", error: { code, message }, id: null });
  }
}
