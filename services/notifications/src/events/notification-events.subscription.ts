import {
  REMINDER_EVENT_TYPES,
  TASK_EVENT_TYPES,
  USER_EVENT_TYPES,
  type TaskmeshEvent,
} from "@taskmesh/contracts";
import type { Logger } from "@taskmesh/core";
import { subscriptionRoute, type EventOutcome } from "@taskmesh/dapr";
import express, { type Router } from "express";

/**
 * The routes of subscriptions.yaml (notifications-task-events, notifications-reminders,
 * notifications-user-events).
 * Events of one delivery are handled in order, one after another (a task's events must not
 * overtake each other).
 */
export function eventRoutes(handle: (event: TaskmeshEvent) => Promise<EventOutcome>, logger: Logger): Router {
  const inOrder = async (events: readonly TaskmeshEvent[]): Promise<EventOutcome[]> => {
    const outcomes: EventOutcome[] = [];
    for (const event of events) outcomes.push(await handle(event));
    return outcomes;
  };
  const router = express.Router();
  router.post(
    "/events/task-events",
    subscriptionRoute({ accept: TASK_EVENT_TYPES, handle: inOrder, logger }),
  );
  router.post(
    "/events/reminders",
    subscriptionRoute({ accept: REMINDER_EVENT_TYPES, handle: inOrder, logger }),
  );
  router.post(
    "/events/user-events",
    subscriptionRoute({ accept: USER_EVENT_TYPES, handle: inOrder, logger }),
  );
  return router;
}
