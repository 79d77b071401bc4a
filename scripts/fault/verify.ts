/**
 * What a fault run checks once the stack has drained, read straight from the database (the
 * run is a test harness): the outbox ledger (every event task-api ever wrote), audit-log's
 * history, the tasks recurring-tasks created, and what the writer was acknowledged.
 */
import { EVENT_TYPES } from "@taskmesh/contracts";
import type { FaultDatabase } from "./database.ts";
import type { AcknowledgedChange } from "./writer.ts";

export interface Verification {
  produced: number;
  /** Ledger events of changes the client was acknowledged (writer + probes). */
  producedAcknowledged: number;
  /** Ledger events with a service as actor (recurring-tasks creating occurrences). */
  producedByServices: number;
  /** Ledger events of user changes the client got no 2xx for (the answer was lost, the change committed). */
  producedUnanswered: number;
  acknowledged: number;
  /** Distinct event ids in audit_entries. */
  delivered: number;
  /** Entries whose task, sequence and type equal their outbox event's. */
  applied: number;
  /** Entries that no outbox event explains. */
  unexplainedEntries: number;
  /** Outbox events with no history entry. */
  lostEvents: string[];
  /** Acknowledged changes with no history entry for their task and sequence. */
  lostAcknowledged: AcknowledgedChange[];
  /** Acknowledged changes whose event is not even in the outbox ledger (the outbox guarantee broken). */
  acknowledgedWithoutEvent: AcknowledgedChange[];
  /** (task, sequence) pairs with more than one history entry. */
  historyTwice: string[];
  /** Tasks whose history sequences are not 1..n, or end below the task's version. */
  sequenceGaps: string[];
  occurrencesExpected: number;
  occurrencesCreated: number;
  occurrencesMissing: string[];
  /** Two tasks for one occurrence: same occurrence key, or same owner, title and due instant. */
  occurrencesTwice: string[];
  /** Occurrences whose key no completion in the history or acknowledged asked for. */
  occurrencesUnexpected: string[];
  /** Of the expected occurrences, those of completions the client got no answer for. */
  occurrencesOfUnansweredCompletions: number;
  outboxLeft: number;
}

interface LedgerRow {
  event_id: string;
  type: string;
  task_id: string | null;
  user_id: string | null;
  sequence: number | null;
  actor_kind: string | null;
}

interface EntryRow {
  event_id: string;
  task_id: string;
  sequence: number;
  type: string;
}

interface OccurrenceRow {
  id: string;
  user_id: string;
  occurrence_key: string;
  title: string;
  due_at: Date | null;
}

/** "<source task id>/<due ISO>" -> its parts (the ISO may have any precision). */
function parseOccurrenceKey(key: string): { source: string; due: number } | undefined {
  const slash = key.indexOf("/");
  if (slash < 0) return undefined;
  const due = Date.parse(key.slice(slash + 1));
  return Number.isNaN(due) ? undefined : { source: key.slice(0, slash), due };
}

