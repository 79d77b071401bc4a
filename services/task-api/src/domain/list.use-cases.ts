import { NotFoundError } from "@taskmesh/core";
import type { ListView, Repositories, Store, UnitOfWork } from "./ports.ts";
import { DEFAULT_QUOTAS, reserveQuota, type Quotas } from "./quotas.ts";
import { recordTaskChanges } from "./task-change-recorder.ts";
import { lockedAt, versionedWrite } from "./versioned.ts";

/**
 * Lists. Each write runs in its own transaction unless given the unit of work of a larger
 * one (`within`: an idempotent POST records its response in the same transaction).
 */
export function createListUseCases(
  store: Store,
  clock: () => Date = () => new Date(),
  quotas: Quotas = DEFAULT_QUOTAS,
) {
  const locked = (repos: Repositories, userId: string, id: string, expectedVersion: number | undefined) =>
    lockedAt("list", repos.lists.lock(userId, id), expectedVersion);
  async function viewAfterWrite(repos: Repositories, userId: string, id: string): Promise<ListView> {
    const view = await repos.lists.findView(userId, id);
    if (!view) throw new Error(`list ${id} vanished inside its own transaction`);
    return view;
  }

  return {
    async get(userId: string, id: string): Promise<ListView> {
      const view = await store.read.lists.findView(userId, id);
      if (!view) throw new NotFoundError("List");
      return view;
    },
    page(userId: string, afterId: string | undefined, limit: number) {
      return store.read.lists.findPage(userId, afterId, limit);
    },
    create(userId: string, name: string, within: UnitOfWork = store.transaction): Promise<ListView> {
      return within(async (repos) => {
        await reserveQuota(repos, quotas, userId, "lists");
        return viewAfterWrite(repos, userId, await repos.lists.insert(userId, name));
      });
    },
    rename(
      userId: string,
      id: string,
      name: string | undefined,
      expectedVersion?: number,
      within: UnitOfWork = store.transaction,
    ): Promise<ListView> {
      return within(async (repos) => {
        await locked(repos, userId, id, expectedVersion);
        if (name !== undefined) await repos.lists.update(userId, id, name);
        return viewAfterWrite(repos, userId, id);
      });
    },
    /** Deletes the list and every task in it. */
    remove: versionedWrite(
      "list",
      store,
      (repos, userId, id) => repos.lists.lock(userId, id),
      async (repos, _list, { userId, id, actor }): Promise<void> => {
        // Its tasks go with it (ON DELETE CASCADE), each with its task.deleted event.
        const tasks = await repos.tasks.findIds({ userId, listId: id });
        await recordTaskChanges(repos, userId, actor, tasks, clock(), async () => {
          await repos.lists.delete(userId, id);
        });
      },
    ),
  };
}

export type ListUseCases = ReturnType<typeof createListUseCases>;
