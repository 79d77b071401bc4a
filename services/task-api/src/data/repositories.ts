import type { Reads, Repositories, Store } from "../domain/ports.ts";
import {
  deleteAccessToken,
  findAccessToken,
  findAccessTokenByHash,
  findAccessTokenPage,
  insertAccessToken,
  touchAccessToken,
} from "./access-token.repository.ts";
import { txSql, type Database, type Tx } from "./database.ts";
import { findStoredResponse, lockKey, storeResponse } from "./idempotency.repository.ts";
import {
  deleteList,
  findListPage,
  findListView,
  insertList,
  listExists,
  lockList,
  updateList,
} from "./list.repository.ts";
import { appendToOutbox } from "./outbox.repository.ts";
import { countMissingTags, countOwned, deleteUnusedTags, lockQuota } from "./quota.repository.ts";
import { findTagPage, replaceTaskTags } from "./tag.repository.ts";
import {
  completeSubtasks,
  deleteTask,
  findParent,
  findTaskIdByOccurrenceKey,
  findTaskIds,
  findTaskPage,
  findTaskView,
  findTaskViews,
  hasSubtasks,
  insertTask,
  insertTaskOnce,
  lockTask,
  moveSubtasks,
  reanchorAllDayTasks,
  updateTask,
} from "./task.repository.ts";
import {
  deleteUser,
  findMe,
  lockAccount,
  lockUserTimeZone,
  updateMe,
  userTimeZone,
} from "./user.repository.ts";

/** The domain's repositories, bound to one transaction (reads inside it see its writes). */
export function transactionRepositories(tx: Tx): Repositories {
  const sql = txSql(tx);
  return {
    tasks: {
      findView: (userId, id) => findTaskView(sql, userId, id),
      findViews: (userId, ids) => findTaskViews(sql, userId, ids),
      findPage: (userId, filter, sort, cursor, limit) =>
        findTaskPage(sql, userId, filter, sort, cursor, limit),
      findIds: (where) => findTaskIds(tx, where),
      lock: (userId, id) => lockTask(tx, userId, id),
      insert: (userId, fields) => insertTask(tx, userId, fields),
      insertOnce: (userId, fields, key) => insertTaskOnce(tx, userId, fields, key),
      findIdByOccurrenceKey: (userId, key) => findTaskIdByOccurrenceKey(tx, userId, key),
      update: (userId, id, fields) => updateTask(tx, userId, id, fields),
      moveSubtasks: (userId, parentId, listId) => moveSubtasks(tx, userId, parentId, listId),
      delete: (userId, id) => deleteTask(tx, userId, id),
      hasSubtasks: (userId, id) => hasSubtasks(tx, userId, id),
      completeSubtasks: (userId, parentId, at) => completeSubtasks(tx, userId, parentId, at),
      findParent: (userId, id) => findParent(tx, userId, id),
      reanchorAllDay: (userId, from, to) => reanchorAllDayTasks(tx, userId, from, to),
    },
    lists: {
      findView: (userId, id) => findListView(sql, userId, id),
      findPage: (userId, afterId, limit) => findListPage(sql, userId, afterId, limit),
      exists: (userId, id) => listExists(tx, userId, id),
      insert: (userId, name) => insertList(tx, userId, name),
      lock: (userId, id) => lockList(tx, userId, id),
      update: (userId, id, name) => updateList(tx, userId, id, name),
      delete: (userId, id) => deleteList(tx, userId, id),
    },
    tags: {
      findPage: (userId, after, limit) => findTagPage(sql, userId, after, limit),
      replaceTaskTags: (userId, taskId, names) => replaceTaskTags(tx, userId, taskId, names),
    },
    quotas: {
      lock: (userId, kind) => lockQuota(tx, userId, kind),
      countOwned: (userId, kind) => countOwned(tx, userId, kind),
      countMissingTags: (userId, names) => countMissingTags(tx, userId, names),
      deleteUnusedTags: (userId) => deleteUnusedTags(tx, userId),
    },
    users: {
      findMe: (userId) => findMe(tx, userId),
      lockTimeZone: (userId) => lockUserTimeZone(tx, userId),
      lockAccount: (userId) => lockAccount(tx, userId),
      timeZone: (userId) => userTimeZone(tx, userId),
      updateMe: (userId, fields) => updateMe(tx, userId, fields),
      delete: (userId) => deleteUser(tx, userId),
    },
    outbox: { append: (messages) => appendToOutbox(tx, messages) },
    accessTokens: { insert: (token) => insertAccessToken(tx, token) },
    idempotency: {
      lock: (userId, key) => lockKey(tx, userId, key),
      find: (userId, key, now) => findStoredResponse(tx, userId, key, now),
      store: (record) => storeResponse(tx, record),
    },
  };
}

/** Reads outside a transaction: the hot paths go straight to the pool (db.read). */
function reads(db: Database): Reads {
  return {
    tasks: {
      findView: (userId, id) => findTaskView(db.read, userId, id),
      findViews: (userId, ids) => findTaskViews(db.read, userId, ids),
      findPage: (userId, filter, sort, cursor, limit) =>
        findTaskPage(db.read, userId, filter, sort, cursor, limit),
    },
    lists: {
      findView: (userId, id) => findListView(db.read, userId, id),
      findPage: (userId, afterId, limit) => findListPage(db.read, userId, afterId, limit),
    },
    tags: { findPage: (userId, after, limit) => findTagPage(db.read, userId, after, limit) },
    users: { findMe: (userId) => findMe(db.prisma, userId) },
    accessTokens: {
      findPage: (userId, before, limit) => findAccessTokenPage(db.prisma, userId, before, limit),
      find: (userId, id) => findAccessToken(db.prisma, userId, id),
      findByHash: (tokenHash) => findAccessTokenByHash(db.read, tokenHash),
      delete: (userId, id) => deleteAccessToken(db.prisma, userId, id),
      touch: (id, now, minIntervalMs) => touchAccessToken(db.read, id, now, minIntervalMs),
    },
  };
}

/** The domain's Store on a Database: its transactions hand out transactionRepositories. */
export function createStore(db: Database): Store {
  return {
    read: reads(db),
    transaction: (work) => db.transaction((tx) => work(transactionRepositories(tx))),
  };
}
