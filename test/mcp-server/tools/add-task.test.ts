import { describe, expect, it } from "vitest";
import { call, failed, ok, useAgent, textOf, type Task } from "../harness.ts";

const { h, user, client } = useAgent("read-write", { timeZone: "Europe/Berlin" });

describe("add_task", () => {
  it("when an agent adds a task with every field, then task-api has it as the user's and the result carries it", async () => {
    const list = (await h.api.request.post("/v1/lists").set(user.auth).send({ name: "Home" }).expect(201))
      .body as { id: string };
    // A subtask lives in its parent's list.
    const parent = (await ok<{ task: Task }>(client, "add_task", { title: "parent", listId: list.id })).task;

    const result = await call(client, "add_task", {
      title: "Water the plants",
      description: "the big ones",
      priority: "medium",
      tags: ["home"],
      listId: list.id,
      parentId: parent.id,
      dueAt: "2030-06-01T08:00:00+02:00",
      recurrence: "FREQ=WEEKLY;BYDAY=SA",
      remindAt: "2030-06-01T07:30:00+02:00",
    });

    expect(result.isError ?? false, textOf(result)).toBe(false);
    const { task } = result.structuredContent as { task: Task };
    expect(task).toMatchObject({
      title: "Water the plants",
      description: "the big ones",
      priority: "medium",
      tags: ["home"],
      listId: list.id,
      parentId: parent.id,
      dueAt: "2030-06-01T06:00:00.000Z",
      recurrence: "FREQ=WEEKLY;BYDAY=SA",
      allDay: false,
    });
    expect(textOf(result)).toMatch(
      new RegExp(`^Created task ${task.id} \\(open, due 2030-06-01, version 1\\)\\.`),
    );
    const stored = await h.api.request.get(`/v1/tasks/${task.id}`).set(user.auth).expect(200);
    expect((stored.body as Task).title).toBe("Water the plants");
  });

  it("when dueAt is a date, then the task is all-day on that date", async () => {
    const { task } = await ok<{ task: Task }>(client, "add_task", { title: "all day", dueAt: "2030-05-04" });
    expect(task).toMatchObject({ allDay: true, dueDate: "2030-05-04" });
  });

  it("when the agent retries with the same idempotencyKey, then the task is created once", async () => {
    const first = (await ok<{ task: Task }>(client, "add_task", { title: "once", idempotencyKey: "k-add-1" }))
      .task;
    const again = (await ok<{ task: Task }>(client, "add_task", { title: "once", idempotencyKey: "k-add-1" }))
      .task;
    expect(again.id).toBe(first.id);

    const reused = await failed(client, "add_task", { title: "something else", idempotencyKey: "k-add-1" });
    expect(reused).toMatch(/Idempotency-Key was used with a different request/);
  });

  it("when task-api refuses a value, then isError validation-failed names the field and how to fix it", async () => {
    const text = await failed(client, "add_task", {
      title: "bad rule",
      dueAt: "2030-01-01",
      recurrence: "FREQ=SOMETIMES",
    });
    expect(text).toMatch(/^Error \(validation-failed\)/);
    expect(text).toMatch(/Fields: .*recurrence/);
    expect(text).toContain("How to fix: Fix the named fields and call again");

    const badDate = await failed(client, "add_task", { title: "bad date", dueAt: "2030-02-30" });
    expect(badDate).toMatch(/dueAt/);
  });

  it("when the arguments break the input schema, then isError before task-api is asked", async () => {
    const result = await call(client, "add_task", { title: "" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Input validation error[\s\S]*title/);
  });
});
