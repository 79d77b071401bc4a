export * from "./sidecar-client.ts";
export * from "./app-token.ts";
export * from "./subscription.ts";
export * from "./processed-events.ts";
