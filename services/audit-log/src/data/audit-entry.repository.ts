import { databaseSqlState } from "@taskmesh/core";
import type { PrismaClient } from "@taskmesh/db";
import type {
  AppendOutcome,
  AuditEntry,
  AuditEntryStore,
  HistoryEntry,
  HistoryPage,
} from "../domain/audit-entry.ts";

/**
 * One statement for the whole batch, and no read before it: the primary key (event_id) decides
 * what is new, so concurrent deliveries of the same event (two replicas, a redelivery racing the
 * first try) still record it once. RETURNING names the rows this statement inserted.
 */
const APPEND_SQL = `
INSERT INTO audit_entries (event_id, task_id, user_id, sequence, type, actor, changes, task, occurred_at)
SELECT * FROM unnest(
  $1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::varchar[],
  $6::jsonb[], $7::jsonb[], $8::jsonb[], $9::timestamptz[]
)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id`;

/**
 * SQLSTATE classes that say the row itself is unacceptable (22 data exception: a value out of
 * range, a NUL in JSON...; 23 integrity constraint violation): retrying the same row cannot help.
 */
function rowRejected(err: unknown): boolean {
  const state = databaseSqlState(err);
  return state !== undefined && (state.startsWith("22") || state.startsWith("23"));
}

export function createAuditEntryRepository(prisma: PrismaClient): AuditEntryStore {
  async function insert(entries: readonly AuditEntry[]): Promise<Set<string>> {
    const rows = await prisma.$queryRawUnsafe<{ event_id: string }[]>(
      APPEND_SQL,
      entries.map((e) => e.eventId),
      entries.map((e) => e.taskId),
      entries.map((e) => e.userId),
      entries.map((e) => e.sequence),
      entries.map((e) => e.type),
      entries.map((e) => JSON.stringify(e.actor)),
      entries.map((e) => JSON.stringify(e.changes)),
      entries.map((e) => JSON.stringify(e.task)),
      entries.map((e) => e.occurredAt.toISOString()),
    );
    return new Set(rows.map((r) => r.event_id));
  }

  async function append(entries: readonly AuditEntry[]): Promise<AppendOutcome[]> {
    try {
      const inserted = await insert(entries);
      return entries.map((e) => ({ status: inserted.has(e.eventId) ? "recorded" : "duplicate" }));
    } catch (err) {
      if (!rowRejected(err)) throw err;
      if (entries.length === 1) {
        return [{ status: "rejected", reason: err instanceof Error ? err.message : String(err) }];
      }
    }
    // One bad row failed the whole statement: find it by offering each row on its own, so
    // the good ones are recorded and only the bad one is refused.
    const outcomes: AppendOutcome[] = [];
    for (const entry of entries) outcomes.push(...(await append([entry])));
    return outcomes;
  }

  return {
    append,

    async history({ userId, taskId, after, limit }): Promise<HistoryPage> {
      const rows = await prisma.auditEntry.findMany({
        where: {
          userId,
          taskId,
          ...(after
            ? {
                OR: [
                  { sequence: { gt: after.sequence } },
                  { sequence: after.sequence, eventId: { gt: after.eventId } },
                ],
              }
            : {}),
        },
        orderBy: [{ sequence: "asc" }, { eventId: "asc" }],
        take: limit + 1,
        select: {
          eventId: true,
          type: true,
          sequence: true,
          occurredAt: true,
          actor: true,
          changes: true,
        },
      });
      const items: HistoryEntry[] = rows.slice(0, limit);
      const last = items.at(-1);
      return {
        items,
        next: rows.length > limit && last ? { sequence: last.sequence, eventId: last.eventId } : undefined,
      };
    },
  };
}
