#!/usr/bin/env bash
# Provide a kustomize binary at taskmesh's pinned version and print its path on
# the last line of stdout (progress goes to stderr), so callers can write:
#
#     KUSTOMIZE="$(scripts/k8s/kustomize.sh)"
#     "$KUSTOMIZE" build k8s/overlays/local
#
# Order of preference:
#   1. `kustomize` on PATH when `kustomize version` prints the pinned version.
#   2. The cached build ~/.cache/taskmesh/kustomize/<version>/kustomize, when it
#      was built by this script from the same inputs (go.mod, go.sum, Go version).
#   3. Otherwise build it from sigs.k8s.io/kustomize/kustomize/v5 through the Go
#      module proxy (about a minute on two cores; modules are verified by go.sum).
#
# The version is pinned in ONE place: the `sigs.k8s.io/kustomize/kustomize/v5`
# requirement of go.mod next to this script (a `tool` of that module; go.sum
# locks it and its dependencies). To move: `go get -tool
# sigs.k8s.io/kustomize/kustomize/v5@vX.Y.Z && go mod tidy` here. v5.8.2 is the
# newest release whose go.mod accepts Go 1.26 (v5.8.3 needs Go 1.27).
#
# Environment:
#   TASKMESH_CACHE_DIR          cache root (default ~/.cache/taskmesh)
#   TASKMESH_KUSTOMIZE_REBUILD  1 = ignore binaries found on PATH and in the cache
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GB_TAG=kustomize
# shellcheck source=SCRIPTDIR/../lib/go-build.sh
. "$here/../lib/go-build.sh"

case "${1:-}" in
  -h | --help) gb_usage; exit 0 ;;
  "") ;;
  *) log "ERROR: unexpected argument $1"; exit 2 ;;
esac

# --- the pin (read from go.mod) --------------------------------------------
module=sigs.k8s.io/kustomize/kustomize/v5
version="$(gb_pinned_version "$here/go.mod" "$module")"
[[ -n "$version" ]] || die "no requirement of $module in $here/go.mod"

cache_root="${TASKMESH_CACHE_DIR:-$HOME/.cache/taskmesh}/kustomize"
out_dir="$cache_root/$version"
out="$out_dir/kustomize"

# `kustomize version` prints "v5.8.2" (older releases printed a struct).
version_of() { "$1" version 2>/dev/null | head -n1 | tr -d '[:space:]' || true; }

log "pinned kustomize version: $version (from $here/go.mod)"

# --- 1. an existing kustomize at the pinned version ---------------------------
rebuild="${TASKMESH_KUSTOMIZE_REBUILD:-0}"
[[ "$rebuild" == 1 ]] || gb_use_existing "$version" version_of "$out" "$(command -v kustomize 2>/dev/null || true)"

# --- 2/3. cached build, else build -------------------------------------------
command -v go >/dev/null || die "go is not installed (needed to build kustomize $version)"
mkdir -p "$out_dir"
gb_lock "$cache_root"

want_hash="$(gb_inputs_hash "$here" go.mod go.sum)"
[[ "$rebuild" == 1 ]] || gb_use_cached "$out" "$want_hash" "$version" version_of

log "building kustomize $version into $out (a first build downloads modules; about a minute)"
start=$SECONDS
rm -f "$out.tmp"
# Built as a dependency of this directory's module, so go.sum pins every module.
gb_build "$here" "$out_dir/build.log" 20 nice -n 10 go build -trimpath -ldflags "-s -w" -o "$out.tmp" "$module"

got="$(version_of "$out.tmp")"
[[ "$got" == "$version" ]] || die "built binary reports version '$got', want $version"
gb_install "$out" "$want_hash" "$start"
