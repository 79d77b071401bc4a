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

case "${1:-}" in
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) printf '[kustomize] ERROR: unexpected argument %s\n' "$1" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf '[kustomize] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- the pin (read from go.mod) --------------------------------------------
module=sigs.k8s.io/kustomize/kustomize/v5
version="$(awk -v m="$module" '($1 == m && $2 ~ /^v/) { print $2; exit } ($1 == "require" && $2 == m) { print $3; exit }' "$here/go.mod")"
[[ -n "$version" ]] || die "no requirement of $module in $here/go.mod"

cache_root="${TASKMESH_CACHE_DIR:-$HOME/.cache/taskmesh}/kustomize"
out_dir="$cache_root/$version"
out="$out_dir/kustomize"
stamp="$out_dir/kustomize.inputs.sha256"

# `kustomize version` prints "v5.8.2" (older releases printed a struct).
version_of() { "$1" version 2>/dev/null | head -n1 | tr -d '[:space:]' || true; }

inputs_hash() {
  (
    cd "$here"
    {
      sha256sum go.mod go.sum
      printf 'go=%s cgo=0\n' "$(go env GOVERSION 2>/dev/null || echo unknown)"
    } | sha256sum | cut -d' ' -f1
  )
}

log "pinned kustomize version: $version (from $here/go.mod)"

# --- 1. an existing kustomize at the pinned version ---------------------------
if [[ "${TASKMESH_KUSTOMIZE_REBUILD:-0}" != 1 ]]; then
  cand="$(command -v kustomize 2>/dev/null || true)"
  if [[ -n "$cand" && -x "$cand" ]] && ! [[ "$cand" -ef "$out" ]]; then
    v="$(version_of "$cand")"
    if [[ "$v" == "$version" ]]; then
      log "using existing $cand (version $v)"
      printf '%s\n' "$cand"
      exit 0
    fi
    log "ignoring $cand: version '${v:-?}', want $version"
  fi
fi

# --- 2/3. cached build, else build -------------------------------------------
command -v go >/dev/null || die "go is not installed (needed to build kustomize $version)"
mkdir -p "$out_dir"

# One build at a time per machine (CI, tests and the CLI may call this concurrently).
exec 9>"$cache_root/.lock"
if ! flock -n 9; then
  log "another kustomize.sh holds $cache_root/.lock; waiting"
  flock 9
fi

want_hash="$(inputs_hash)"
if [[ "${TASKMESH_KUSTOMIZE_REBUILD:-0}" != 1 && -x "$out" && -f "$stamp" ]] &&
  [[ "$(cat "$stamp")" == "$want_hash" && "$(version_of "$out")" == "$version" ]]; then
  log "using cached build $out"
  printf '%s\n' "$out"
  exit 0
fi

log "building kustomize $version into $out (a first build downloads modules; about a minute)"
start=$SECONDS
blog="$out_dir/build.log"
rm -f "$out.tmp"
# Built as a dependency of this directory's module, so go.sum pins every module.
(cd "$here" && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "-s -w" -o "$out.tmp" "$module") >"$blog" 2>&1 &
build_pid=$!
# A long build says it is alive every 20 s.
while kill -0 "$build_pid" 2>/dev/null; do
  for _ in $(seq 20); do sleep 1; kill -0 "$build_pid" 2>/dev/null || break; done
  kill -0 "$build_pid" 2>/dev/null && log "  still building ($((SECONDS - start))s)"
done
if ! wait "$build_pid"; then
  tail -n 40 "$blog" >&2
  die "go build failed; full log in $blog"
fi

got="$(version_of "$out.tmp")"
[[ "$got" == "$version" ]] || die "built binary reports version '$got', want $version"
mv -f "$out.tmp" "$out"
printf '%s\n' "$want_hash" >"$stamp"
log "built $out ($(du -h "$out" | cut -f1)) in $((SECONDS - start))s"
printf '%s\n' "$out"
