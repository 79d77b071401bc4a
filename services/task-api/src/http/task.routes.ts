import { createHash } from "node:crypto";
import {
  BadRequestError,
  decodeCursor,
  encodeCursor,
  invalidCursor,
  parseBody,
  parseQuery,
} from "@taskmesh/core";
import { isDateOnly } from "@taskmesh/recurrence";
import express, { type Request, type Response, type Router } from "express";
import { z } from "zod";
import { actingService, currentActor, currentUserId } from "../auth/authenticate.ts";
import type { DueBound, SortKey, SortTerm, TaskFilter } from "../data/task-query.ts";
import type { TaskView } from "../data/task.repository.ts";
import type { IdempotentWrite } from "../domain/idempotent-write.use-case.ts";
import { normalizeTagName } from "../domain/tag.rules.ts";
import { searchWords } from "../domain/task-search.ts";
import type { TaskListQuery, TaskUseCases } from "../domain/task.use-cases.ts";
import { runPost, type HttpResult } from "./idempotency.ts";
import { etag, pathId } from "./parse.ts";
import { writeTarget } from "./write-target.ts";
import { createTaskBody, listTasksQuery, PRIORITIES, updateTaskBody } from "@taskmesh/contracts";

const cursorSchema = z.object({
  s: z.string(),
  v: z.array(z.union([z.string(), z.number(), z.null()])),
  id: z.uuid(),
});

/**
 * What a cursor may hold for each sort key. A client can edit a cursor (it is only base64url
 * JSON); a value of the wrong shape would otherwise fail in the SQL casts with a 500.
 */
const timestamp = z.iso.datetime().refine((v) => Date.parse(v) >= Date.parse("0001-01-01T00:00:00Z"));
const cursorValue: Record<SortKey, z.ZodType> = {
  dueAt: timestamp.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
  priority: z.enum(PRIORITIES),
  title: z.string().refine((s) => !s.includes("\u0000")),
  // ts_rank_cd is a PostgreSQL real: no value outside its range may be cast to it.
  rank: z.number().refine((n) => n === 0 || (Math.abs(n) >= 1.2e-38 && Math.abs(n) <= 3.4e38)),
};

const bound = (value: string | undefined): DueBound | undefined =>
  value === undefined ? undefined : isDateOnly(value) ? { date: value } : { instant: value };

/** Turns validated query parameters into the repository's filter, sort and cursor. */
function toListQuery(query: z.infer<typeof listTasksQuery>): { listQuery: TaskListQuery; signature: string } {
  let search: string[] | undefined;
  if (query.q !== undefined) {
    search = searchWords(query.q);
    if (search === undefined) {
      throw new BadRequestError("q must contain at least one word.", {
        issues: [{ pointer: "/q", in: "query", detail: "has no word to search for" }],
      });
    }
  }
  const filter: TaskFilter = {
    status: query.status,
    priorities: query.priority,
    tags: query.tag?.map(normalizeTagName),
    tagMatch: query.tagMatch,
    listId: query.listId,
    parentId: query.parentId,
    dueBefore: bound(query.dueBefore),
    dueAfter: bound(query.dueAfter),
    overdue: query.overdue,
    search,
  };
  const sort: SortTerm[] =
    query.sort ?? (search ? [{ key: "rank", desc: true }] : [{ key: "dueAt", desc: false }]);
  // A cursor is only valid for the filters and sort it was issued for.
  const signature = createHash("sha256")
    .update(JSON.stringify([filter, sort]))
    .digest("base64url")
    .slice(0, 16);
  let cursor;
  if (query.cursor !== undefined) {
    const decoded = decodeCursor(cursorSchema, query.cursor);
    if (decoded.s !== signature || decoded.v.length !== sort.length) throw invalidCursor();
    if (sort.some((term, i) => !cursorValue[term.key].safeParse(decoded.v[i]).success)) throw invalidCursor();
    cursor = { values: decoded.v, id: decoded.id };
  }
  return { listQuery: { filter, sort, cursor, limit: query.limit }, signature };
}

function created(task: TaskView, status = 201): HttpResult {
  return { status, headers: { Location: `/v1/tasks/${task.id}`, ETag: etag(task.version) }, body: task };
}

/**
 * The occurrence a trusted service (recurring-tasks) creates: "<completed task id>/<its dueAt>".
 * Only honoured from trusted services; from users the header is ignored, like every other
 * service-only header.
 */
const OCCURRENCE_KEY_HEADER = "x-taskmesh-occurrence-key";

function occurrenceKey(req: Request, res: Response): string | undefined {
  const key = req.header(OCCURRENCE_KEY_HEADER);
  if (key === undefined || actingService(res) === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,200}$/.test(key)) {
    throw new BadRequestError(`${OCCURRENCE_KEY_HEADER} must be 1-200 visible ASCII characters.`, {
      issues: [
        {
          pointer: `/${OCCURRENCE_KEY_HEADER}`,
          in: "header",
          detail: "must be 1-200 visible ASCII characters",
        },
      ],
    });
  }
  return key;
}

function ok(task: TaskView): HttpResult {
  return { status: 200, headers: { ETag: etag(task.version) }, body: task };
}

export function taskRoutes(tasks: TaskUseCases, write: IdempotentWrite): Router {
  const router = express.Router();

  router.get("/tasks", async (req, res) => {
    const { listQuery, signature } = toListQuery(parseQuery(listTasksQuery, req));
    const page = await tasks.list(currentUserId(res), listQuery);
    res.json({
      data: page.data,
      nextCursor: page.next ? encodeCursor({ s: signature, v: page.next.values, id: page.next.id }) : null,
    });
  });

  router.post("/tasks", async (req, res) => {
    const userId = currentUserId(res);
    const input = parseBody(createTaskBody, req);
    const options = { actor: currentActor(res), occurrenceKey: occurrenceKey(req, res) };
    await runPost(write, req, res, userId, async (within) => {
      const result = await tasks.create(userId, input, options, within);
      // An occurrence that exists already: 200 with that task, not a second one.
      return created(result.task, result.created ? 201 : 200);
    });
  });

  router.get("/tasks/:id", async (req, res) => {
    const task = await tasks.get(currentUserId(res), pathId(req, "Task"));
    const tag = etag(task.version);
    res.setHeader("ETag", tag);
    if (req.header("if-none-match") === tag) {
      res.status(304).end();
      return;
    }
    res.json(task);
  });

  router.patch("/tasks/:id", async (req, res) => {
    const { userId, id, version, actor } = writeTarget(req, res, "Task");
    const input = parseBody(updateTaskBody, req);
    const task = await tasks.update(userId, id, input, version, actor);
    res.setHeader("ETag", etag(task.version)).json(task);
  });

  router.delete("/tasks/:id", async (req, res) => {
    const { userId, id, version, actor } = writeTarget(req, res, "Task");
    await tasks.remove(userId, id, version, actor);
    res.status(204).end();
  });

  for (const action of ["complete", "reopen"] as const) {
    router.post(`/tasks/:id/${action}`, async (req, res) => {
      const { userId, id, version, actor } = writeTarget(req, res, "Task");
      await runPost(write, req, res, userId, async (within) =>
        ok(await tasks[action](userId, id, version, actor, within)),
      );
    });
  }

  return router;
}
