/**
 * What the use cases need from storage, as plain objects: data/repositories.ts implements
 * these with Prisma and SQL. The domain never sees a transaction client, only a Store whose
 * transaction hands it repositories bound to that transaction.
 */
import type { AccessTokenView, StoredAccessToken, TokenScope } from "../data/access-token.repository.ts";
import type { StoredResponse } from "../data/idempotency.repository.ts";
import type { ListView } from "../data/list.repository.ts";
import type { QuotaKind } from "../data/quota.repository.ts";
import type { TagView } from "../data/tag.repository.ts";
import type { CursorPosition, SortTerm, TaskFilter } from "../data/task-query.ts";
import type { TaskFields, TaskPage, TaskRecord, TaskView } from "../data/task.repository.ts";
import type { MeView } from "../data/user.repository.ts";

/** JSON as an outbox event carries it. */
export type JsonValue = string | number | boolean | JsonObject | readonly (JsonValue | null)[];
export interface JsonObject {
  readonly [key: string]: JsonValue | null | undefined;
}

/** An event to publish, written in the same transaction as the change it describes. */
export interface OutboxMessage {
  topic: string;
  type: string;
  partitionKey: string;
  data: JsonValue;
}

export interface Page<T, C> {
  data: T[];
  /** Where the next page starts, when there may be more. */
  next: C | undefined;
}

export interface TaskReads {
  findView(userId: string, id: string): Promise<TaskView | undefined>;
  findViews(userId: string, ids: string[]): Promise<TaskView[]>;
  findPage(
    userId: string,
    filter: TaskFilter,
    sort: SortTerm[],
    cursor: CursorPosition | undefined,
    limit: number,
  ): Promise<TaskPage>;
}

export interface TaskRepository extends TaskReads {
  findIds(where: { userId: string; parentId?: string; listId?: string; allDay?: boolean }): Promise<string[]>;
  /** The task, locked until the transaction ends. */
  lock(userId: string, id: string): Promise<TaskRecord | undefined>;
  insert(userId: string, fields: TaskFields & { title: string }): Promise<string>;
  /** Inserts unless a task with this occurrence key exists; undefined then. */
  insertOnce(
    userId: string,
    fields: TaskFields & { title: string },
    occurrenceKey: string,
  ): Promise<string | undefined>;
  findIdByOccurrenceKey(userId: string, occurrenceKey: string): Promise<string | undefined>;
  update(userId: string, id: string, fields: TaskFields): Promise<void>;
  /** Moves a task's subtasks to a list (they follow their parent). */
  moveSubtasks(userId: string, parentId: string, listId: string | null): Promise<void>;
  delete(userId: string, id: string): Promise<boolean>;
  hasSubtasks(userId: string, id: string): Promise<boolean>;
  completeSubtasks(userId: string, parentId: string, at: Date): Promise<void>;
  findParent(
    userId: string,
    id: string,
  ): Promise<{ parentId: string | null; listId: string | null } | undefined>;
  /** Moves every all-day task of the user to the same calendar date in another zone. */
  reanchorAllDay(userId: string, from: string, to: string): Promise<void>;
}

export interface ListReads {
  findView(userId: string, id: string): Promise<ListView | undefined>;
  findPage(userId: string, afterId: string | undefined, limit: number): Promise<Page<ListView, string>>;
}

export interface ListRepository extends ListReads {
  exists(userId: string, id: string): Promise<boolean>;
  insert(userId: string, name: string): Promise<string>;
  lock(userId: string, id: string): Promise<{ version: number } | undefined>;
  update(userId: string, id: string, name: string): Promise<void>;
  delete(userId: string, id: string): Promise<boolean>;
}

export interface TagReads {
  findPage(userId: string, after: string | undefined, limit: number): Promise<Page<TagView, string>>;
}

export interface TagRepository extends TagReads {
  /** Makes a task's tags exactly `names`, creating the user's tags that do not exist yet. */
  replaceTaskTags(userId: string, taskId: string, names: string[]): Promise<void>;
}

export interface QuotaRepository {
  /** Serialises, until the transaction ends, everything that may add rows of `kind` for the user. */
  lock(userId: string, kind: QuotaKind): Promise<void>;
  countOwned(userId: string, kind: QuotaKind): Promise<number>;
  countMissingTags(userId: string, normalizedNames: string[]): Promise<number>;
  deleteUnusedTags(userId: string): Promise<number>;
}

export interface UserReads {
  findMe(userId: string): Promise<MeView | undefined>;
}

export interface UserRepository extends UserReads {
  /** The account's time zone, the row locked; undefined when the account is gone. */
  lockTimeZone(userId: string): Promise<string | undefined>;
  /** Whether the account exists, held so it cannot be deleted until the transaction ends. */
  lockAccount(userId: string): Promise<boolean>;
  timeZone(userId: string): Promise<string | undefined>;
  updateMe(userId: string, fields: { name?: string; timeZone?: string }): Promise<void>;
  delete(userId: string): Promise<boolean>;
}

export interface OutboxRepository {
  append(messages: OutboxMessage[]): Promise<void>;
}

export interface AccessTokenReads {
  findPage(userId: string, before: string | undefined, limit: number): Promise<Page<AccessTokenView, string>>;
  find(userId: string, id: string): Promise<AccessTokenView | undefined>;
  findByHash(tokenHash: string): Promise<StoredAccessToken | undefined>;
  /** Outside any transaction: revoking and recording a use are single statements. */
  delete(userId: string, id: string): Promise<boolean>;
  touch(id: string, now: Date, minIntervalMs: number): Promise<void>;
}

export interface AccessTokenRepository {
  insert(token: {
    userId: string;
    name: string;
    scope: TokenScope;
    tokenHash: string;
    prefix: string;
    expiresAt: Date;
    createdAt: Date;
  }): Promise<AccessTokenView>;
}

export interface IdempotencyRepository {
  /** Serialises requests with the same key: a concurrent retry waits, then replays. */
  lock(userId: string, key: string): Promise<void>;
  find(userId: string, key: string, now: Date): Promise<StoredResponse | undefined>;
  store(
    record: { userId: string; key: string; method: string; path: string; expiresAt: Date } & StoredResponse,
  ): Promise<void>;
}

/** Repositories bound to one transaction. */
export interface Repositories {
  tasks: TaskRepository;
  lists: ListRepository;
  tags: TagRepository;
  quotas: QuotaRepository;
  users: UserRepository;
  outbox: OutboxRepository;
  accessTokens: AccessTokenRepository;
  idempotency: IdempotencyRepository;
}

/** Repositories outside a transaction (each call its own statement). */
export interface Reads {
  tasks: TaskReads;
  lists: ListReads;
  tags: TagReads;
  users: UserReads;
  accessTokens: AccessTokenReads;
}

/** Runs work in one transaction, with repositories bound to it. */
export type UnitOfWork = <T>(work: (repos: Repositories) => Promise<T>) => Promise<T>;

export interface Store {
  read: Reads;
  transaction: UnitOfWork;
}