export async function verifyRun(
  db: FaultDatabase,
  acknowledged: readonly AcknowledgedChange[],
  options: { recurrence: boolean },
): Promise<Verification> {
  const [ledger, entries, outbox, occurrences, versions, completions] = await Promise.all([
    db.query<LedgerRow>(
      "SELECT event_id, type, task_id, user_id, sequence, actor_kind FROM fault_outbox_ledger",
    ),
    db.query<EntryRow>("SELECT event_id, task_id, sequence, type FROM audit_entries"),
    db.query<{ n: string }>("SELECT count(*)::text AS n FROM outbox_events"),
    db.query<OccurrenceRow>(
      "SELECT id, user_id, occurrence_key, title, due_at FROM tasks WHERE occurrence_key IS NOT NULL",
    ),
    db.query<{ id: string; version: number }>("SELECT id, version FROM tasks"),
    db.query<{ task_id: string; due: string }>(
      `SELECT task_id, task->>'dueAt' AS due FROM audit_entries
       WHERE type = $1 AND task->>'recurrence' IS NOT NULL AND task->>'dueAt' IS NOT NULL`,
      [EVENT_TYPES.taskCompleted],
    ),
  ]);

  const taskSeq = (taskId: string | null, sequence: number | null): string => `${taskId}#${sequence}`;
  const ackKeys = new Set(acknowledged.map((a) => taskSeq(a.taskId, a.sequence)));
  const ledgerById = new Map(ledger.map((row) => [row.event_id, row]));
  const ledgerKeys = new Map<string, LedgerRow>();
  for (const row of ledger) ledgerKeys.set(taskSeq(row.task_id, row.sequence), row);
  const entryIds = new Set(entries.map((e) => e.event_id));
  const entriesByKey = new Map<string, EntryRow[]>();
  for (const entry of entries) {
    const key = taskSeq(entry.task_id, entry.sequence);
    entriesByKey.set(key, [...(entriesByKey.get(key) ?? []), entry]);
  }

  let applied = 0;
  let unexplainedEntries = 0;
  for (const entry of entries) {
    const source = ledgerById.get(entry.event_id);
    if (!source) unexplainedEntries++;
    else if (
      source.task_id === entry.task_id &&
      source.sequence === entry.sequence &&
      source.type === entry.type
    )
      applied++;
  }

  const producedAcknowledged = ledger.filter((row) => ackKeys.has(taskSeq(row.task_id, row.sequence))).length;
  const producedByServices = ledger.filter((row) => row.actor_kind === "service").length;

  const sequencesByTask = new Map<string, number[]>();
  for (const entry of entries)
    sequencesByTask.set(entry.task_id, [...(sequencesByTask.get(entry.task_id) ?? []), entry.sequence]);
  const sequenceGaps: string[] = [];
  for (const [taskId, list] of sequencesByTask) {
    const sorted = [...new Set(list)].sort((a, b) => a - b);
    if (sorted.some((s, i) => s !== i + 1)) sequenceGaps.push(`${taskId}: ${sorted.join(",")}`);
  }
  for (const { id, version } of versions) {
    const list = sequencesByTask.get(id) ?? [];
    const max = list.length > 0 ? Math.max(...list) : 0;
    if (max !== version) sequenceGaps.push(`${id}: history ends at ${max}, task is at version ${version}`);
  }

  // Occurrences: one per distinct (completed recurring task, its dueAt), for every completion
  // in the history (acknowledged or not) and every acknowledged one (even if its entry were lost).
  const expected = new Map<string, { source: string; acknowledged: boolean }>();
  if (options.recurrence) {
    for (const row of completions)
      expected.set(`${row.task_id}/${Date.parse(row.due)}`, { source: row.task_id, acknowledged: false });
    for (const change of acknowledged) {
      if (!change.occurrence) continue;
      const source = change.occurrence.sourceTaskId;
      expected.set(`${source}/${Date.parse(change.occurrence.dueAt)}`, { source, acknowledged: true });
    }
  }
  const byKey = new Map<string, OccurrenceRow[]>();
  const bySource = new Map<string, number>();
  for (const row of occurrences) {
    const parsed = parseOccurrenceKey(row.occurrence_key);
    const key = parsed ? `${parsed.source}/${parsed.due}` : row.occurrence_key;
    byKey.set(key, [...(byKey.get(key) ?? []), row]);
    if (parsed) bySource.set(parsed.source, (bySource.get(parsed.source) ?? 0) + 1);
  }
  const expectedBySource = new Map<string, number>();
  for (const { source } of expected.values())
    expectedBySource.set(source, (expectedBySource.get(source) ?? 0) + 1);
  // Two tasks for one occurrence: the same key twice (the unique index forbids it), or more
  // occurrences of a task than it had distinct completions (a second key for one completion).
  const occurrencesTwice = [
    ...[...byKey]
      .filter(([, rows]) => rows.length > 1)
      .map(([key, rows]) => `key ${key}: ${rows.map((r) => r.id).join(", ")}`),
    ...[...bySource]
      .filter(([source, n]) => n > (expectedBySource.get(source) ?? 0))
      .map(
        ([source, n]) =>
          `task ${source}: ${n} occurrences for ${expectedBySource.get(source) ?? 0} distinct completions (${occurrences
            .filter((o) => o.occurrence_key.startsWith(`${source}/`))
            .map((o) => `${o.occurrence_key} -> ${o.due_at?.toISOString() ?? "-"}`)
            .join("; ")})`,
      ),
  ];

  return {
    produced: ledger.length,
    producedAcknowledged,
    producedByServices,
    producedUnanswered: ledger.length - producedAcknowledged - producedByServices,
    acknowledged: acknowledged.length,
    delivered: entries.filter((e) => ledgerById.has(e.event_id)).length,
    applied,
    unexplainedEntries,
    lostEvents: ledger.filter((row) => !entryIds.has(row.event_id)).map((row) => row.event_id),
    lostAcknowledged: acknowledged.filter(
      (a) => !(entriesByKey.get(taskSeq(a.taskId, a.sequence)) ?? []).some((e) => e.type === a.type),
    ),
    acknowledgedWithoutEvent: acknowledged.filter((a) => !ledgerKeys.has(taskSeq(a.taskId, a.sequence))),
    historyTwice: [...entriesByKey]
      .filter(([, list]) => list.length > 1)
      .map(([key, list]) => `${key}: ${list.map((e) => e.event_id).join(", ")}`),
    sequenceGaps,
    occurrencesExpected: expected.size,
    occurrencesCreated: occurrences.length,
    occurrencesMissing: [...expected.keys()].filter((key) => !byKey.has(key)),
    occurrencesTwice,
    occurrencesUnexpected: [...byKey.keys()].filter((key) => !expected.has(key)),
    occurrencesOfUnansweredCompletions: [...expected.values()].filter((e) => !e.acknowledged).length,
    outboxLeft: Number(outbox[0]?.n ?? 0),
  };
}

/**
 * Lost (must be 0): outbox events with no history entry, acknowledged changes that never
 * became an outbox event, and occurrences an acknowledged completion asked for that were
 * never created. (An acknowledged change without its entry is a lost event already.)
 */
export function lostCount(v: Verification): number {
  return v.lostEvents.length + v.acknowledgedWithoutEvent.length + v.occurrencesMissing.length;
}

/** Applied twice (must be 0): two history entries for one task version, two tasks for one occurrence. */
export function appliedTwiceCount(v: Verification): number {
  return v.historyTwice.length + v.occurrencesTwice.length;
}
