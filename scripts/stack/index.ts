/**
 * The stack launcher: runs taskmesh's services with their Dapr sidecars, a Kafka broker and
 * Dapr Sentry on one machine. Used by `npm start` (scripts/start.ts) and the test harness
 * (test/support/stack.ts). Plain functions; every process belongs to the stack that started it.
 */
export * from "./apps.ts";
export * from "./binaries.ts";
export * from "./components.ts";
export * from "./daprd.ts";
export * from "./kafka.ts";
export * from "./paths.ts";
export * from "./process.ts";
export * from "./sentry.ts";
export * from "./stack.ts";
export * from "./wait.ts";
