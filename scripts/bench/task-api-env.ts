/**
 * task-api's environment in the benchmarks: production mode, no rate limits (the load is the
 * point), migrations applied by the benchmark itself.
 */
export const BENCH_TASK_API_ENV = {
  NODE_ENV: "production",
  BETTER_AUTH_SECRET: "bench-secret-bench-secret-bench-secret-0123",
  RATE_LIMIT_IP_PER_MINUTE: "0",
  RATE_LIMIT_USER_PER_MINUTE: "0",
  MIGRATE_ON_START: "false",
} as const;
