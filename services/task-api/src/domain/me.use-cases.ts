import { InvalidError, NotFoundError, UnauthenticatedError } from "@taskmesh/core";
import { canonicalTimeZone } from "@taskmesh/recurrence";
import type { Database, Tx } from "../data/database.ts";
import { findTaskIds, reanchorAllDayTasks } from "../data/task.repository.ts";
import { recordTaskChanges } from "./task-change-recorder.ts";
import { userActor, type Actor } from "./task-events.ts";
import {
  deleteUser,
  findMe,
  lockAccount,
  lockUserTimeZone,
  updateMe,
  type MeView,
} from "../data/user.repository.ts";

/** A still-valid access token of a deleted account: its requests are unauthenticated, not errors. */
function accountGone(): UnauthenticatedError {
  return new UnauthenticatedError(
    "This account no longer exists.",
    'Bearer realm="taskmesh", error="invalid_token"',
  );
}

/** Writes need the account to exist for their whole transaction (an access token outlives a deleted account). */
export async function requireAccount(tx: Tx, userId: string): Promise<void> {
  if (!(await lockAccount(tx, userId))) throw accountGone();
}

export function createMeUseCases(db: Database, clock: () => Date = () => new Date()) {
  return {
    async get(userId: string): Promise<MeView> {
      const me = await findMe(db.prisma, userId);
      if (!me) throw accountGone();
      return me;
    },

    /** Changing the time zone keeps all-day tasks on the same calendar dates in the new zone. */
    update(
      userId: string,
      input: { name?: string; timeZone?: string },
      actor: Actor = userActor(userId),
    ): Promise<MeView> {
      return db.transaction(async (tx) => {
        const current = await lockUserTimeZone(tx, userId);
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
          const allDay = await findTaskIds(tx, { userId, allDay: true });
          await recordTaskChanges(
            tx,
            userId,
            actor,
            allDay,
            async () => {
              await updateMe(tx, userId, change);
              await reanchorAllDayTasks(tx, userId, current, timeZone);
              return undefined;
            },
            clock(),
          );
        } else {
          await updateMe(tx, userId, change);
        }
        const me = await findMe(tx, userId);
        if (!me) throw new NotFoundError("User");
        return me;
      });
    },

    /** Deletes the account and everything it owns. */
    async remove(userId: string, actor: Actor = userActor(userId)): Promise<void> {
      // Every task goes with the account, each with its task.deleted event.
      const deleted = await db.transaction(async (tx) => {
        let gone = false;
        const tasks = await findTaskIds(tx, { userId });
        await recordTaskChanges(
          tx,
          userId,
          actor,
          tasks,
          async () => {
            gone = await deleteUser(tx, userId);
            return undefined;
          },
          clock(),
        );
        return gone;
      });
      if (!deleted) throw accountGone();
    },
  };
}

export type MeUseCases = ReturnType<typeof createMeUseCases>;
