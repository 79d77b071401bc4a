import { z } from "zod";
import { CLOUDEVENT_CONTENT_TYPE } from "./cloud-event.schema.ts";
import {
  EVENT_CATALOG,
  EVENT_TYPES,
  REMINDER_EVENT_TYPES,
  TASK_EVENT_TYPES,
  USER_EVENT_TYPES,
  type EventType,
} from "./event-catalog.ts";
import { exampleEvents } from "./examples.ts";
import { reminderDueDataSchema } from "./reminder-event.schema.ts";
import {
  actorSchema,
  fieldChangeSchema,
  taskEventDataSchema,
  taskSnapshotSchema,
} from "./task-event.schema.ts";
import { userDeletedDataSchema } from "./user-event.schema.ts";
import { DEAD_LETTER_TOPICS, PARTITION_KEY_METADATA, PUBSUB_NAME, TOPICS, type Topic } from "./topics.ts";

export type JsonSchema = Record<string, unknown>;
interface Ref {
  $ref: string;
}

export interface AsyncApiDocument {
  asyncapi: "3.0.0";
  info: { title: string; version: string; description: string; license: { name: string } };
  defaultContentType: string;
  servers: Record<string, { host: string; protocol: string; description: string }>;
  channels: Record<
    string,
    { address: string; title: string; description: string; messages: Record<string, Ref> }
  >;
  operations: Record<
    string,
    {
      action: "send" | "receive";
      channel: Ref;
      title: string;
      summary: string;
      description?: string;
      messages: Ref[];
      tags: { name: string }[];
      "x-dapr-app-id": string;
    }
  >;
  components: {
    schemas: Record<string, JsonSchema>;
    messages: Record<string, JsonSchema>;
  };
}

/** Message (and payload schema) names in the document, per event type. */
const MESSAGE_NAMES = {
  [EVENT_TYPES.taskCreated]: "TaskCreated",
  [EVENT_TYPES.taskUpdated]: "TaskUpdated",
  [EVENT_TYPES.taskCompleted]: "TaskCompleted",
  [EVENT_TYPES.taskReopened]: "TaskReopened",
  [EVENT_TYPES.taskDeleted]: "TaskDeleted",
  [EVENT_TYPES.reminderDue]: "ReminderDue",
  [EVENT_TYPES.userDeleted]: "UserDeleted",
} as const satisfies Record<EventType, string>;

const TOPIC_EVENT_TYPES: Record<Topic, readonly EventType[]> = {
  [TOPICS.taskEvents]: TASK_EVENT_TYPES,
  [TOPICS.reminders]: REMINDER_EVENT_TYPES,
  [TOPICS.userEvents]: USER_EVENT_TYPES,
};

/** The Kafka record key of each topic's messages. */
const TOPIC_KEYS: Record<Topic, { format?: string; description: string }> = {
  [TOPICS.taskEvents]: {
    format: "uuid",
    description: `The task id (data.taskId): Dapr publish metadata \`${PARTITION_KEY_METADATA}\`, so each task's events stay in order.`,
  },
  [TOPICS.reminders]: {
    format: "uuid",
    description: `The task id (data.taskId): Dapr publish metadata \`${PARTITION_KEY_METADATA}\`, so each task's events stay in order.`,
  },
  [TOPICS.userEvents]: {
    description: `The user id (data.userId): Dapr publish metadata \`${PARTITION_KEY_METADATA}\`, so each account's events stay in order.`,
  },
};

/** Payload schemas in JSON Schema draft-07 (AsyncAPI 3.0's default schema format), generated from zod. */
function payloadSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  registry.add(taskSnapshotSchema, { id: "TaskSnapshot" });
  registry.add(actorSchema, { id: "Actor" });
  registry.add(fieldChangeSchema, { id: "FieldChange" });
  registry.add(taskEventDataSchema, { id: "TaskEventData" });
  registry.add(reminderDueDataSchema, { id: "ReminderDueData" });
  registry.add(userDeletedDataSchema, { id: "UserDeletedData" });
  for (const [type, name] of Object.entries(MESSAGE_NAMES) as [EventType, string][]) {
    registry.add(EVENT_CATALOG[type].schema, { id: `${name}Event` });
  }
  // io "input": objects do not forbid extra properties, matching what consumers accept
  // (zod strips unknown keys), so adding an optional field stays a compatible change.
  const { schemas } = z.toJSONSchema(registry, {
    target: "draft-07",
    io: "input",
    uri: (id) => `#/components/schemas/${id}`,
  });
  const result: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    // The document is one JSON tree: refs resolve against it, so neither $id nor $schema belongs here.
    const { $schema: _schema, $id: _id, ...rest } = schema as JsonSchema;
    result[id] = rest;
  }
  return result;
}

