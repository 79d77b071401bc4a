import { describe, expect, it } from "vitest";
import { call, ok, useAgent, textOf } from "../harness.ts";

interface Tags {
  tags: { id: string; name: string; openTaskCount: number }[];
  nextCursor: string | null;
}

const { client } = useAgent("read-write");

describe("list_tags", () => {
  it("when tasks carry tags, then each tag comes with its open task count, paged with a cursor", async () => {
    await ok(client, "add_task", { title: "one", tags: ["red", "blue"] });
    await ok(client, "add_task", { title: "two", tags: ["red"] });

    const all = await ok<Tags>(client, "list_tags", {});
    expect(Object.fromEntries(all.tags.map((t) => [t.name, t.openTaskCount]))).toEqual({ red: 2, blue: 1 });

    const first = await call(client, "list_tags", { limit: 1 });
    expect(textOf(first)).toMatch(/^1 tag\(s\)\. More exist/);
    const rest = await ok<Tags>(client, "list_tags", {
      limit: 1,
      cursor: (first.structuredContent as unknown as Tags).nextCursor,
    });
    expect(rest.tags).toHaveLength(1);
  });
});
