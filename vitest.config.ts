import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One embedded PostgreSQL for the run; every test file clones its own database from it.
    // The stack setup provisions daprd, Sentry and Kafka (instant when cached) for test/support/stack.ts.
    // The k8s setup provisions kustomize and the Kubernetes/Dapr schemas for test/k8s.
    globalSetup: [
      "test/support/global-setup.ts",
      "test/support/stack-global-setup.ts",
      "test/support/k8s-global-setup.ts",
    ],
    // kafkajs (test/support/kafka.ts, scripts/stack) schedules a negative timeout when idle: harmless noise.
    execArgv: ["--disable-warning=TimeoutNegativeWarning"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    coverage: {
      provider: "v8",
      include: ["services/*/src/**/*.ts", "packages/*/src/**/*.ts"],
      exclude: [
        "packages/db/src/generated/**",
        // Run as separate processes (test/task-api/shutdown.test.ts starts dist/main.js), which
        // in-process coverage cannot see.
        "services/*/src/main.ts",
      ],
      reporter: ["text-summary", "json-summary"],
      thresholds: { lines: 80 },
    },
  },
});