function messages(): Record<string, JsonSchema> {
  const examples = exampleEvents();
  const result: Record<string, JsonSchema> = {};
  for (const [type, name] of Object.entries(MESSAGE_NAMES) as [EventType, string][]) {
    const entry = EVENT_CATALOG[type];
    result[name] = {
      name: type,
      title: type,
      summary: entry.summary,
      contentType: CLOUDEVENT_CONTENT_TYPE,
      payload: { $ref: `#/components/schemas/${name}Event` },
      bindings: {
        kafka: {
          key: { type: "string", ...TOPIC_KEYS[entry.topic] },
          bindingVersion: "0.5.0",
        },
      },
      examples: [{ name: "example", payload: examples[type] }],
    };
  }
  return result;
}

function channelMessages(topic: Topic): Record<string, Ref> {
  return Object.fromEntries(
    TOPIC_EVENT_TYPES[topic].map((type) => [
      MESSAGE_NAMES[type],
      { $ref: `#/components/messages/${MESSAGE_NAMES[type]}` },
    ]),
  );
}

function operation(
  appId: string,
  action: "send" | "receive",
  topic: Topic,
  types: readonly EventType[],
  summary: string,
  description?: string,
): AsyncApiDocument["operations"][string] {
  return {
    action,
    channel: { $ref: `#/channels/${topic}` },
    title: `${appId} ${action}s ${topic}`,
    summary,
    ...(description ? { description } : {}),
    messages: types.map((type) => ({ $ref: `#/channels/${topic}/messages/${MESSAGE_NAMES[type]}` })),
    tags: [{ name: appId }],
    "x-dapr-app-id": appId,
  };
}

const DESCRIPTION = `The events taskmesh's services exchange. Services never talk to the broker themselves: they publish and
subscribe through their Dapr sidecar and the pub/sub component \`${PUBSUB_NAME}\` (pubsub.kafka), which works
against Apache Kafka and Redpanda alike.

- Every message is a CloudEvents 1.0 envelope in structured mode (\`${CLOUDEVENT_CONTENT_TYPE}\`) whose
  \`data\` is JSON. Types are versioned (\`...v1\`): a breaking payload change is a new type.
- The Kafka record key is the task id (Dapr publish metadata \`${PARTITION_KEY_METADATA}\`), so the events of one
  task are delivered in order; \`data.sequence\` increases strictly per task, so a consumer can also tell.
- Delivery is at least once: the CloudEvent \`id\` is stable across redelivery and republishing (task
  events use the outbox row id), and consumers deduplicate by it.
- A consumer answers SUCCESS when done or already done, RETRY for a transient fault (its sidecar retries
  with backoff, see dapr-components/resiliency.yaml) and DROP for a message that can never succeed (not a
  CloudEvent, unknown type, invalid data). Dropped messages, and messages still failing when the retries
  run out, go to the topic's dead-letter topic.
- \`${TOPICS.userEvents}\` carries account events (user.deleted), keyed by user id. It is a topic of its own, not
  part of \`${TOPICS.taskEvents}\`: task-events is keyed by task, and a user's tasks are spread over all of
  its partitions, so a user.deleted event there (on one partition) would still overtake, or be overtaken by,
  the user's task events on the others. No topic orders it after all of them, so consumers do not rely on
  order: each keeps a tombstone of deleted user ids, purges the user's data once (idempotently) and records nothing for a
  tombstoned user afterwards, whatever task event arrives late or is redelivered. Its own topic also keeps
  \`${TOPICS.taskEvents}\` one shape (every message a task.* event with a task snapshot), so a consumer of task
  events is not handed account events. Every service that keeps data per user (audit-log, notifications)
  subscribes to it; recurring-tasks keeps nothing per user (its state store holds processed event ids only,
  and task-api refuses a next occurrence for a deleted account), so it does not.

Generated from packages/contracts (zod schemas) by \`npm run asyncapi\`; do not edit by hand.`;

/**
 * The AsyncAPI 3.0 document of taskmesh's topics, built from the same zod schemas that
 * producers and consumers parse with. `npm run asyncapi` writes it to docs/asyncapi.json.
 */
