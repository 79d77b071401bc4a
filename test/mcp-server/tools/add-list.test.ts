import { describe, expect, it } from "vitest";
import { call, ok, useAgent, textOf } from "../harness.ts";

const { client } = useAgent("read-write");

describe("add_list", () => {
  it("when an agent adds a list, then it exists with no tasks, and a retry with the key creates no second one", async () => {
    const result = await call(client, "add_list", { name: "Garden", idempotencyKey: "list-1" });
    const { list } = result.structuredContent as {
      list: { id: string; name: string; openTaskCount: number };
    };
    expect(list).toMatchObject({ name: "Garden", openTaskCount: 0 });
    expect(textOf(result)).toMatch(new RegExp(`^Created list ${list.id}\\.`));

    const again = await ok<{ list: { id: string } }>(client, "add_list", {
      name: "Garden",
      idempotencyKey: "list-1",
    });
    expect(again.list.id).toBe(list.id);
  });

  it("when the name is empty, then the input schema refuses it", async () => {
    const result = await call(client, "add_list", { name: "" });
    expect(result.isError).toBe(true);
  });
});
