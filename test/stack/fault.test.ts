/**
 * A short fault run (the CI-sized variant of `npm run fault`, scripts/fault): the real stack
 * with its sidecars and Kafka on a PostgreSQL of the run's own, a writer at 15 writes/s
 * through task-api's REST API, and one after another: kill -9 audit-log, kill -9 its daprd,
 * kill -9 recurring-tasks, each started again like a supervisor would. Afterwards every
 * acknowledged change has exactly one history entry, every completion of a recurring task
 * exactly one next occurrence, and the outbox is empty. The broker and Postgres restarts take
 * longer to recover from (Dapr's circuit breakers, the relay's backoff) and run in the full
 * `npm run fault`.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, inject, it } from "vitest";
import { runFaultRun } from "../../scripts/fault/fault-run.ts";
import { formatReport } from "../../scripts/fault/report.ts";
import { buildOnce } from "../support/stack.ts";

const root = path.resolve(import.meta.dirname, "../..");
const present = (name: string): boolean => existsSync(path.join(root, "services", name, "src/main.ts"));

describe.skipIf(!["task-api", "audit-log", "recurring-tasks"].every(present))(
  "fault run (short): consumers killed while a client writes",
  () => {
    it("when audit-log, its daprd and recurring-tasks are killed with -9 mid-stream, then no acknowledged change is lost or applied twice and the outbox drains", async () => {
      const lines: string[] = [];
      // In the run's directory (removed after the run); its tail is printed when the run fails.
      const logFile = path.join(inject("stackRunDir"), `fault-${Date.now()}.log`);
      const result = await runFaultRun({
        apps: ["task-api", "audit-log", "recurring-tasks"],
        faults: ["kill-consumer", "kill-consumer-sidecar", "kill-recurring-tasks"],
        rate: 15,
        users: 2,
        warmupMs: 5_000,
        gapMs: 3_000,
        supervisorDelayMs: 1_000,
        recoveryTimeoutMs: 90_000,
        drainTimeoutMs: 90_000,
        build: buildOnce,
        logFile,
        log: (line) => lines.push(line),
      });
      const report = formatReport(result);
      console.log(report);
      if (!result.ok || result.unexpectedExits.length > 0) {
        console.log(lines.join("\n"));
        console.log(readFileSync(logFile, "utf8").split("\n").slice(-300).join("\n"));
      }

      const v = result.verification;
      expect(v.acknowledged).toBeGreaterThan(100);
      expect(result.faults.map((f) => f.error)).toEqual([undefined, undefined, undefined]);
      expect(result.drained).toBe(true);
      expect(result.lost).toBe(0);
      expect(v.lostAcknowledged).toEqual([]);
      expect(result.appliedTwice).toBe(0);
      expect(v.sequenceGaps).toEqual([]);
      expect(v.occurrencesUnexpected).toEqual([]);
      expect(v.outboxLeft).toBe(0);
      expect(v.delivered).toBe(v.produced);
      expect(v.occurrencesExpected).toBeGreaterThan(0);
      // Nothing died that the run did not kill.
      expect(result.unexpectedExits).toEqual([]);
    }, 300_000);
  },
);
