import {
  cloudEventSchema,
  EVENT_TYPES,
  exampleEvents,
  parseEvent,
  TASK_EVENT_TYPES,
  taskEventDataSchema,
  type TaskEvent,
} from "@taskmesh/contracts";
import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";

const events = exampleEvents();
const completed = events[EVENT_TYPES.taskCompleted];

/** What an audit-log handler receives from its sidecar: the envelope plus Dapr's extension attributes. */
const delivered = {
  ...completed,
  time: "2026-11-21T18:05:00+01:00",
  topic: "task-events",
  pubsubname: "taskmesh-pubsub",
  traceid: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  tracestate: "",
};

describe("parseEvent", () => {
  it("when Dapr delivers a task event with its extension attributes, then it is valid and typed", () => {
    const result = parseEvent(delivered, TASK_EVENT_TYPES);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expectTypeOf(result.event).toEqualTypeOf<TaskEvent>();
    expect(result.event.type).toBe(EVENT_TYPES.taskCompleted);
    expect(result.event.data).toEqual(completed.data);
    expect(result.event.traceparent).toBe(delivered.traceparent);
  });

  it("when every example is parsed with the default types, then each is valid", () => {
    for (const event of Object.values(events)) {
      expect(parseEvent(event)).toEqual({ ok: true, event });
    }
  });

  it("when the envelope carries an unknown extension attribute, then it is kept", () => {
    const result = parseEvent({ ...completed, partitionkey: completed.data.taskId });
    expect(result.ok && result.event).toHaveProperty("partitionkey", completed.data.taskId);
  });

  it.each([
    ["null", null],
    ["a string", "hello"],
    ["plain JSON data", completed.data],
    ["an envelope of another spec version", { ...completed, specversion: "0.3" }],
    ["an envelope without id", { ...completed, id: undefined }],
  ])("when the body is %s, then the reason is not-a-cloud-event", (_what, body) => {
    const result = parseEvent(body);
    expect(result).toMatchObject({ ok: false, reason: "not-a-cloud-event" });
  });

  it("when the type is unknown, then the reason is unknown-type with the id and type for the log", () => {
    const result = parseEvent({ ...completed, type: "dev.taskmesh.task.archived.v1" });
    expect(result).toMatchObject({
      ok: false,
      reason: "unknown-type",
      id: completed.id,
      type: "dev.taskmesh.task.archived.v1",
    });
  });

  it("when a later version of a known type arrives, then the reason is unknown-type", () => {
    const result = parseEvent({ ...completed, type: "dev.taskmesh.task.completed.v2" });
    expect(result).toMatchObject({ ok: false, reason: "unknown-type" });
  });

  it("when a known type is not among the accepted ones, then the reason is unknown-type", () => {
    const result = parseEvent(events[EVENT_TYPES.reminderDue], TASK_EVENT_TYPES);
    expect(result).toMatchObject({ ok: false, reason: "unknown-type", type: EVENT_TYPES.reminderDue });
  });

  it("when the data breaks the contract, then the reason is invalid-data with the fields named", () => {
    const result = parseEvent({ ...completed, data: { ...completed.data, sequence: "3" } });
    expect(result).toMatchObject({ ok: false, reason: "invalid-data", id: completed.id });
    expect(result.ok ? "" : result.message).toContain("data.sequence");
  });

  it("when the data is missing, then the reason is invalid-data", () => {
    const { data: _data, ...withoutData } = completed;
    expect(parseEvent(withoutData)).toMatchObject({ ok: false, reason: "invalid-data" });
  });

  it("when a rule across fields is broken, then the reason is invalid-data", () => {
    const result = parseEvent({
      ...completed,
      data: { ...completed.data, task: { ...completed.data.task, completed: false } },
    });
    expect(result).toMatchObject({ ok: false, reason: "invalid-data" });
  });

  it("when only some types are accepted, then the result is typed to them", () => {
    const result = parseEvent(completed, [EVENT_TYPES.taskCompleted]);
    if (result.ok) expectTypeOf(result.event.type).toEqualTypeOf<"dev.taskmesh.task.completed.v1">();
    expect(result.ok).toBe(true);
  });
});

describe("cloudEventSchema", () => {
  it("when given any data schema, then the envelope parses data with it", () => {
    const schema = cloudEventSchema(z.object({ n: z.number() }));
    expect(schema.safeParse({ ...completed, data: { n: 1 } }).success).toBe(true);
    expect(schema.safeParse({ ...completed, data: { n: "1" } }).success).toBe(false);
    expectTypeOf<z.infer<typeof schema>["data"]>().toEqualTypeOf<{ n: number }>();
  });

  it("when used with the task event data schema, then the example parses", () => {
    expect(cloudEventSchema(taskEventDataSchema).safeParse(delivered).success).toBe(true);
  });

  it("when the time is not an RFC 3339 date-time, then the envelope is refused", () => {
    const schema = cloudEventSchema(z.unknown());
    expect(schema.safeParse({ ...completed, time: "Nov 21" }).success).toBe(false);
  });
});
