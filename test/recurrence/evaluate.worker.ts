/**
 * Runs one evaluation of @taskmesh/recurrence off the test's thread, so that a rule that
 * never returns (as rrule 2.8.1's after() did) fails its case when the test terminates the
 * worker, instead of hanging the whole run. Loaded by Node directly (type stripping).
 */
import { parentPort } from "node:worker_threads";
import * as recurrence from "../../packages/recurrence/src/index.ts";

export interface EvaluationRequest {
  fn: "validateRecurrence" | "nextOccurrence";
  rule: string;
  dueAt: string;
  allDay: boolean;
  timeZone: string;
}

export interface EvaluationReply {
  /** Milliseconds the call itself took, inside the worker. */
  ms: number;
  result: unknown;
}

parentPort?.on("message", (request: EvaluationRequest) => {
  const dueAt = new Date(request.dueAt);
  const started = performance.now();
  const result =
    request.fn === "validateRecurrence"
      ? recurrence.validateRecurrence(request.rule, {
          dueAt,
          allDay: request.allDay,
          timeZone: request.timeZone,
        })
      : recurrence.nextOccurrence(
          { dueAt, allDay: request.allDay, recurrence: request.rule, remindAt: null },
          request.timeZone,
        );
  const ms = performance.now() - started;
  parentPort?.postMessage({
    ms,
    result: JSON.parse(JSON.stringify(result)) as unknown,
  } satisfies EvaluationReply);
});