export function buildAsyncApiDocument(): AsyncApiDocument {
  const allTaskEvents = TASK_EVENT_TYPES;
  return {
    asyncapi: "3.0.0",
    info: {
      title: "taskmesh events",
      version: "1.0.0",
      description: DESCRIPTION,
      license: { name: "Apache-2.0" },
    },
    defaultContentType: CLOUDEVENT_CONTENT_TYPE,
    servers: {
      local: {
        host: "127.0.0.1:9092",
        protocol: "kafka",
        description:
          "The single-node Kafka of npm start (scripts/stack/kafka.ts). Elsewhere the sidecars use the brokers in KAFKA_BROKERS.",
      },
    },
    channels: {
      [TOPICS.taskEvents]: {
        address: TOPICS.taskEvents,
        title: "Task events",
        description:
          "Every committed change to a task, published by task-api's outbox relay after the transaction that made it.",
        messages: channelMessages(TOPICS.taskEvents),
      },
      [DEAD_LETTER_TOPICS[TOPICS.taskEvents]]: {
        address: DEAD_LETTER_TOPICS[TOPICS.taskEvents],
        title: "Task events: dead letters",
        description:
          "Messages from task-events that a consumer dropped or could not process within its retries, written by that consumer's sidecar as they were received (normally one of these messages, but a poison message can be anything).",
        messages: channelMessages(TOPICS.taskEvents),
      },
      [TOPICS.reminders]: {
        address: TOPICS.reminders,
        title: "Reminders",
        description: "Reminders that came due, published by notifications once per reminder.",
        messages: channelMessages(TOPICS.reminders),
      },
      [DEAD_LETTER_TOPICS[TOPICS.reminders]]: {
        address: DEAD_LETTER_TOPICS[TOPICS.reminders],
        title: "Reminders: dead letters",
        description:
          "Messages from reminders that a consumer dropped or could not process within its retries, as they were received.",
        messages: channelMessages(TOPICS.reminders),
      },
      [TOPICS.userEvents]: {
        address: TOPICS.userEvents,
        title: "User events",
        description:
          "Account events (user.deleted), published by task-api's outbox relay after the transaction that deleted the account and its tasks, keyed by user id.",
        messages: channelMessages(TOPICS.userEvents),
      },
      [DEAD_LETTER_TOPICS[TOPICS.userEvents]]: {
        address: DEAD_LETTER_TOPICS[TOPICS.userEvents],
        title: "User events: dead letters",
        description:
          "Messages from user-events that a consumer dropped or could not process within its retries, as they were received.",
        messages: channelMessages(TOPICS.userEvents),
      },
    },
    operations: {
      "task-api.send-task-events": operation(
        "task-api",
        "send",
        TOPICS.taskEvents,
        allTaskEvents,
        "Publish every task change (transactional outbox + relay).",
      ),
      "audit-log.receive-task-events": operation(
        "audit-log",
        "receive",
        TOPICS.taskEvents,
        allTaskEvents,
        "Append each change to the task's history, once per event id.",
      ),
      "recurring-tasks.receive-task-events": operation(
        "recurring-tasks",
        "receive",
        TOPICS.taskEvents,
        [EVENT_TYPES.taskCompleted],
        "Create the next occurrence when a recurring task is completed.",
        "Receives the whole topic and acknowledges the other types without acting on them.",
      ),
      "notifications.receive-task-events": operation(
        "notifications",
        "receive",
        TOPICS.taskEvents,
        allTaskEvents,
        "Deliver task events to the owner's webhooks and live stream.",
      ),
      "notifications.send-reminders": operation(
        "notifications",
        "send",
        TOPICS.reminders,
        REMINDER_EVENT_TYPES,
        "Publish a reminder when it comes due (cron binding tick).",
      ),
      "notifications.receive-reminders": operation(
        "notifications",
        "receive",
        TOPICS.reminders,
        REMINDER_EVENT_TYPES,
        "Deliver due reminders to the owner's webhooks and live stream.",
      ),
      "task-api.send-user-events": operation(
        "task-api",
        "send",
        TOPICS.userEvents,
        USER_EVENT_TYPES,
        "Publish user.deleted in the transaction that deletes the account (transactional outbox + relay).",
      ),
      "audit-log.receive-user-events": operation(
        "audit-log",
        "receive",
        TOPICS.userEvents,
        USER_EVENT_TYPES,
        "Delete the user's history and keep a tombstone, so late task events record nothing.",
      ),
      "notifications.receive-user-events": operation(
        "notifications",
        "receive",
        TOPICS.userEvents,
        USER_EVENT_TYPES,
        "Delete the user's webhooks, deliveries, reminders and stream events, end their live streams, and keep a tombstone.",
      ),
    },
    components: {
      schemas: payloadSchemas(),
      messages: messages(),
    },
  };
}
