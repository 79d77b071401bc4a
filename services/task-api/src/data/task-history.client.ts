import { BadRequestError, UnavailableError } from "@taskmesh/core";
import { historyPageSchema } from "@taskmesh/contracts";
import type { SidecarClient } from "@taskmesh/dapr";
import type { TaskHistoryEntry, TaskHistoryPage, TaskHistoryQuery, TaskHistory } from "../domain/ports.ts";

// The shapes are the domain's (domain/ports.ts); this module implements them.
export type { TaskHistoryEntry, TaskHistoryPage, TaskHistoryQuery, TaskHistory };

const RETRY_AFTER_SECONDS = 5;

function unavailable(cause: unknown): UnavailableError {
  return new UnavailableError(
    "The task history is briefly unavailable; try again in a few seconds.",
    RETRY_AFTER_SECONDS,
    {
      cause,
    },
  );
}

/**
 * Reads history from audit-log by service invocation through this app's sidecar
 * (`GET /internal/tasks/:taskId/history` on app `appId`). audit-log or its sidecar being
 * unreachable, refusing the call or failing is 503 + Retry-After; a cursor audit-log rejects
 * is 400.
 */
export function auditLogTaskHistory(sidecar: SidecarClient, appId = "audit-log"): TaskHistory {
  return {
    async read(query) {
      const params = new URLSearchParams({ userId: query.userId, limit: String(query.limit) });
      if (query.cursor !== undefined) params.set("cursor", query.cursor);
      let response: Response;
      try {
        response = await sidecar.invoke(appId, `internal/tasks/${encodeURIComponent(query.taskId)}/history`, {
          query: params.toString(),
        });
      } catch (error) {
        throw unavailable(error);
      }
      const text = await response.text();
      if (response.status === 400) {
        throw new BadRequestError("The cursor is not one this endpoint issued.", {
          issues: [{ pointer: "/cursor", in: "query", detail: "is invalid" }],
        });
      }
      if (!response.ok) {
        throw unavailable(new Error(`${appId} answered HTTP ${response.status}: ${text.slice(0, 500)}`));
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw new Error(`${appId} answered with something other than JSON`, { cause: error });
      }
      // audit-log's answer, parsed at the boundary like any other input.
      return historyPageSchema.parse(body);
    },
  };
}
