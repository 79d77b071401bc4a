import { readFile } from "node:fs/promises";
import path from "node:path";
import asyncApiSpecs from "@asyncapi/specs";
import {
  ALL_EVENT_TYPES,
  buildAsyncApiDocument,
  DEAD_LETTER_TOPICS,
  EVENT_CATALOG,
  exampleEvents,
  TOPICS,
} from "@taskmesh/contracts";
import { Ajv, type ErrorObject } from "ajv";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const document = buildAsyncApiDocument();

function errorsText(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`).join("\n");
}

/** Ajv (JSON Schema draft-07, which is what the AsyncAPI 3.0.0 schema is written in) with formats. */
function draft07(): Ajv {
  // strict off: the official schema uses keywords ajv's strict mode does not know.
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv;
}

/**
 * The validator for AsyncAPI documents. The official 3.0.0 schema embeds its own copy of the
 * draft-07 meta-schema (which payload Schema Objects are checked against), so ajv must not add
 * its built-in copy under the same $id.
 */
function asyncApiValidator() {
  const ajv = new Ajv({ allErrors: true, strict: false, meta: false, validateSchema: false });
  addFormats(ajv);
  return ajv.compile(asyncApiSpecs.schemas["3.0.0"]);
}

describe("docs/asyncapi.json", () => {
  it("when the document is generated, then it equals the committed file (run `npm run asyncapi`)", async () => {
    const committed: unknown = JSON.parse(await readFile(path.join(root, "docs/asyncapi.json"), "utf8"));
    expect(committed).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it("when validated against the official AsyncAPI 3.0.0 JSON Schema, then it is valid", () => {
    const validate = asyncApiValidator();
    const valid = validate(document);
    expect(valid, errorsText(validate.errors)).toBe(true);
  });

  it("when a document breaks the AsyncAPI schema, then the same validation rejects it", () => {
    const validate = asyncApiValidator();
    expect(validate({ ...document, asyncapi: "2.6.0" })).toBe(false);
    expect(validate({ ...document, operations: { bad: { action: "publish", channel: {} } } })).toBe(false);
    // Payload schemas are checked too (against the draft-07 meta-schema the official schema embeds).
    const badSchema = { ...document.components.schemas, TaskSnapshot: { type: "banana" } };
    expect(validate({ ...document, components: { ...document.components, schemas: badSchema } })).toBe(false);
  });
});

describe("the document's content", () => {
  it("when channels are listed, then they are the three topics and their dead-letter topics", () => {
    expect(Object.values(document.channels).map((c) => c.address)).toEqual([
      TOPICS.taskEvents,
      DEAD_LETTER_TOPICS[TOPICS.taskEvents],
      TOPICS.reminders,
      DEAD_LETTER_TOPICS[TOPICS.reminders],
      TOPICS.userEvents,
      DEAD_LETTER_TOPICS[TOPICS.userEvents],
    ]);
  });

  it("when operations are listed, then task-api and notifications send and the consumers receive", () => {
    const summary = Object.values(document.operations).map(
      (o) => `${o["x-dapr-app-id"]} ${o.action} ${o.channel.$ref}`,
    );
    expect(summary).toEqual([
      "task-api send #/channels/task-events",
      "audit-log receive #/channels/task-events",
      "recurring-tasks receive #/channels/task-events",
      "notifications receive #/channels/task-events",
      "notifications send #/channels/reminders",
      "notifications receive #/channels/reminders",
      "task-api send #/channels/user-events",
      "audit-log receive #/channels/user-events",
      "notifications receive #/channels/user-events",
    ]);
  });

  it("when every $ref is followed, then it points at something in the document", () => {
    const refs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === "object") {
        for (const [key, value] of Object.entries(node)) {
          if (key === "$ref" && typeof value === "string") refs.push(value);
          else walk(value);
        }
      }
    };
    walk(document);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      expect(ref.startsWith("#/"), ref).toBe(true);
      const target = ref
        .slice(2)
        .split("/")
        .reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], document);
      expect(target, ref).toBeDefined();
    }
  });

  it("when each message's example is checked against its generated payload schema, then it is valid", () => {
    const ajv = draft07();
    // Register the document's schemas under its own URI so #/components/schemas/... refs resolve.
    ajv.addSchema({ ...document, $id: "https://taskmesh.test/asyncapi.json" }, "doc");
    const examples = exampleEvents();
    for (const type of ALL_EVENT_TYPES) {
      const message = Object.values(document.components.messages).find((m) => m.name === type);
      expect(message, type).toBeDefined();
      const ref = (message?.payload as { $ref: string }).$ref;
      const validate = ajv.getSchema(`https://taskmesh.test/asyncapi.json${ref}`);
      expect(validate, ref).toBeDefined();
      expect(validate?.(examples[type]), errorsText(validate?.errors)).toBe(true);
      // ...and the zod schema agrees on the same example.
      expect(EVENT_CATALOG[type].schema.safeParse(examples[type]).success).toBe(true);
    }
  });

  it("when the generated JSON Schema meets invalid data, then it refuses what zod refuses", () => {
    const ajv = draft07();
    ajv.addSchema({ ...document, $id: "https://taskmesh.test/asyncapi.json" }, "doc");
    const validate = ajv.getSchema(
      "https://taskmesh.test/asyncapi.json#/components/schemas/TaskUpdatedEvent",
    );
    const example = exampleEvents()["dev.taskmesh.task.updated.v1"];
    const broken = [
      { ...example, specversion: "0.3" },
      { ...example, data: { ...example.data, taskId: "nope" } },
      { ...example, data: { ...example.data, task: { ...example.data.task, priority: "critical" } } },
      { ...example, data: { ...example.data, changes: { title: { from: "a" } } } },
    ];
    for (const event of broken) {
      expect(validate?.(event)).toBe(false);
      expect(EVENT_CATALOG["dev.taskmesh.task.updated.v1"].schema.safeParse(event).success).toBe(false);
    }
  });
});
