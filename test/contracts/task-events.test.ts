import {
  EVENT_CATALOG,
  EVENT_SOURCES,
  EVENT_TYPES,
  exampleEvents,
  newEvent,
  partitionKeyFor,
  PARTITION_KEY_METADATA,
  TASK_EVENT_TYPES,
  taskEventDataSchema,
  taskSnapshotSchema,
  topicFor,
  TOPICS,
  type TaskEvent,
  type TaskEventData,
  type TaskSnapshot,
} from "@taskmesh/contracts";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { z } from "zod";

const events = exampleEvents();
const created = events[EVENT_TYPES.taskCreated];
const snapshot: TaskSnapshot = created.data.task;
const data: TaskEventData = events[EVENT_TYPES.taskUpdated].data;

function issuePaths(result: z.ZodSafeParseResult<unknown>): string[] {
  return result.success ? [] : result.error.issues.map((i) => i.path.join("."));
}

describe("taskSnapshotSchema", () => {
  it("when a snapshot has every field, then it parses unchanged", () => {
    expect(taskSnapshotSchema.parse(snapshot)).toEqual(snapshot);
  });

  it("when nullable fields are null, then it parses", () => {
    const bare = {
      ...snapshot,
      listId: null,
      parentId: null,
      description: null,
      completedAt: null,
      dueAt: null,
      recurrence: null,
      remindAt: null,
    };
    expect(taskSnapshotSchema.safeParse(bare).success).toBe(true);
  });

  it.each([
    ["id", "not-a-uuid"],
    ["userId", ""],
    ["userId", "user-1"],
    ["listId", "123"],
    ["parentId", 42],
    ["title", ""],
    ["title", "x".repeat(201)],
    ["description", undefined],
    ["completed", "true"],
    ["completedAt", "2026-11-20"],
    ["priority", "critical"],
    ["tags", "home"],
    ["tags", [1]],
    ["dueAt", "2026-11-21 17:00"],
    ["allDay", null],
    ["recurrence", 7],
    ["remindAt", "tomorrow"],
    ["createdAt", null],
    ["updatedAt", "2026-11-20T10:00:00+01:00"],
    ["version", 0],
    ["version", 1.5],
  ] as const)("when %s is %j, then it is refused at that field", (field, value) => {
    const paths = issuePaths(taskSnapshotSchema.safeParse({ ...snapshot, [field]: value }));
    expect(paths).toHaveLength(1);
    expect(paths[0]?.split(".")[0]).toBe(field);
  });

  it("when a field is missing, then it is refused", () => {
    const { allDay: _allDay, ...rest } = snapshot;
    expect(issuePaths(taskSnapshotSchema.safeParse(rest))).toEqual(["allDay"]);
  });

  it("when a field is unknown, then it is stripped (a newer producer may add fields)", () => {
    const parsed = taskSnapshotSchema.parse({ ...snapshot, colour: "green" });
    expect(parsed).not.toHaveProperty("colour");
  });
});

describe("taskEventDataSchema", () => {
  it("when the data of every example parses, then it is unchanged", () => {
    for (const type of TASK_EVENT_TYPES) {
      expect(taskEventDataSchema.parse(events[type].data)).toEqual(events[type].data);
    }
  });

  it("when the actor is a service, then it parses", () => {
    const bySevice = { ...data, actor: { kind: "service", id: "recurring-tasks" } };
    expect(taskEventDataSchema.safeParse(bySevice).success).toBe(true);
  });

  it("when a change sets a field from null, then null is kept as a value", () => {
    const parsed = taskEventDataSchema.parse({
      ...data,
      changes: { dueAt: { from: null, to: "2026-11-23T09:00:00.000Z" } },
    });
    expect(parsed.changes.dueAt).toEqual({ from: null, to: "2026-11-23T09:00:00.000Z" });
  });

  it.each([
    ["taskId", "nope", "taskId"],
    ["userId", "", "userId"],
    ["sequence", 0, "sequence"],
    ["sequence", 2.5, "sequence"],
    ["occurredAt", "yesterday", "occurredAt"],
    ["actor", { kind: "robot", id: "r2" }, "actor.kind"],
    ["actor", { kind: "user" }, "actor.id"],
    ["task", { id: "x" }, "task.id"],
    ["changes", { title: { from: "a" } }, "changes.title.to"],
    ["changes", { title: "b" }, "changes.title"],
    ["changes", [], "changes"],
  ] as const)("when %s is %j, then it is refused at %s", (field, value, path) => {
    const result = taskEventDataSchema.safeParse({ ...data, [field]: value });
    expect(issuePaths(result)).toContain(path);
  });
});

