#!/usr/bin/env bash
# Provide the schemas that scripts/k8s/validate.ts checks rendered manifests
# against, and print their directory on the last line of stdout (progress goes
# to stderr):
#
#     SCHEMAS="$(scripts/k8s/schemas.sh)"
#
# The directory holds, unmodified, as published upstream:
#   kubernetes/openapi-v3/*.json       the OpenAPI v3 documents of every API
#                                      group/version of the targeted Kubernetes
#                                      release (api/openapi-spec/v3 of the
#                                      k8s.io/kubernetes module)
#   kubernetes/zz_generated.openapi.go the generated OpenAPI definitions of that
#                                      release (pkg/generated/openapi); the
#                                      committed v3 documents leave out the enum
#                                      values a live API server publishes, this
#                                      file has them
#   dapr/crds/*.yaml                   Dapr's CustomResourceDefinitions
#                                      (charts/dapr/crds of github.com/dapr/dapr)
#   versions.json                      which versions these are
#
# Both come from the Go module proxy with `go mod download`: Kubernetes from
# k8s.io/kubernetes at the version pinned below (checked against the h1 hash
# pinned with it), Dapr at the version pinned in scripts/daprd/go.mod (checked
# by that go.sum). Cached under ~/.cache/taskmesh/k8s-schemas/; a first run
# downloads about 20 MB.
#
# Environment:
#   TASKMESH_CACHE_DIR  cache root (default ~/.cache/taskmesh)
set -euo pipefail

# The targeted Kubernetes release (one place) and the go.sum-style hash of its
# module zip, so a different download is refused.
kubernetes_version=v1.36.3
kubernetes_sum="h1:qDQdoMiluAE2Eab6Fa52YV+WjiGz9mZFFoagEA6cI+o="

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
daprd_dir="$(cd "$here/../daprd" && pwd)"
GB_TAG=k8s-schemas
# shellcheck source=SCRIPTDIR/../lib/go-build.sh
. "$here/../lib/go-build.sh"

case "${1:-}" in
  -h | --help) gb_usage; exit 0 ;;
  "") ;;
  *) log "ERROR: unexpected argument $1"; exit 2 ;;
esac

dapr_module=github.com/dapr/dapr
dapr_version="$(gb_pinned_version "$daprd_dir/go.mod" "$dapr_module")"
[[ -n "$dapr_version" ]] || die "no 'require $dapr_module vX.Y.Z' line in $daprd_dir/go.mod"

cache_root="${TASKMESH_CACHE_DIR:-$HOME/.cache/taskmesh}/k8s-schemas"
out="$cache_root/kubernetes-$kubernetes_version+dapr-$dapr_version"
log "Kubernetes $kubernetes_version, Dapr $dapr_version (from $daprd_dir/go.mod)"

use_cached() { [[ ! -f "$out/versions.json" ]] || { log "using cached $out"; gb_answer "$out"; }; }
use_cached
command -v go >/dev/null || die "go is not installed (the schemas come from the Go module proxy)"
gb_lock "$cache_root"
use_cached

start=$SECONDS
tmp="$out.tmp"
rm -rf "$tmp"
mkdir -p "$tmp/kubernetes/openapi-v3" "$tmp/dapr/crds"

# Outside any module, so nothing of this repo's go.mod files is involved; the
# pinned hash stands in for a go.sum line.
log "downloading k8s.io/kubernetes@$kubernetes_version (about 18 MB)"
empty="$(mktemp -d)"
k8s_dir="$(gb_module_dir "$empty" "k8s.io/kubernetes@$kubernetes_version" "$kubernetes_sum")"
rmdir "$empty"
cp "$k8s_dir"/api/openapi-spec/v3/*.json "$tmp/kubernetes/openapi-v3/"
cp "$k8s_dir/pkg/generated/openapi/zz_generated.openapi.go" "$tmp/kubernetes/"

# Inside scripts/daprd, whose go.sum pins the dapr module.
log "downloading $dapr_module@$dapr_version"
dapr_dir="$(gb_module_dir "$daprd_dir" "$dapr_module@$dapr_version")"
cp "$dapr_dir"/charts/dapr/crds/*.yaml "$tmp/dapr/crds/"

chmod -R u+w "$tmp"
printf '{ "kubernetes": "%s", "dapr": "%s" }\n' "$kubernetes_version" "$dapr_version" >"$tmp/versions.json"
rm -rf "$out"
mv "$tmp" "$out"
log "schemas ready in $out ($(du -sh "$out" | cut -f1), $((SECONDS - start))s)"
printf '%s\n' "$out"
