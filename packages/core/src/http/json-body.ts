import type { RequestHandler } from "express";
import express from "express";
import { sendProblem } from "./problem.ts";

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  const length = headers["content-length"];
  return headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * JSON bodies only (application/json or any +json type), at most `limit` bytes, for the
 * methods that carry one (POST, PUT, PATCH); other methods skip body handling entirely.
 * A body in another media type is 415; a request without a body passes (e.g. POST .../complete).
 */
export function jsonBody(options: { limit: string }): RequestHandler {
  // express.json is typed for node:http requests; in an Express app it receives Express's.
  const parse: RequestHandler = express.json({
    limit: options.limit,
    strict: true,
    type: ["application/json", "application/*+json"],
  });
  return (req, res, next) => {
    if (!BODY_METHODS.has(req.method)) {
      next();
      return;
    }
    if (hasBody(req.headers) && !req.is(["application/json", "application/*+json"])) {
      sendProblem(res, "unsupported-media-type", "Send the request body as application/json.", {
        extensions: { accept: ["application/json", "application/merge-patch+json"] },
      });
      return;
    }
    parse(req, res, next);
  };
}
