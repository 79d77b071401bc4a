export * from "./topics.ts";
export * from "./cloud-event.schema.ts";
export * from "./task-event.schema.ts";
export * from "./reminder-event.schema.ts";
export * from "./event-catalog.ts";
export * from "./parse-event.ts";
export * from "./examples.ts";
export * from "./asyncapi.ts";
