/**
 * `npm run k8s:validate [-- <overlay or directory>...]`: renders every overlay under
 * k8s/overlays/ (or the overlays named, or any kustomization directory given as a path, e.g.
 * ./k8s/base) with the pinned kustomize and validates each object against the targeted
 * Kubernetes release's OpenAPI and Dapr's CRD schemas (see validate.ts). Prints per-overlay
 * counts and every error as "<Kind>/<name>: <JSON path>: <problem>"; exits 1 on any error, on
 * a render failure, or when there is no overlay to check.
 */
import {
  ensureKustomize,
  listOverlays,
  loadValidator,
  renderKustomization,
  renderOverlay,
  targetVersions,
  validateObjects,
} from "./validate.ts";

const progress = (line: string): void => {
  if (!/using cached|using existing|pinned kustomize version|^\[k8s-schemas\] Kubernetes/.test(line)) {
    console.error(line);
  }
};

const requested = process.argv.slice(2).filter((a) => a !== "--");
const overlays = requested.length > 0 ? requested : await listOverlays();
if (overlays.length === 0) {
  console.error("k8s:validate: no overlay found under k8s/overlays/ (a directory with a kustomization.yaml)");
  process.exit(1);
}

const [kustomize] = await Promise.all([ensureKustomize(progress), loadValidator(progress)]);
const versions = await targetVersions();
console.log(`k8s:validate: Kubernetes ${versions.kubernetes}, Dapr ${versions.dapr}, kustomize ${kustomize}`);

let failed = false;
for (const overlay of overlays) {
  let objects: object[];
  try {
    // A bare name is an overlay; anything with a slash is a kustomization directory.
    objects = overlay.includes("/") ? await renderKustomization(overlay) : await renderOverlay(overlay);
  } catch (error) {
    failed = true;
    console.log(`${overlay}: render failed\n  ${String(error instanceof Error ? error.message : error)}`);
    continue;
  }
  const results = await validateObjects(objects);
  const kinds = new Map<string, number>();
  for (const o of objects) {
    const kind = (o as { kind?: unknown }).kind;
    const label = typeof kind === "string" ? kind : "?";
    kinds.set(label, (kinds.get(label) ?? 0) + 1);
  }
  const errorCount = results.reduce((n, r) => n + r.errors.length, 0);
  const invalid = results.filter((r) => r.errors.length > 0).length;
  const byKind = [...kinds].map(([k, n]) => `${k} ${n}`).join(", ");
  console.log(
    `${overlay}: ${objects.length} objects (${byKind}); ${errorCount} errors${errorCount ? ` in ${invalid} objects` : ""}`,
  );
  for (const r of results) for (const e of r.errors) console.log(`  ${r.object}: ${e}`);
  if (errorCount > 0 || objects.length === 0) failed = true;
}
process.exit(failed ? 1 : 0);
