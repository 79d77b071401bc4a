/**
 * What the use cases need from storage, as plain objects: data/repositories.ts implements
 * these with Prisma and SQL. The domain never sees a transaction client, only a Store whose
 * transaction hands it repositories bound to that transaction. The plain objects the ports
 * exchange are defined here too, so data/ depends on the domain and never the reverse
 * (eslint.config.js keeps it so).
 */
import type { HistoryEntry, HistoryPage, Priority } from "@taskmesh/contracts";

export type TokenScope = "read" | "read-write";

/** A personal access token as its owner sees it (never the secret). */
export interface AccessTokenView {
  id: string;
  name: string;
  scope: TokenScope;
  prefix: string;
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
}

/** What authentication needs to know about a presented token. */
export interface StoredAccessToken {
  id: string;
  userId: string;
  scope: TokenScope;
  expiresAt: Date;
  lastUsedAt: Date | null;
}

export interface StoredResponse {
  requestHash: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface ListView {
  id: string;
  name: string;
  openTaskCount: number;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** What a per-user quota counts: the rows a user owns in one table. */
export type QuotaKind = "tasks" | "lists" | "tags" | "tokens";

export interface TagView {
  id: string;
  name: string;
  openTaskCount: number;
}

export type SortKey = "dueAt" | "priority" | "createdAt" | "updatedAt" | "title" | "rank";

export interface SortTerm {
  key: SortKey;
  desc: boolean;
}

/** A due bound is an instant, or a calendar date taken in the owner's time zone. */
export type DueBound = { instant: string } | { date: string };

export interface TaskFilter {
  status: "open" | "completed" | "all";
  priorities?: Priority[] | undefined;
  /** Normalised (lower-case) tag names. */
  tags?: string[] | undefined;
  tagMatch: "any" | "all";
  /** A list id, or "none" for tasks in no list. */
  listId?: string | undefined;
  /** A task id, or "none" for top-level tasks. */
  parentId?: string | undefined;
  dueBefore?: DueBound | undefined;
  dueAfter?: DueBound | undefined;
  overdue?: boolean | undefined;
  /** Search words (domain/task-search.ts): a task matches when it has a word starting with each. */
  search?: string[] | undefined;
}

export type CursorValue = string | number | null;

export interface CursorPosition {
  values: CursorValue[];
  id: string;
}

/** A task as the API shows it. */
export interface TaskView {
  id: string;
  listId: string | null;
  parentId: string | null;
  title: string;
  description: string | null;
  completed: boolean;
  completedAt: string | null;
  priority: Priority;
  tags: string[];
  dueAt: string | null;
  allDay: boolean;
  /** Calendar date of dueAt in the owner's time zone. */
  dueDate: string | null;
  recurrence: string | null;
  remindAt: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface TaskPage {
  data: TaskView[];
  /** Position after the last row, when there may be more. */
  next: CursorPosition | undefined;
}

/** The stored fields a use case needs to apply a change (locked for the transaction). */
export interface TaskRecord {
  id: string;
  listId: string | null;
  parentId: string | null;
  completed: boolean;
  dueAt: Date | null;
  allDay: boolean;
  recurrence: string | null;
  version: number;
}

export interface TaskFields {
  listId?: string | null;
  parentId?: string | null;
  title?: string;
  description?: string | null;
  priority?: Priority;
  dueAt?: Date | null;
  allDay?: boolean;
  recurrence?: string | null;
  remindAt?: Date | null;
  completed?: boolean;
  completedAt?: Date | null;
}

export interface MeView {
  id: string;
  name: string;
  email: string;
  emailVerified: boolean;
  image: string | null;
  timeZone: string;
  createdAt: string;
  updatedAt: string;
}

/** One recorded change of a task, as audit-log keeps it (the REST contract's HistoryEntry). */
export type TaskHistoryEntry = HistoryEntry;

/** A page of history: audit-log answers with the same envelope task-api passes on. */
export type TaskHistoryPage = HistoryPage;

export interface TaskHistoryQuery {
  /** The owner: only their entries are read. */
  userId: string;
  taskId: string;
  cursor: string | undefined;
  limit: number;
}

/** Where task history lives (audit-log); task-api only reads it. */
export interface TaskHistory {
  read(query: TaskHistoryQuery): Promise<TaskHistoryPage>;
}

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

/** A personal access token as it is stored: its secret only as a hash. */
export interface NewAccessToken {
  userId: string;
  name: string;
  scope: TokenScope;
  tokenHash: string;
  prefix: string;
  expiresAt: Date;
  createdAt: Date;
}

export interface AccessTokenRepository {
  insert(token: NewAccessToken): Promise<AccessTokenView>;
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
