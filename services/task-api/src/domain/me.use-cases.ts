import { EVENT_TYPES, TOPICS, userPartitionKeyFor, type UserDeletedData } from "@taskmesh/contracts";
import { InvalidError, NotFoundError, UnauthenticatedError } from "@taskmesh/core";
import { canonicalTimeZone } from "@taskmesh/recurrence";
import type { MeView, OutboxMessage, Repositories, Store } from "./ports.ts";
import { recordTaskChanges } from "./task-change-recorder.ts";
import { userActor, type Actor } from "./task-events.ts";

/** A still-valid access token of a deleted account: its requests are unauthenticated, not errors. */
function accountGone(): UnauthenticatedError {
  return new UnauthenticatedError(
    "This account no longer exists.",
    'Bearer realm="taskmesh", error="invalid_token"',
  );
}

/** user.deleted: every service that keeps data for the user purges it (README "Account deletion"). */
function userDeletedMessage(userId: string, actor: Actor, occurredAt: Date): OutboxMessage {
  const data: UserDeletedData = {
    userId,
    occurredAt: occurredAt.toISOString(),
    actor: { kind: actor.kind, id: actor.id },
  };
  return {
    topic: TOPICS.userEvents,
    type: EVENT_TYPES.userDeleted,
    partitionKey: userPartitionKeyFor(data),
    data,
  };
}

/** Writes need the account to exist for their whole transaction (an access token outlives a deleted account). */
export async function requireAccount(repos: Repositories, userId: string): Promise<void> {
  if (!(await repos.users.lockAccount(userId))) throw accountGone();
}

export function createMeUseCases(store: Store, clock: () => Date = () => new Date()) {
  return {
    async get(userId: string): Promise<MeView> {
      const me = await store.read.users.findMe(userId);
      if (!me) throw accountGone();
      return me;
    },

    /** Changing the time zone keeps all-day tasks on the same calendar dates in the new zone. */
    update(
      userId: string,
      input: { name?: string; timeZone?: string },
      actor: Actor = userActor(userId),
    ): Promise<MeView> {
      return store.transaction(async (repos) => {
        const current = await repos.users.lockTimeZone(userId);
        if (current === undefined) throw accountGone();
        let timeZone: string | undefined;
        if (input.timeZone !== undefined) {
          timeZone = canonicalTimeZone(input.timeZone);
          if (timeZone === undefined) {
            throw new InvalidError(`timeZone '${input.timeZone}' is not an IANA time zone`, [
              {
                pointer: "/timeZone",
                in: "body",
                detail: "is not an IANA time zone name such as Europe/Berlin",
              },
            ]);
          }
        }
        const change = {
          ...(input.name !== undefined ? { name: input.name } : {}),
          ...(timeZone ? { timeZone } : {}),
        };
        if (timeZone !== undefined && timeZone !== current) {
          // All-day tasks keep their dates in the new zone: each is re-anchored, with its event.
          const allDay = await repos.tasks.findIds({ userId, allDay: true });
          await recordTaskChanges(repos, userId, actor, allDay, clock(), async () => {
            await repos.users.updateMe(userId, change);
            await repos.tasks.reanchorAllDay(userId, current, timeZone);
          });
        } else {
          await repos.users.updateMe(userId, change);
        }
        const me = await repos.users.findMe(userId);
        if (!me) throw new NotFoundError("User");
        return me;
      });
    },

    /**
     * Deletes the account and everything it owns. Every task goes with it, each with its
     * task.deleted event, and user.deleted goes into the outbox in the same transaction, so the
     * other services purge what they keep for the user exactly when the deletion commits.
     */
    async remove(userId: string, actor: Actor = userActor(userId)): Promise<void> {
      const deleted = await store.transaction(async (repos) => {
        // Set inside the change below (a closure: TypeScript cannot see the assignment).
        let gone = false as boolean;
        const tasks = await repos.tasks.findIds({ userId });
        const occurredAt = clock();
        await recordTaskChanges(repos, userId, actor, tasks, occurredAt, async () => {
          gone = await repos.users.delete(userId);
        });
        if (gone) await repos.outbox.append([userDeletedMessage(userId, actor, occurredAt)]);
        return gone;
      });
      if (!deleted) throw accountGone();
    },
  };
}

export type MeUseCases = ReturnType<typeof createMeUseCases>;
