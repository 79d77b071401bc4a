/**
 * Where taskmesh's events travel. The names are shared with dapr-components/ (pubsub.yaml,
 * subscriptions.yaml), which test/contracts/dapr-components.test.ts keeps in step with these.
 */

/** The Dapr pub/sub component (pubsub.kafka) every producer and consumer uses. */
export const PUBSUB_NAME = "taskmesh-pubsub";

export const TOPICS = {
  /** Every change to a task, keyed by task id, written by task-api's outbox relay. */
  taskEvents: "task-events",
  /** Reminders that came due, written by notifications. */
  reminders: "reminders",
  /**
   * Changes to accounts that every service keeping user data must act on (user.deleted),
   * keyed by user id, written by task-api's outbox relay. A topic of its own rather than
   * task-events: see the AsyncAPI document's description (README "Events").
   */
  userEvents: "user-events",
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

/** Where a consumer's sidecar puts a message it gave up on (DROP, or retries exhausted). */
export const DEAD_LETTER_TOPICS = {
  [TOPICS.taskEvents]: "task-events.dead-letter",
  [TOPICS.reminders]: "reminders.dead-letter",
  [TOPICS.userEvents]: "user-events.dead-letter",
} as const satisfies Record<Topic, string>;

export type DeadLetterTopic = (typeof DEAD_LETTER_TOPICS)[Topic];

/** CloudEvents `source` of each producer. */
export const EVENT_SOURCES = {
  taskApi: "/taskmesh/task-api",
  notifications: "/taskmesh/notifications",
} as const;

/**
 * pubsub.kafka's publish metadata key that becomes the Kafka record key; records with the
 * same key go to the same partition and so stay in order.
 */
export const PARTITION_KEY_METADATA = "partitionKey";

/** user-events are keyed by user id, so one account's events stay in order. */
export function userPartitionKeyFor(event: { data: { userId: string } } | { userId: string }): string {
  return "data" in event ? event.data.userId : event.userId;
}

/**
 * The partition key rule, in one place: a task's events (and its reminders) are keyed by the
 * task id, so each task's events are delivered in order. Accepts an event or its data.
 */
export function partitionKeyFor(event: { data: { taskId: string } } | { taskId: string }): string {
  return "data" in event ? event.data.taskId : event.taskId;
}
