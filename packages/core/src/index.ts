export * from "./errors.ts";
export * from "./config.ts";
export * from "./logger.ts";
export * from "./http/problem.ts";
export * from "./http/request-context.ts";
export * from "./http/metrics.ts";
export * from "./http/lifecycle.ts";
export * from "./http/json-body.ts";
