/**
 * The REST contract of task-api: task-api parses requests and documents its OpenAPI with these
 * schemas, and its clients (mcp-server, recurring-tasks, the tests) read answers with them.
 */
export * from "./task.schema.ts";
export * from "./list.schema.ts";
export * from "./tag.schema.ts";
export * from "./page.schema.ts";
export * from "./history.schema.ts";
export * from "./me.schema.ts";
export * from "./headers.schema.ts";
export * from "./access-token.schema.ts";
export { instant, instantOut, storable } from "./common.schema.ts";
