import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import type { TaskView } from "../../services/task-api/src/data/task.repository.ts";
import type { TestUser } from "../support/task-api.ts";
import { useTaskApi } from "../support/task-api-fixtures.ts";

/**
 * Properties of GET /v1/tasks against the real database: for random task sets, filters, sorts
 * and page sizes, following nextCursor visits exactly the matching tasks, once each, in the
 * requested order (NULL dueAt last either way, ties broken by id) — also while tasks are
 * inserted and deleted between pages. Each run signs up a user of its own; its tasks are
 * inserted with Prisma for speed, and the expected answer is computed in JS from them.
 */

const PRIORITIES = ["none", "low", "medium", "high", "urgent"] as const;
const SORT_KEYS = ["dueAt", "priority", "createdAt", "updatedAt", "title"] as const;
const TAGS = ["red", "green", "blue"] as const;
const TIME_ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"] as const;

type Priority = (typeof PRIORITIES)[number];
type SortKey = (typeof SORT_KEYS)[number];
type Tag = (typeof TAGS)[number];

// Few distinct values, so that ties on every key are common. Due dates are years away from
// now on either side, so "overdue" does not depend on when the test runs.
const DUE_INSTANTS = [
  "2020-03-01T00:00:00Z",
  "2020-03-01T12:00:00Z",
  "2035-06-01T00:00:00Z",
  "2035-06-01T23:30:00Z",
  "2035-06-02T04:00:00Z",
].map((s) => new Date(s));
const DUE_DATES = ["2020-03-01", "2020-03-02", "2035-06-01", "2035-06-02", "2035-06-03"];
const STAMPS = [
  "2026-01-01T00:00:00.000Z",
  "2026-01-01T00:00:00.001Z",
  "2026-01-02T10:00:00.000Z",
  "2026-02-01T00:00:00.000Z",
].map((s) => new Date(s));

interface TaskSpec {
  title: string;
  priority: Priority;
  dueAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  completed: boolean;
  tags: Tag[];
}

interface Stored extends TaskSpec {
  id: string;
}

type DueBound = { instant: Date } | { date: string };

interface Filter {
  status: "open" | "completed" | "all" | undefined;
  priorities: Priority[] | undefined;
  tags: Tag[] | undefined;
  tagMatch: "any" | "all" | undefined;
  dueBefore: DueBound | undefined;
  dueAfter: DueBound | undefined;
  overdue: boolean | undefined;
  q: string | undefined;
  /** Lists as repeated parameters (?tag=a&tag=b) rather than comma-separated. */
  repeated: boolean;
}

interface SortTerm {
  key: SortKey;
  desc: boolean;
}

interface Page {
  data: TaskView[];
  nextCursor: string | null;
}

const taskArb: fc.Arbitrary<TaskSpec> = fc.record({
  title: fc.stringMatching(/^[abc]{1,2}$/),
  priority: fc.constantFrom(...PRIORITIES),
  dueAt: fc.option(fc.constantFrom(...DUE_INSTANTS), { nil: null, freq: 3 }),
  createdAt: fc.constantFrom(...STAMPS),
  updatedAt: fc.constantFrom(...STAMPS),
  completed: fc.boolean(),
  tags: fc.subarray([...TAGS]),
});

const boundArb: fc.Arbitrary<DueBound> = fc.oneof(
  fc.constantFrom(...DUE_INSTANTS).map((instant) => ({ instant })),
  fc.constantFrom(...DUE_DATES).map((date) => ({ date })),
);

/** Absent three times out of four, so that combined filters still leave tasks to page through. */
const sometimes = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: arb, weight: 1 });

const filterArb: fc.Arbitrary<Filter> = fc.record({
  status: fc.constantFrom(undefined, "open", "completed", "all", "all"),
  priorities: sometimes(fc.subarray([...PRIORITIES], { minLength: 2 })),
  tags: sometimes(fc.subarray([...TAGS], { minLength: 1 })),
  tagMatch: fc.constantFrom(undefined, "any", "all"),
  dueBefore: sometimes(boundArb),
  dueAfter: sometimes(boundArb),
  overdue: sometimes(fc.boolean()),
  q: sometimes(fc.constantFrom("a", "b", "ab", "c")),
  repeated: fc.boolean(),
});

