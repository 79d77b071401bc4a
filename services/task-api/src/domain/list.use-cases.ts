import { NotFoundError, PreconditionFailedError } from "@taskmesh/core";
import { txSql, type Database, type Tx } from "../data/database.ts";
import { findTaskIds } from "../data/task.repository.ts";
import { recordTaskChanges } from "./task-change-recorder.ts";
import { userActor, type Actor } from "./task-events.ts";
import { DEFAULT_QUOTAS, reserveQuota, type Quotas } from "./quotas.ts";
import {
  deleteList,
  findListPage,
  findListView,
  insertList,
  lockList,
  updateList,
  type ListView,
} from "../data/list.repository.ts";

export function createListUseCases(
  db: Database,
  clock: () => Date = () => new Date(),
  quotas: Quotas = DEFAULT_QUOTAS,
) {
  async function locked(
    tx: Tx,
    userId: string,
    id: string,
    expectedVersion: number | undefined,
  ): Promise<void> {
    const list = await lockList(tx, userId, id);
    if (!list) throw new NotFoundError("List");
    if (expectedVersion !== undefined && list.version !== expectedVersion) {
      throw new PreconditionFailedError(`The list is at version ${list.version}, not ${expectedVersion}.`, {
        extensions: { currentVersion: list.version },
      });
    }
  }
  async function viewAfterWrite(tx: Tx, userId: string, id: string): Promise<ListView> {
    const view = await findListView(txSql(tx), userId, id);
    if (!view) throw new Error(`list ${id} vanished inside its own transaction`);
    return view;
  }

  return {
    async get(userId: string, id: string): Promise<ListView> {
      const view = await findListView(db.read, userId, id);
      if (!view) throw new NotFoundError("List");
      return view;
    },
    page(userId: string, afterId: string | undefined, limit: number) {
      return findListPage(db.read, userId, afterId, limit);
    },
    async create(tx: Tx, userId: string, name: string): Promise<ListView> {
      await reserveQuota(tx, quotas, userId, "lists");
      return viewAfterWrite(tx, userId, await insertList(tx, userId, name));
    },
    async rename(
      tx: Tx,
      userId: string,
      id: string,
      name: string | undefined,
      expectedVersion?: number,
    ): Promise<ListView> {
      await locked(tx, userId, id, expectedVersion);
      if (name !== undefined) await updateList(tx, userId, id, name);
      return viewAfterWrite(tx, userId, id);
    },
    /** Deletes the list and every task in it. */
    async remove(
      tx: Tx,
      userId: string,
      id: string,
      expectedVersion?: number,
      actor: Actor = userActor(userId),
    ): Promise<void> {
      await locked(tx, userId, id, expectedVersion);
      // Its tasks go with it (ON DELETE CASCADE), each with its task.deleted event.
      const tasks = await findTaskIds(tx, { userId, listId: id });
      await recordTaskChanges(
        tx,
        userId,
        actor,
        tasks,
        async () => {
          await deleteList(tx, userId, id);
          return undefined;
        },
        clock(),
      );
    },
  };
}

export type ListUseCases = ReturnType<typeof createListUseCases>;
