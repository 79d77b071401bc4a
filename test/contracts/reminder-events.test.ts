import {
  EVENT_CATALOG,
  EVENT_TYPES,
  exampleEvents,
  REMINDER_EVENT_TYPES,
  reminderDueDataSchema,
  topicFor,
  TOPICS,
  type ReminderDueData,
  type ReminderDueEvent,
} from "@taskmesh/contracts";
import { describe, expect, expectTypeOf, it } from "vitest";

const event = exampleEvents()[EVENT_TYPES.reminderDue];

describe("reminderDueDataSchema", () => {
  it("when the data is complete, then it parses unchanged", () => {
    expect(reminderDueDataSchema.parse(event.data)).toEqual(event.data);
  });

  it("when the task has no due date, then it parses", () => {
    expect(reminderDueDataSchema.safeParse({ ...event.data, dueAt: null }).success).toBe(true);
  });

  it.each([
    ["taskId", "1234"],
    ["userId", ""],
    ["userId", "user-1"],
    ["remindAt", null],
    ["title", ""],
    ["dueAt", "next week"],
    ["firedAt", undefined],
  ] as const)("when %s is %j, then it is refused at that field", (field, value) => {
    const result = reminderDueDataSchema.safeParse({ ...event.data, [field]: value });
    expect(result.success ? [] : result.error.issues.map((i) => i.path.join("."))).toEqual([field]);
  });
});

describe("reminder.due envelope", () => {
  it("when the example is checked, then it is a v1 reminder from notifications on the reminders topic", () => {
    expect(REMINDER_EVENT_TYPES).toEqual(["dev.taskmesh.reminder.due.v1"]);
    expect(event).toMatchObject({
      specversion: "1.0",
      type: "dev.taskmesh.reminder.due.v1",
      source: "/taskmesh/notifications",
    });
    expect(topicFor(EVENT_TYPES.reminderDue)).toBe(TOPICS.reminders);
  });

  it("when it claims task-api as its source, then it is refused", () => {
    const result = EVENT_CATALOG[EVENT_TYPES.reminderDue].schema.safeParse({
      ...event,
      source: "/taskmesh/task-api",
    });
    expect(result.success).toBe(false);
  });

  it("when typed, then its data is ReminderDueData", () => {
    expectTypeOf<ReminderDueEvent["data"]>().toEqualTypeOf<ReminderDueData>();
    expectTypeOf<ReminderDueData["dueAt"]>().toEqualTypeOf<string | null>();
  });
});
