/** The fault run's figures as plain-text tables (what `npm run fault` prints). */
import type { FaultRunResult } from "./fault-run.ts";
import { isSuppressedDuplicate } from "./metrics.ts";

function table(rows: readonly (readonly string[])[], header?: readonly string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths = all.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  const out = all.map(line);
  if (header) out.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  return out.join("\n");
}

const seconds = (ms: number | undefined): string =>
  ms === undefined ? "never" : `${(ms / 1000).toFixed(1)} s`;
const must0 = (n: number): string => (n === 0 ? "0  ok" : `${n}  FAIL (must be 0)`);

export function formatReport(r: FaultRunResult): string {
  const v = r.verification;
  const w = r.writer;
  const sum = (filter: (key: string) => boolean, from: Record<string, number>): number =>
    Object.entries(from)
      .filter(([key]) => filter(key))
      .reduce((a, [, n]) => a + n, 0);
  const dupLogged = (app: string): number => sum((k) => k.startsWith(`${app}:`), r.duplicatesLogged);
  const dupMetric = (app: string): number =>
    sum((k) => k.startsWith(`${app} `) && isSuppressedDuplicate(k), r.counters);
  const failures = Object.entries(w.failures)
    .map(([status, n]) => `${status === "0" ? "no answer" : status}: ${n}`)
    .join(", ");

  const figures: string[][] = [
    ["acknowledged changes (2xx)", String(v.acknowledged)],
    ["  by the writer", String(w.acknowledged)],
    ["  by recovery probes", String(v.acknowledged - w.acknowledged)],
    ["produced (outbox events written)", String(v.produced)],
    ["  of acknowledged changes", String(v.producedAcknowledged)],
    ["  by services (recurring-tasks' occurrences)", String(v.producedByServices)],
    ["  of changes committed without an answer", String(v.producedUnanswered)],
    ["delivered (distinct event ids in audit_entries)", String(v.delivered)],
    ["applied (entries matching their event)", String(v.applied)],
    [
      "duplicates suppressed, audit-log (logs / metric)",
      `${dupLogged("audit-log")} / ${dupMetric("audit-log")}`,
    ],
  ];
  if (r.apps.includes("recurring-tasks")) {
    figures.push(
      [
        "duplicates suppressed, recurring-tasks (logs / metric)",
        `${dupLogged("recurring-tasks")} / ${dupMetric("recurring-tasks")}`,
      ],
      ["occurrences expected / created", `${v.occurrencesExpected} / ${v.occurrencesCreated}`],
      ["  of completions the client got no answer for", String(v.occurrencesOfUnansweredCompletions)],
      ["occurrences no completion asked for", must0(v.occurrencesUnexpected.length)],
    );
  }
  if (r.apps.includes("notifications"))
    figures.push([
      "duplicates suppressed, notifications (logs / metric)",
      `${dupLogged("notifications")} / ${dupMetric("notifications")}`,
    ]);
  figures.push(
    ["lost", must0(r.lost)],
    ["  outbox events with no history entry", String(v.lostEvents.length)],
    ["  acknowledged changes with no outbox event", String(v.acknowledgedWithoutEvent.length)],
    ["  acknowledged changes with no history entry", must0(v.lostAcknowledged.length)],
    ["  occurrences never created", String(v.occurrencesMissing.length)],
    ["applied twice", must0(r.appliedTwice)],
    ["  two history entries for one task version", String(v.historyTwice.length)],
    ["  two tasks for one occurrence", String(v.occurrencesTwice.length)],
    ["tasks with history sequence gaps", must0(v.sequenceGaps.length)],
    ["outbox rows left", must0(v.outboxLeft)],
    ["history entries no outbox event explains", String(v.unexplainedEntries)],
    ["writes attempted / failed", `${w.attempted} / ${w.attempted - w.acknowledged}`],
    [
      "writer: seconds / acknowledged writes per s",
      `${Math.round(r.writeS)} s / ${(w.acknowledged / Math.max(r.writeS, 1)).toFixed(1)}`,
    ],
    [
      "processes that died on their own (restarted)",
      r.unexpectedExits.length === 0 ? "0" : `${r.unexpectedExits.length}  (a bug: see below)`,
    ],
    ["drained after the writer stopped", r.drained ? seconds(r.drainMs) : `not within ${seconds(r.drainMs)}`],
  );

  const recovery = r.faults.map((f) => [
    f.title,
    `t+${f.atS} s`,
    f.error ? `failed: ${f.error}` : seconds(f.restoredAfterMs),
    seconds(f.history.acknowledgedAfterMs),
    seconds(f.history.recoveredAfterMs),
    f.recurrence ? seconds(f.recurrence.recoveredAfterMs) : "-",
  ]);

  const out = [
    `fault run: ${r.apps.join(", ")}; ${r.durationS} s`,
    "",
    table(figures, ["figure", "value"]),
    "",
    "recovery per fault (from the fault; probes written right after it):",
    table(recovery, ["fault", "at", "restored", "probe acked", "history flows", "occurrence made"]),
  ];
  if (failures) out.push("", `failed writes by answer: ${failures}`);
  if (r.skippedFaults.length > 0)
    out.push("", `skipped: ${r.skippedFaults.map((s) => `${s.fault} (${s.reason})`).join("; ")}`);
  const counters = Object.entries(r.counters);
  if (counters.length > 0)
    out.push("", "counters (summed over restarts):", ...counters.map(([k, n]) => `  ${k} = ${n}`));
  const dupLines = Object.entries(r.duplicatesLogged);
  if (dupLines.length > 0)
    out.push("", "duplicate messages logged:", ...dupLines.map(([k, n]) => `  ${n}x ${k}`));
  if (r.unexpectedExits.length > 0)
    out.push("", "unexpected exits:", ...r.unexpectedExits.map((e) => `  ${e}`));
  const errors = Object.entries(r.errorLines);
  if (errors.length > 0)
    out.push("", `error-level log lines: ${errors.map(([source, n]) => `${source} ${n}`).join(", ")}`);
  const examples = (title: string, list: readonly string[]): void => {
    if (list.length > 0)
      out.push("", `${title} (${list.length}; first 10):`, ...list.slice(0, 10).map((x) => `  ${x}`));
  };
  examples("lost events", v.lostEvents);
  examples(
    "acknowledged changes with no history entry",
    v.lostAcknowledged.map((a) => `${a.op} ${a.taskId} seq ${a.sequence} at ${new Date(a.at).toISOString()}`),
  );
  examples(
    "acknowledged changes with no outbox event",
    v.acknowledgedWithoutEvent.map((a) => `${a.op} ${a.taskId} seq ${a.sequence}`),
  );
  examples("occurrences never created", v.occurrencesMissing);
  examples("history twice", v.historyTwice);
  examples("occurrences twice", v.occurrencesTwice);
  examples("occurrences no completion asked for", v.occurrencesUnexpected);
  examples("sequence gaps", v.sequenceGaps);
  out.push("", `process output: ${r.logFile}`, r.ok ? "RESULT: ok" : "RESULT: FAILED");
  return out.join("\n");
}
