import { ensureKustomize, ensureSchemas } from "../../scripts/k8s/validate.ts";

/**
 * Provisions what test/k8s/*.test.ts render and validate with: the pinned kustomize (built from
 * the Go module proxy, about a minute on a new machine) and the Kubernetes OpenAPI and Dapr CRD
 * schemas (about 20 MB from the proxy). Instant when cached; done here, not inside a test's
 * hook timeout.
 */
export default async function setup(): Promise<void> {
  const progress = (line: string): void => {
    if (!/using cached|using existing|pinned kustomize version|^\[k8s-schemas\] Kubernetes/.test(line)) {
      console.log(line);
    }
  };
  await Promise.all([ensureKustomize(progress), ensureSchemas(progress)]);
}
