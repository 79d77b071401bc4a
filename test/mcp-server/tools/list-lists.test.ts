import { describe, expect, it } from "vitest";
import { call, ok, useAgent, textOf } from "../harness.ts";

interface Lists {
  lists: { id: string; name: string; openTaskCount: number; version: number }[];
  nextCursor: string | null;
}

const { client } = useAgent("read-write");

describe("list_lists", () => {
  it("when the user has lists, then each comes with its open task count, paged with a cursor", async () => {
    for (const name of ["Alpha", "Beta", "Gamma"]) await ok(client, "add_list", { name });
    const alpha = (await ok<Lists>(client, "list_lists", {})).lists.find((l) => l.name === "Alpha");
    await ok(client, "add_task", { title: "in alpha", listId: alpha?.id });

    const first = await call(client, "list_lists", { limit: 2 });
    const page = first.structuredContent as unknown as Lists;
    expect(page.lists).toHaveLength(2);
    expect(page.nextCursor).not.toBeNull();
    expect(textOf(first)).toMatch(/^2 list\(s\)\. More exist: call again with cursor = nextCursor\./);
    const rest = await ok<Lists>(client, "list_lists", { limit: 2, cursor: page.nextCursor });
    expect(rest.nextCursor).toBeNull();

    const all = [...page.lists, ...rest.lists];
    expect(all.map((l) => l.name).sort()).toEqual(["Alpha", "Beta", "Gamma"]);
    expect(all.find((l) => l.name === "Alpha")?.openTaskCount).toBe(1);
  });
});
