import { z } from "zod";

export const CLOUDEVENTS_SPEC_VERSION = "1.0";
/** The content type of every taskmesh event's `data`. */
export const EVENT_DATA_CONTENT_TYPE = "application/json";
/** How Dapr puts a CloudEvent on the broker and hands it to subscribers (structured mode). */
export const CLOUDEVENT_CONTENT_TYPE = "application/cloudevents+json";

/**
 * The attributes every CloudEvent 1.0 must have. A body without them is not a CloudEvent
 * at all (parseEvent answers "not-a-cloud-event").
 */
export const cloudEventAttributesSchema = z.looseObject({
  specversion: z.literal(CLOUDEVENTS_SPEC_VERSION),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().min(1),
});

const envelopeShape = {
  specversion: z.literal(CLOUDEVENTS_SPEC_VERSION),
  id: z.string().min(1).meta({
    description:
      "Unique per event; the outbox row id for task events, so a republished event keeps its id and consumers deduplicate by it.",
  }),
  source: z.string().min(1),
  type: z.string().min(1),
  datacontenttype: z.literal(EVENT_DATA_CONTENT_TYPE),
  time: z.iso.datetime({ offset: true }).optional().meta({ description: "When the event was published." }),
  subject: z.string().optional(),
  // Extension attributes Dapr adds on publish; never needed by taskmesh code, but allowed.
  topic: z.string().optional().meta({ description: "Dapr extension: the topic the event was published to." }),
  pubsubname: z.string().optional().meta({ description: "Dapr extension: the pub/sub component." }),
  traceparent: z
    .string()
    .optional()
    .meta({ description: "Dapr extension: W3C traceparent of the publishing request (may be empty)." }),
  tracestate: z.string().optional().meta({ description: "Dapr extension: W3C tracestate (may be empty)." }),
  traceid: z.string().optional().meta({ description: "Dapr extension: legacy copy of traceparent." }),
  expiration: z.string().optional().meta({ description: "Dapr extension: set when published with a TTL." }),
};

/**
 * A CloudEvents 1.0 envelope in structured mode, as Dapr delivers it to a subscriber (and as
 * it sits on the broker), with `data` parsed by `dataSchema`. Unknown extension attributes are
 * kept, so a newer producer does not break an older consumer.
 */
export function cloudEventSchema<D extends z.ZodType>(dataSchema: D) {
  return z.looseObject({ ...envelopeShape, data: dataSchema });
}

/** The envelope of one event type: its `type` and `source` are fixed. */
export function typedCloudEventSchema<T extends string, S extends string, D extends z.ZodType>(
  type: T,
  source: S,
  dataSchema: D,
) {
  return z.looseObject({
    ...envelopeShape,
    type: z.literal(type),
    source: z.literal(source),
    data: dataSchema,
  });
}

export type CloudEvent<D> = z.infer<ReturnType<typeof cloudEventSchema<z.ZodType<D>>>>;
