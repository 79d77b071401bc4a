import {
  DEAD_LETTER_TOPICS,
  EVENT_TYPES,
  exampleEvents,
  isTaskEventType,
  isUserEventType,
  newEvent,
  parseEvent,
  TASK_EVENT_TYPES,
  TOPICS,
  topicFor,
  USER_EVENT_TYPES,
  userPartitionKeyFor,
} from "@taskmesh/contracts";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";

const example = exampleEvents()[EVENT_TYPES.userDeleted];

describe("dev.taskmesh.user.deleted.v1", () => {
  it("when its topic and key are asked, then it is user-events (with its dead-letter topic), keyed by user id", () => {
    expect(topicFor(EVENT_TYPES.userDeleted)).toBe(TOPICS.userEvents);
    expect(DEAD_LETTER_TOPICS[TOPICS.userEvents]).toBe("user-events.dead-letter");
    expect(userPartitionKeyFor(example)).toBe(example.data.userId);
    expect(userPartitionKeyFor(example.data)).toBe(example.data.userId);
  });

  it("when types are classified, then user.deleted is a user event and never a task event", () => {
    expect(isUserEventType(EVENT_TYPES.userDeleted)).toBe(true);
    expect(isTaskEventType(EVENT_TYPES.userDeleted)).toBe(false);
    expect((TASK_EVENT_TYPES as readonly string[]).includes(EVENT_TYPES.userDeleted)).toBe(false);
    expect(USER_EVENT_TYPES).toEqual([EVENT_TYPES.userDeleted]);
  });

  it("when a producer builds one, then it is a complete envelope from task-api", () => {
    const userId = randomUUID();
    const event = newEvent(
      EVENT_TYPES.userDeleted,
      { userId, occurredAt: "2026-12-01T10:00:00.000Z", actor: { kind: "user", id: userId } },
      { id: "0193a000-0000-7000-8000-000000000001" },
    );
    expect(event).toMatchObject({ source: "/taskmesh/task-api", datacontenttype: "application/json" });
  });

  it("when the data breaks the contract, then the producer throws and a consumer gets invalid-data", () => {
    const broken = [
      { ...example.data, userId: "" },
      { ...example.data, userId: "aliceAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
      { ...example.data, occurredAt: "not a time" },
      { userId: randomUUID(), occurredAt: example.data.occurredAt },
      { ...example.data, actor: { kind: "robot", id: "x" } },
    ];
    for (const data of broken) {
      expect(() => newEvent(EVENT_TYPES.userDeleted, data as never, { id: "x" })).toThrow();
      const parsed = parseEvent({ ...example, data }, USER_EVENT_TYPES);
      expect(parsed.ok ? "ok" : parsed.reason).toBe("invalid-data");
    }
    // A task subscriber does not take it.
    const asTask = parseEvent(example, TASK_EVENT_TYPES);
    expect(asTask.ok ? "ok" : asTask.reason).toBe("unknown-type");
  });
});
