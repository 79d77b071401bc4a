import { randomBytes } from "node:crypto";

/**
 * task-api's environment in the benchmarks: production mode, no rate limits (the load is the
 * point), no task quota (bench:api seeds 10,000 tasks per user, the default quota, before its
 * POSTs); the benchmark applies the migrations itself.
 */
export const BENCH_TASK_API_ENV = {
  NODE_ENV: "production",
  BETTER_AUTH_SECRET: "bench-secret-bench-secret-bench-secret-0123",
  RATE_LIMIT_IP_PER_MINUTE: "0",
  RATE_LIMIT_USER_PER_MINUTE: "0",
  QUOTA_TASKS_PER_USER: "10000000",
} as const;

/**
 * task-api started on its own, without a sidecar (bench:api). Production mode requires the token
 * daprd would present (APP_API_TOKEN) even when no daprd calls; launchStack sets its own for the
 * benchmarks that run sidecars, so this one is only for a standalone task-api.
 */
export const BENCH_STANDALONE_TASK_API_ENV = {
  ...BENCH_TASK_API_ENV,
  APP_API_TOKEN: randomBytes(24).toString("base64url"),
} as const;
