/**
 * How the services' Node processes are run, shared by `npm start`, the benchmarks and
 * (as NODE_OPTIONS) the container manifests.
 *
 * V8 sizes the young generation for throughput on big machines (up to 3 x 16-32 MiB
 * semi-spaces), which took task-api from ~140 MiB idle to ~360 MiB RSS under load. A small
 * young generation and a capped old space (the live heap under load is ~40-70 MiB) keep
 * RSS near 150-180 MiB; measured throughput was the same or better (scripts/bench/api.ts).
 */
export const SERVICE_NODE_OPTIONS = "--max-semi-space-size=4 --max-old-space-size=128";
