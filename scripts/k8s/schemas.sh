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

case "${1:-}" in
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) printf '[k8s-schemas] ERROR: unexpected argument %s\n' "$1" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
daprd_dir="$(cd "$here/../daprd" && pwd)"
log() { printf '[k8s-schemas] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

dapr_module=github.com/dapr/dapr
dapr_version="$(awk -v m="$dapr_module" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$daprd_dir/go.mod")"
[[ -n "$dapr_version" ]] || die "no 'require $dapr_module vX.Y.Z' line in $daprd_dir/go.mod"

cache_root="${TASKMESH_CACHE_DIR:-$HOME/.cache/taskmesh}/k8s-schemas"
out="$cache_root/kubernetes-$kubernetes_version+dapr-$dapr_version"
log "Kubernetes $kubernetes_version, Dapr $dapr_version (from $daprd_dir/go.mod)"

if [[ -f "$out/versions.json" ]]; then
  log "using cached $out"
  printf '%s\n' "$out"
  exit 0
fi

command -v go >/dev/null || die "go is not installed (the schemas come from the Go module proxy)"
mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
if ! flock -n 9; then
  log "another schemas.sh holds $cache_root/.lock; waiting"
  flock 9
fi
if [[ -f "$out/versions.json" ]]; then
  log "using cached $out"
  printf '%s\n' "$out"
  exit 0
fi

# Prints the module's extracted directory; checks the hash when one is given.
module_dir() { # <dir to run in> <module@version> [expected h1 sum]
  local json dir sum
  json="$(cd "$1" && go mod download -json "$2")" || die "go mod download $2 failed"
  dir="$(awk -F'"' '$2 == "Dir" { print $4 }' <<<"$json")"
  sum="$(awk -F'"' '$2 == "Sum" { print $4 }' <<<"$json")"
  [[ -n "$dir" && -d "$dir" ]] || die "go mod download $2 gave no directory"
  if [[ -n "${3:-}" && "$sum" != "$3" ]]; then die "$2 has hash $sum, pinned $3"; fi
  printf '%s\n' "$dir"
}

start=$SECONDS
tmp="$out.tmp"
rm -rf "$tmp"
mkdir -p "$tmp/kubernetes/openapi-v3" "$tmp/dapr/crds"

# Outside any module, so nothing of this repo's go.mod files is involved; the
# pinned hash stands in for a go.sum line.
log "downloading k8s.io/kubernetes@$kubernetes_version (about 18 MB)"
empty="$(mktemp -d)"
k8s_dir="$(module_dir "$empty" "k8s.io/kubernetes@$kubernetes_version" "$kubernetes_sum")"
rmdir "$empty"
cp "$k8s_dir"/api/openapi-spec/v3/*.json "$tmp/kubernetes/openapi-v3/"
cp "$k8s_dir/pkg/generated/openapi/zz_generated.openapi.go" "$tmp/kubernetes/"

# Inside scripts/daprd, whose go.sum pins the dapr module.
log "downloading $dapr_module@$dapr_version"
dapr_dir="$(module_dir "$daprd_dir" "$dapr_module@$dapr_version")"
cp "$dapr_dir"/charts/dapr/crds/*.yaml "$tmp/dapr/crds/"

chmod -R u+w "$tmp"
printf '{ "kubernetes": "%s", "dapr": "%s" }\n' "$kubernetes_version" "$dapr_version" >"$tmp/versions.json"
rm -rf "$out"
mv "$tmp" "$out"
log "schemas ready in $out ($(du -sh "$out" | cut -f1), $((SECONDS - start))s)"
printf '%s\n' "$out"