describe("task event envelopes", () => {
  it("when each example is checked, then it carries its type, task-api's source and JSON data", () => {
    for (const type of TASK_EVENT_TYPES) {
      const event = events[type];
      expect(event).toMatchObject({
        specversion: "1.0",
        type,
        source: "/taskmesh/task-api",
        datacontenttype: "application/json",
      });
      expect(topicFor(type)).toBe(TOPICS.taskEvents);
      expect(EVENT_CATALOG[type].source).toBe(EVENT_SOURCES.taskApi);
    }
  });

  it("when the types are listed, then they are the five versioned task types", () => {
    expect(TASK_EVENT_TYPES).toEqual([
      "dev.taskmesh.task.created.v1",
      "dev.taskmesh.task.updated.v1",
      "dev.taskmesh.task.completed.v1",
      "dev.taskmesh.task.reopened.v1",
      "dev.taskmesh.task.deleted.v1",
    ]);
  });

  it("when the source is not task-api's, then the envelope is refused", () => {
    const result = EVENT_CATALOG[EVENT_TYPES.taskCreated].schema.safeParse({
      ...created,
      source: "task-api",
    });
    expect(issuePaths(result)).toEqual(["source"]);
  });

  it("when the data content type is not JSON, then the envelope is refused", () => {
    const result = EVENT_CATALOG[EVENT_TYPES.taskCreated].schema.safeParse({
      ...created,
      datacontenttype: "text/plain",
    });
    expect(issuePaths(result)).toEqual(["datacontenttype"]);
  });

  it("when taskId or userId disagree with the task, then the event is refused", () => {
    const schema = EVENT_CATALOG[EVENT_TYPES.taskUpdated].schema;
    const other = "01936f4e-8a3b-7c2d-9e1f-000000000000";
    const base = events[EVENT_TYPES.taskUpdated];
    expect(issuePaths(schema.safeParse({ ...base, data: { ...base.data, taskId: other } }))).toEqual([
      "data.taskId",
    ]);
    expect(issuePaths(schema.safeParse({ ...base, data: { ...base.data, userId: other } }))).toEqual([
      "data.userId",
    ]);
  });

  it("when a user id is not a UUID, then the event is refused; a service actor's id is its app id", () => {
    const schema = EVENT_CATALOG[EVENT_TYPES.taskUpdated].schema;
    const base = events[EVENT_TYPES.taskUpdated];
    const oldId = "aliceAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const task = { ...base.data.task, userId: oldId };
    expect(issuePaths(schema.safeParse({ ...base, data: { ...base.data, userId: oldId, task } }))).toEqual([
      "data.userId",
      "data.task.userId",
    ]);
    const byService = { ...base, data: { ...base.data, actor: { kind: "service", id: "recurring-tasks" } } };
    expect(schema.safeParse(byService).success).toBe(true);
  });

  it("when the sequence is not the task's version (version + 1 for a deletion), then the event is refused", () => {
    const updated = events[EVENT_TYPES.taskUpdated];
    const deleted = events[EVENT_TYPES.taskDeleted];
    expect(deleted.data.sequence).toBe(deleted.data.task.version + 1);
    expect(updated.data.sequence).toBe(updated.data.task.version);
    const schema = (type: (typeof TASK_EVENT_TYPES)[number]) => EVENT_CATALOG[type].schema;
    expect(
      issuePaths(
        schema(EVENT_TYPES.taskUpdated).safeParse({ ...updated, data: { ...updated.data, sequence: 3 } }),
      ),
    ).toEqual(["data.sequence"]);
    expect(
      issuePaths(
        schema(EVENT_TYPES.taskDeleted).safeParse({
          ...deleted,
          data: { ...deleted.data, sequence: deleted.data.task.version },
        }),
      ),
    ).toEqual(["data.sequence"]);
  });

  it("when task.created lists changes, then it is refused", () => {
    const result = EVENT_CATALOG[EVENT_TYPES.taskCreated].schema.safeParse({
      ...created,
      data: { ...created.data, changes: { title: { from: null, to: "Water the plants" } } },
    });
    expect(issuePaths(result)).toEqual(["data.changes"]);
  });

  it("when task.completed carries an open task or task.reopened a completed one, then it is refused", () => {
    const completed = events[EVENT_TYPES.taskCompleted];
    const reopened = events[EVENT_TYPES.taskReopened];
    expect(
      issuePaths(
        EVENT_CATALOG[EVENT_TYPES.taskCompleted].schema.safeParse({
          ...completed,
          data: { ...completed.data, task: { ...completed.data.task, completed: false } },
        }),
      ),
    ).toEqual(["data.task.completed"]);
    expect(
      issuePaths(
        EVENT_CATALOG[EVENT_TYPES.taskReopened].schema.safeParse({
          ...reopened,
          data: { ...reopened.data, task: { ...reopened.data.task, completed: true } },
        }),
      ),
    ).toEqual(["data.task.completed"]);
  });
});

