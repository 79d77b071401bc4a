/**
 * The layer rules of eslint.config.js (STYLE.md, "The house"): domain/ imports no HTTP, no
 * database driver and no other room; http/ imports only the types of data/; data/, events/ and
 * workers/ never import http/. Each rule is shown to fire on a snippet and to let the allowed
 * imports through, and the services' real sources are shown to keep them all.
 */
import path from "node:path";
import { ESLint } from "eslint";
import { beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const RULE = "@typescript-eslint/no-restricted-imports";
const SERVICES = ["audit-log", "mcp-server", "notifications", "recurring-tasks", "task-api"];

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({
    cwd: root,
    // Only the layer rule runs, so no type information is needed: parsing without the
    // TypeScript project keeps this test fast and lets snippets name files that do not exist.
    ruleFilter: ({ ruleId }) => ruleId === RULE,
    overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  });
});

/** The layer-rule messages for `code` as if it were the file `filePath`. */
async function restricted(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  if (!result) throw new Error(`no lint result for ${filePath}`);
  const fatal = result.messages.filter((m) => m.fatal);
  if (fatal.length > 0) throw new Error(fatal.map((m) => m.message).join("\n"));
  return result.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe("domain/", () => {
  const domainFile = "services/task-api/src/domain/x.ts";

  it.each([
    ['import express from "express";', "express"],
    ['import type { Request } from "express";', "express"],
    ['import { rateLimit } from "express-rate-limit";', "express-rate-limit"],
    ['import { createDocument } from "zod-openapi";', "zod-openapi"],
    ['import pg from "pg";', "pg"],
    ['import type pg from "pg";', "pg"],
    ['import { PrismaClient } from "@prisma/client";', "@prisma/client"],
    ['import { PrismaClient } from "@taskmesh/db";', "@taskmesh/db"],
    ['import type { Priority } from "@taskmesh/db";', "@taskmesh/db"],
    ['import { PrismaClient } from "../../../../packages/db/src/generated/prisma/client.ts";', "generated"],
    ['import { findTaskView } from "../data/task.repository.ts";', "../data/task.repository.ts"],
    ['import type { TaskView } from "../data/task.repository.ts";', "../data/task.repository.ts"],
    ['import { parseBody } from "../http/parse.ts";', "../http/parse.ts"],
    ['import type { HttpResult } from "../http/idempotency.ts";', "../http/idempotency.ts"],
    ['import { createOutboxRelay } from "../workers/outbox-relay.worker.ts";', "../workers/"],
  ])("when a domain file says %s, then lint refuses it", async (code, named) => {
    const messages = await restricted(`${code}\n`, domainFile);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(named);
  });

  it.each(SERVICES)(
    "when a domain file of %s imports express or data/, then lint refuses both",
    async (service) => {
      const messages = await restricted(
        'import express from "express";\nimport { x } from "../data/x.repository.ts";\n',
        `services/${service}/src/domain/x.use-case.ts`,
      );
      expect(messages).toHaveLength(2);
    },
  );

  it("when a domain file imports its ports (types only), its siblings, contracts and core, then lint allows it", async () => {
    const code = [
      'import { NotFoundError } from "@taskmesh/core";',
      'import { EVENT_TYPES } from "@taskmesh/contracts";',
      'import type { SidecarClient } from "@taskmesh/dapr";',
      'import type { Repositories, Store } from "./ports.ts";',
      'import { normalizeTagName } from "./tag.rules.ts";',
      'import { v7 as uuidv7 } from "uuid";',
      'import { z } from "zod";',
      "",
    ].join("\n");
    expect(await restricted(code, domainFile)).toEqual([]);
  });
});

describe("http/", () => {
  const httpFile = "services/task-api/src/http/x.routes.ts";

  it.each([
    ['import { findTaskView } from "../data/task.repository.ts";', "../data/task.repository.ts"],
    [
      'import { findTaskView, type TaskView } from "../data/task.repository.ts";',
      "../data/task.repository.ts",
    ],
    ['import * as tasks from "../data/task.repository.ts";', "../data/task.repository.ts"],
    ['import pg from "pg";', "pg"],
    ['import type pg from "pg";', "pg"],
    ['import type { PrismaClient } from "@taskmesh/db";', "@taskmesh/db"],
    ['import { Prisma } from "@prisma/client";', "@prisma/client"],
  ])("when an http file says %s, then lint refuses it", async (code, named) => {
    const messages = await restricted(`${code}\n`, httpFile);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(named);
  });

  it("when an http file imports only types from data/, and express and the domain, then lint allows it", async () => {
    const code = [
      'import express, { type Router } from "express";',
      'import type { TaskView } from "../data/task.repository.ts";',
      'import { type TaskFilter } from "../data/task-query.ts";',
      'import { normalizeTagName } from "../domain/tag.rules.ts";',
      'import type { TaskUseCases } from "../domain/task.use-cases.ts";',
      'import { BadRequestError } from "@taskmesh/core";',
      "",
    ].join("\n");
    expect(await restricted(code, httpFile)).toEqual([]);
  });
});

describe("data/, events/ and workers/", () => {
  it.each([
    ["services/task-api/src/data/x.repository.ts", 'import { parseBody } from "../http/parse.ts";'],
    [
      "services/task-api/src/data/x.repository.ts",
      'import type { HttpResult } from "../http/idempotency.ts";',
    ],
    [
      "services/audit-log/src/events/x.subscription.ts",
      'import { historyRoutes } from "../http/history.routes.ts";',
    ],
    ["services/notifications/src/events/x.ts", 'import type { LiveStream } from "../http/live-stream.ts";'],
    ["services/task-api/src/workers/x.worker.ts", 'import { runPost } from "../http/idempotency.ts";'],
  ])("when %s says %s, then lint refuses it", async (filePath, code) => {
    const messages = await restricted(`${code}\n`, filePath);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain("../http/");
  });

  it("when data/, events/ and workers/ import the domain, data/ and the drivers, then lint allows it", async () => {
    const data = [
      'import type pg from "pg";',
      'import type { PrismaClient } from "@taskmesh/db";',
      'import type { Repositories } from "../domain/ports.ts";',
      'import { normalizeTagName } from "../domain/tag.rules.ts";',
      "",
    ].join("\n");
    expect(await restricted(data, "services/task-api/src/data/x.repository.ts")).toEqual([]);
    const worker = 'import { deleteExpired } from "../data/idempotency.repository.ts";\n';
    expect(await restricted(worker, "services/task-api/src/workers/x.worker.ts")).toEqual([]);
    const events =
      'import type { RequestHandler } from "express";\nimport { withTransaction } from "../data/transaction.ts";\n';
    expect(await restricted(events, "services/notifications/src/events/x.ts")).toEqual([]);
  });

  it("when the composition root wires data/ into routes, then lint allows it (the rules are per room)", async () => {
    const code =
      'import express from "express";\nimport { findTaskView } from "./data/task.repository.ts";\n';
    expect(await restricted(code, "services/task-api/src/app.ts")).toEqual([]);
    expect(await restricted(code, "services/task-api/src/compose.ts")).toEqual([]);
  });
});

describe("the services' sources", () => {
  it("when every file of services/*/src is linted with the layer rules, then none breaks them", async () => {
    const results = await eslint.lintFiles(SERVICES.map((s) => `services/${s}/src`));
    const linted = results.map((r) => path.relative(root, r.filePath));
    // Every service's rooms were looked at, not an empty glob.
    for (const service of SERVICES)
      expect(
        linted.some(
          (f) =>
            f.startsWith(`services/${service}/src/http/`) || f.startsWith(`services/${service}/src/events/`),
        ),
      ).toBe(true);
    expect(linted.filter((f) => f.includes("/src/domain/")).length).toBeGreaterThan(10);
    const problems = results.flatMap((r) =>
      r.messages.map(
        (m) => `${path.relative(root, r.filePath)}:${m.line} ${m.ruleId ?? "fatal"} ${m.message}`,
      ),
    );
    expect(problems).toEqual([]);
  });
});
