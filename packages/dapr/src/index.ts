export * from "./sidecar-client.ts";
export * from "./app-token.ts";
export * from "./subscription.ts";
