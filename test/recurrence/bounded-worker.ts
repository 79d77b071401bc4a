import { Worker } from "node:worker_threads";
import type { EvaluationReply, EvaluationRequest } from "./evaluate.worker.ts";

/**
 * One worker thread that evaluates rules with a wall-clock limit per call: past the limit the
 * worker is terminated (a synchronous loop cannot be interrupted any other way) and the call
 * rejects; the next call starts a fresh worker.
 */
export function boundedEvaluator() {
  let worker: Worker | undefined;

  function current(): Worker {
    worker ??= new Worker(new URL("./evaluate.worker.ts", import.meta.url));
    return worker;
  }

  async function evaluate(request: EvaluationRequest, limitMs: number): Promise<EvaluationReply> {
    const w = current();
    return new Promise<EvaluationReply>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        w.off("message", onMessage);
        w.off("error", onError);
      };
      const onMessage = (reply: EvaluationReply) => {
        done();
        resolve(reply);
      };
      const onError = (err: Error) => {
        done();
        worker = undefined;
        reject(err);
      };
      const timer = setTimeout(() => {
        done();
        worker = undefined;
        void w.terminate();
        reject(new Error(`${request.fn}(${request.rule}) did not return within ${limitMs} ms`));
      }, limitMs);
      w.on("message", onMessage);
      w.on("error", onError);
      w.postMessage(request);
    });
  }

  return {
    evaluate,
    /** Starts the worker and loads the package, so the first case's limit measures the rule. */
    async warmUp(): Promise<void> {
      await evaluate(
        {
          fn: "validateRecurrence",
          rule: "FREQ=DAILY",
          dueAt: "2026-12-01T09:00:00Z",
          allDay: false,
          timeZone: "UTC",
        },
        30_000,
      );
    },
    async close(): Promise<void> {
      await worker?.terminate();
      worker = undefined;
    },
  };
}