/** Light filters only, so that most runs page many times while tasks come and go. */
const lightFilterArb: fc.Arbitrary<Filter> = fc.record({
  status: fc.constant("all" as const),
  priorities: sometimes(fc.subarray([...PRIORITIES], { minLength: 3 })),
  tags: fc.constant(undefined),
  tagMatch: fc.constant(undefined),
  dueBefore: fc.constant(undefined),
  dueAfter: fc.constant(undefined),
  overdue: fc.constant(undefined),
  q: fc.constant(undefined),
  repeated: fc.boolean(),
});

/** The default sort (no sort parameter) is dueAt ascending; with q it is relevance, which is not modelled here. */
const DEFAULT_SORT: SortTerm[] = [{ key: "dueAt", desc: false }];

const sortArb: fc.Arbitrary<SortTerm[]> = fc.oneof(
  { arbitrary: fc.constant(DEFAULT_SORT), weight: 1 },
  {
    arbitrary: fc
      .shuffledSubarray([...SORT_KEYS], { minLength: 1, maxLength: 3 })
      .chain((keys) => fc.tuple(...keys.map((key) => fc.boolean().map((desc) => ({ key, desc }))))),
    weight: 5,
  },
);

const api = useTaskApi();

/** Inserts tasks (and their tags) straight into the database, with ids and timestamps of our choosing. */
async function insertTasks(user: TestUser, specs: TaskSpec[]): Promise<Stored[]> {
  const stored = specs.map((spec) => ({ ...spec, id: randomUUID() }));
  if (stored.length === 0) return stored;
  await api.prisma.task.createMany({
    data: stored.map((t) => ({
      id: t.id,
      userId: user.id,
      title: t.title,
      priority: t.priority,
      dueAt: t.dueAt,
      createdAt: t.createdAt,
      updatedAt: t.updatedAt,
      completed: t.completed,
      completedAt: t.completed ? t.updatedAt : null,
    })),
  });
  await api.prisma.tag.createMany({
    data: TAGS.map((name) => ({ userId: user.id, name, normalizedName: name })),
    skipDuplicates: true,
  });
  const tags = await api.prisma.tag.findMany({
    where: { userId: user.id },
    select: { id: true, name: true },
  });
  const tagId = new Map(tags.map((t) => [t.name, t.id]));
  await api.prisma.taskTag.createMany({
    data: stored.flatMap((t) =>
      t.tags.map((name) => ({ userId: user.id, taskId: t.id, tagId: tagId.get(name) ?? "" })),
    ),
  });
  return stored;
}

function boundMillis(bound: DueBound, timeZone: string): number {
  return "instant" in bound
    ? bound.instant.getTime()
    : DateTime.fromISO(bound.date, { zone: timeZone }).startOf("day").toMillis();
}

function boundParam(bound: DueBound): string {
  return "instant" in bound ? bound.instant.toISOString() : bound.date;
}

/** The filter as the API is documented to apply it, in JS. */
function matches(task: Stored, filter: Filter, timeZone: string, now: number): boolean {
  const status = filter.status ?? "open";
  if (status === "open" && task.completed) return false;
  if (status === "completed" && !task.completed) return false;
  if (filter.priorities && !filter.priorities.includes(task.priority)) return false;
  if (filter.tags) {
    const wanted = filter.tags;
    const ok =
      filter.tagMatch === "all"
        ? wanted.every((t) => task.tags.includes(t))
        : wanted.some((t) => task.tags.includes(t));
    if (!ok) return false;
  }
  const due = task.dueAt?.getTime() ?? null;
  if (filter.dueBefore && (due === null || due >= boundMillis(filter.dueBefore, timeZone))) return false;
  if (filter.dueAfter && (due === null || due < boundMillis(filter.dueAfter, timeZone))) return false;
  if (filter.overdue !== undefined) {
    const overdue = !task.completed && due !== null && due < now;
    if (overdue !== filter.overdue) return false;
  }
  if (filter.q !== undefined && !task.title.startsWith(filter.q)) return false;
  return true;
}

