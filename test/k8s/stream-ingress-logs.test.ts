/**
 * Tokens in URLs must not reach the ingress's logs (issue 10): the live stream's Ingress, which
 * receives ?ticket= and ?access_token=, writes no access log, and it takes every path of the
 * stream (/v1/stream/, /v1/stream/tickets) so none of them falls through to another Ingress.
 * Each check is also shown to catch a broken copy.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { renderOverlay } from "../../scripts/k8s/validate.ts";
import type { K8sObject } from "./manifest-checks.ts";

type Ingress = K8sObject & {
  spec: {
    rules: {
      http: { paths: { path: string; pathType: string; backend: { service: { name: string } } }[] };
    }[];
  };
};

/** What is wrong with how the stream's Ingress logs and routes; empty = nothing. */
function checkStreamIngressMasksTokens(objects: readonly K8sObject[]): string[] {
  const ingresses = objects.filter((o) => o.kind === "Ingress") as Ingress[];
  const stream = ingresses.find((i) =>
    i.spec.rules.some((r) => r.http.paths.some((p) => p.path === "/v1/stream")),
  );
  if (!stream) return ["no Ingress routes /v1/stream"];
  const errors: string[] = [];
  if (stream.metadata.annotations?.["nginx.ingress.kubernetes.io/enable-access-log"] !== "false")
    errors.push(
      `Ingress/${stream.metadata.name}: writes access logs, which carry ?ticket= and ?access_token=`,
    );
  const path = stream.spec.rules.flatMap((r) => r.http.paths).find((p) => p.path === "/v1/stream");
  if (path?.pathType !== "Prefix")
    errors.push(
      `Ingress/${stream.metadata.name}: /v1/stream is ${String(path?.pathType)}, so /v1/stream/ and /v1/stream/tickets go elsewhere`,
    );
  return errors;
}

const rendered = new Map<string, K8sObject[]>();
beforeAll(async () => {
  for (const overlay of ["local", "production"])
    rendered.set(overlay, (await renderOverlay(overlay)) as K8sObject[]);
}, 600_000);

describe.each(["local", "production"])("the %s overlay's stream Ingress", (overlay) => {
  it("when it is rendered, then it logs no request line (tokens in the query) and takes every stream path", () => {
    expect(checkStreamIngressMasksTokens(rendered.get(overlay) ?? [])).toEqual([]);
  });
});

describe("the stream Ingress check", () => {
  it("when the stream's Ingress logs requests or routes only the exact path, then the check names both", () => {
    const objects = structuredClone(rendered.get("local") ?? []);
    const stream = (objects.filter((o) => o.kind === "Ingress") as Ingress[]).find(
      (i) => i.metadata.name === "taskmesh-stream",
    );
    if (!stream) throw new Error("no taskmesh-stream Ingress");
    delete stream.metadata.annotations?.["nginx.ingress.kubernetes.io/enable-access-log"];
    for (const rule of stream.spec.rules) for (const p of rule.http.paths) p.pathType = "Exact";
    expect(checkStreamIngressMasksTokens(objects)).toEqual([
      "Ingress/taskmesh-stream: writes access logs, which carry ?ticket= and ?access_token=",
      "Ingress/taskmesh-stream: /v1/stream is Exact, so /v1/stream/ and /v1/stream/tickets go elsewhere",
    ]);
  });
});
