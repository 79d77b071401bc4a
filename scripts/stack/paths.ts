import path from "node:path";

/** The repository root (scripts/stack/ is two levels below it). */
export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");

/** The Dapr resources every sidecar loads. */
export const COMPONENTS_DIR = path.join(REPO_ROOT, "dapr-components");