describe("newEvent", () => {
  it("when the data is valid, then it returns the full envelope with the given id and a time", () => {
    const event = newEvent(EVENT_TYPES.taskCreated, created.data, { id: "outbox-1" });
    expect(event).toMatchObject({
      specversion: "1.0",
      id: "outbox-1",
      source: "/taskmesh/task-api",
      type: "dev.taskmesh.task.created.v1",
      datacontenttype: "application/json",
      data: created.data,
    });
    expect(Date.parse(event.time ?? "")).not.toBeNaN();
  });

  it("when the data breaks the contract, then it throws before anything is published", () => {
    expect(() =>
      newEvent(EVENT_TYPES.taskCreated, { ...created.data, sequence: 2 }, { id: "outbox-2" }),
    ).toThrow(/sequence/);
  });
});

describe("partition key", () => {
  it("when an event or its data is given, then the key is the task id", () => {
    const updated = events[EVENT_TYPES.taskUpdated];
    expect(partitionKeyFor(updated)).toBe(updated.data.taskId);
    expect(partitionKeyFor(updated.data)).toBe(updated.data.taskId);
    expect(partitionKeyFor(events[EVENT_TYPES.reminderDue])).toBe(updated.data.taskId);
    expect(PARTITION_KEY_METADATA).toBe("partitionKey");
  });
});

describe("types", () => {
  it("when a task event is narrowed by type, then its data is typed", () => {
    expectTypeOf<TaskEvent["type"]>().toEqualTypeOf<(typeof TASK_EVENT_TYPES)[number]>();
    expectTypeOf<TaskEvent["data"]>().toEqualTypeOf<TaskEventData>();
    expectTypeOf<TaskSnapshot["priority"]>().toEqualTypeOf<"none" | "low" | "medium" | "high" | "urgent">();
    expectTypeOf<TaskSnapshot["dueAt"]>().toEqualTypeOf<string | null>();
    expectTypeOf<TaskEventData["actor"]>().toEqualTypeOf<{ kind: "user" | "service"; id: string }>();
    expectTypeOf<TaskEventData["changes"]>().toEqualTypeOf<Record<string, { from: unknown; to: unknown }>>();
  });
});