interface Sortable {
  id: string;
  title: string;
  priority: Priority;
  dueAt: number | null;
  createdAt: number;
  updatedAt: number;
}

const sortable = (t: Stored): Sortable => ({
  id: t.id,
  title: t.title,
  priority: t.priority,
  dueAt: t.dueAt?.getTime() ?? null,
  createdAt: t.createdAt.getTime(),
  updatedAt: t.updatedAt.getTime(),
});

const sortableView = (t: TaskView): Sortable => ({
  id: t.id,
  title: t.title,
  priority: t.priority,
  dueAt: t.dueAt === null ? null : Date.parse(t.dueAt),
  createdAt: Date.parse(t.createdAt),
  updatedAt: Date.parse(t.updatedAt),
});

const cmp = (a: number | string, b: number | string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The documented order: each key in its direction, NULL dueAt last in both, then id ascending. */
function compare(a: Sortable, b: Sortable, sort: SortTerm[]): number {
  for (const { key, desc } of sort) {
    let c: number;
    if (key === "dueAt") {
      if (a.dueAt === null || b.dueAt === null) {
        c = a.dueAt === b.dueAt ? 0 : a.dueAt === null ? 1 : -1;
        if (c !== 0) return c;
        continue;
      }
      c = cmp(a.dueAt, b.dueAt);
    } else if (key === "priority") {
      c = cmp(PRIORITIES.indexOf(a.priority), PRIORITIES.indexOf(b.priority));
    } else {
      c = cmp(a[key], b[key]);
    }
    if (c !== 0) return desc ? -c : c;
  }
  return cmp(a.id, b.id);
}

function queryOf(
  filter: Filter,
  sort: SortTerm[],
  limit: number,
): Record<string, string | number | string[]> {
  const list = (values: readonly string[]): string | string[] =>
    filter.repeated ? [...values] : values.join(",");
  const query: Record<string, string | number | string[]> = { limit };
  if (sort !== DEFAULT_SORT || filter.q !== undefined)
    query.sort = sort.map((t) => (t.desc ? "-" : "") + t.key).join(",");
  if (filter.status !== undefined) query.status = filter.status;
  if (filter.priorities !== undefined) query.priority = list(filter.priorities);
  if (filter.tags !== undefined) query.tag = list(filter.tags);
  if (filter.tagMatch !== undefined) query.tagMatch = filter.tagMatch;
  if (filter.dueBefore !== undefined) query.dueBefore = boundParam(filter.dueBefore);
  if (filter.dueAfter !== undefined) query.dueAfter = boundParam(filter.dueAfter);
  if (filter.overdue !== undefined) query.overdue = String(filter.overdue);
  if (filter.q !== undefined) query.q = filter.q;
  return query;
}

async function page(
  user: TestUser,
  query: Record<string, string | number | string[]>,
  cursor: string | null,
): Promise<Page> {
  const res = await api.request
    .get("/v1/tasks")
    .query(cursor === null ? query : { ...query, cursor })
    .set(user.auth);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as Page;
}

function expectOrdered(tasks: TaskView[], sort: SortTerm[]): void {
  for (let i = 1; i < tasks.length; i++) {
    const [before, after] = [tasks[i - 1], tasks[i]];
    if (before === undefined || after === undefined) continue;
    expect(
      compare(sortableView(before), sortableView(after), sort),
      `${before.id} must come before ${after.id}`,
    ).toBeLessThan(0);
  }
}

describe("GET /v1/tasks pagination (property-based)", () => {
  it("when paging through any filter and sort with any page size, then every matching task comes exactly once, in order, and nothing else", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(taskArb, { maxLength: 60, size: "max" }),
        filterArb,
        sortArb,
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(...TIME_ZONES),
        async (specs, filter, sort, limit, timeZone) => {
          const user = await api.signUp({ timeZone });
          const stored = await insertTasks(user, specs);
          const now = Date.now();
          const expected = stored
            .filter((t) => matches(t, filter, timeZone, now))
            .map(sortable)
            .sort((a, b) => compare(a, b, sort))
            .map((t) => t.id);

          const query = queryOf(filter, sort, limit);
          const seen: TaskView[] = [];
          const sizes: number[] = [];
          let cursor: string | null = null;
          do {
            const next: Page = await page(user, query, cursor);
            seen.push(...next.data);
            sizes.push(next.data.length);
            cursor = next.nextCursor;
          } while (cursor !== null && sizes.length <= stored.length + 1);
          expect(cursor, "paging did not end").toBeNull();

          const ids = seen.map((t) => t.id);
          expect(new Set(ids).size, "a task came twice").toBe(ids.length);
          expect([...ids].sort(), "the set of tasks differs from the matching ones").toEqual(
            [...expected].sort(),
          );
          expectOrdered(seen, sort);
          expect(ids).toEqual(expected);
          // Full pages until the last; no empty trailing page unless nothing matches.
          expect(sizes.slice(0, -1).every((n) => n === limit)).toBe(true);
          expect(sizes.length).toBe(Math.max(1, Math.ceil(expected.length / limit)));
        },
      ),
      // Runs hit the database: on a loaded machine, stop after fewer runs rather than time out (a failure found is still reported).
      { numRuns: 40, interruptAfterTimeLimit: 90_000 },
    );
  }, 120_000);

  it("when tasks are inserted and deleted between page fetches, then no task comes twice, the order holds and every untouched matching task still comes", async () => {
    const mutationArb = fc.record({
      inserts: fc.array(taskArb, { maxLength: 4 }),
      deletes: fc.array(fc.nat(), { maxLength: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(taskArb, { minLength: 1, maxLength: 40, size: "max" }),
        lightFilterArb,
        sortArb,
        fc.integer({ min: 1, max: 5 }),
        fc.array(mutationArb, { minLength: 1, maxLength: 12 }),
        async (specs, filter, sort, limit, mutations) => {
          const user = await api.signUp();
          const initial = await insertTasks(user, specs);
          const live = new Map(initial.map((t) => [t.id, t]));
          const inserted = new Set<string>();
          const deleted = new Set<string>();
          const query = queryOf(filter, sort, limit);

          const seen: TaskView[] = [];
          let cursor: string | null = null;
          let fetches = 0;
          do {
            const next: Page = await page(user, query, cursor);
            seen.push(...next.data);
            cursor = next.nextCursor;
            const mutation = mutations[fetches]; // each mutation once, so that paging can catch up and end
            fetches++;
            if (cursor === null || mutation === undefined) continue;
            for (const t of await insertTasks(user, mutation.inserts)) {
              live.set(t.id, t);
              inserted.add(t.id);
            }
            const ids = [...live.keys()];
            const doomed = [...new Set(mutation.deletes.map((i) => ids[i % ids.length]))].filter(
              (id) => id !== undefined,
            );
            if (doomed.length > 0) {
              await api.prisma.task.deleteMany({ where: { userId: user.id, id: { in: doomed } } });
              for (const id of doomed) {
                live.delete(id);
                deleted.add(id);
              }
            }
          } while (cursor !== null && fetches < 200);
          expect(cursor, "paging did not end").toBeNull();

          const ids = seen.map((t) => t.id);
          expect(new Set(ids).size, "a task came twice").toBe(ids.length);
          expectOrdered(seen, sort);
          const known = new Set([...initial.map((t) => t.id), ...inserted]);
          expect(ids.filter((id) => !known.has(id))).toEqual([]);
          const untouched = initial
            .filter((t) => !deleted.has(t.id) && matches(t, filter, "UTC", Date.now()))
            .map((t) => t.id);
          const returned = new Set(ids);
          expect(
            untouched.filter((id) => !returned.has(id)),
            "an untouched matching task was skipped",
          ).toEqual([]);
        },
      ),
      { numRuns: 25, interruptAfterTimeLimit: 90_000 },
    );
  }, 120_000);
});
