#!/usr/bin/env bash
# Provide a daprd binary at taskmesh's pinned Dapr version and print its path
# on the last line of stdout (progress goes to stderr), so callers can write:
#
#     DAPRD="$(scripts/daprd/build.sh)"
#     SENTRY="$(scripts/daprd/build.sh sentry)"
#
# `build.sh sentry` does the same for Dapr Sentry (the certificate authority
# behind mTLS and service-invocation access control), built from the same
# pinned module (github.com/dapr/dapr/cmd/sentry) into the same cache dir; no
# PATH lookup for it (a stock sentry has no --version to check).
#
# Order of preference:
#   1. `daprd` on PATH, then ~/.dapr/bin/daprd, when `daprd --version` prints
#      the pinned version (a stock daprd has every component, a superset).
#   2. The cached build ~/.cache/taskmesh/daprd/<version>/daprd, when it was
#      built by this script from the same inputs (main.go, go.mod, go.sum,
#      _overlay/).
#   3. Otherwise build it from github.com/dapr/dapr through the Go module
#      proxy, with only the components registered in main.go.
#
# The Dapr version is pinned in ONE place: the `require github.com/dapr/dapr`
# line of go.mod next to this script (go.sum locks it and components-contrib).
# To move to another release, change that line and run `go mod tidy` here.
#
# Environment:
#   TASKMESH_CACHE_DIR      cache root (default ~/.cache/taskmesh)
#   TASKMESH_DAPRD_REBUILD  1 = ignore binaries found on PATH and in the cache
#   TASKMESH_DAPRD_PROCS    parallel build jobs, `go build -p` (default 1)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GB_TAG=daprd
# shellcheck source=SCRIPTDIR/../lib/go-build.sh
. "$here/../lib/go-build.sh"

target="${1:-daprd}"
case "$target" in
  daprd | sentry) ;;
  -h | --help) gb_usage; exit 0 ;;
  *) log "ERROR: unknown target $target (daprd|sentry)"; exit 2 ;;
esac

# --- the pin (read from go.mod) --------------------------------------------
dapr_module=github.com/dapr/dapr
dapr_tag="$(gb_pinned_version "$here/go.mod" "$dapr_module")"
[[ -n "$dapr_tag" ]] || die "no 'require $dapr_module vX.Y.Z' line in $here/go.mod"
version="${dapr_tag#v}" # daprd --version prints it without the "v"

cache_root="${TASKMESH_CACHE_DIR:-$HOME/.cache/taskmesh}/daprd"
out_dir="$cache_root/$version"
out="$out_dir/$target"

daprd_version_of() { "$1" --version 2>/dev/null | head -n1 | tr -d '[:space:]' || true; }

log "pinned Dapr version: $version (from $here/go.mod)"

# --- 1. an existing daprd at the pinned version ------------------------------
rebuild="${TASKMESH_DAPRD_REBUILD:-0}"
if [[ "$target" == daprd && "$rebuild" != 1 ]]; then
  gb_use_existing "$version" daprd_version_of "$out" "$(command -v daprd 2>/dev/null || true)" "$HOME/.dapr/bin/daprd"
fi

# --- 2/3. cached build, else build -------------------------------------------
command -v go >/dev/null || die "go is not installed (need the toolchain named in $here/go.mod)"
mkdir -p "$out_dir"
gb_lock "$cache_root"

# An edit to main.go (e.g. a newly registered component) invalidates the cached binary.
want_hash="$(gb_inputs_hash "$here" go.mod go.sum main.go '_overlay/*.go')"
if [[ "$rebuild" != 1 ]]; then
  if [[ "$target" == sentry ]]; then gb_use_cached "$out" "$want_hash"
  else gb_use_cached "$out" "$want_hash" "$version" daprd_version_of
  fi
fi

log "building $target $version into $out (one core, niced; a first build downloads modules and takes several minutes)"
start=$SECONDS

# dapr's cmd/daprd/app imports cmd/daprd/components for its init()s. Without
# the allcomponents/stablecomponents build tags that package compiles only
# zz_notag.go, whose init() panics. We register our own components in
# main.go, so that one file is swapped for an empty package clause with
# `go build -overlay`. The go command refuses overlays of files beneath
# GOMODCACHE, hence: take the verified module from the proxy (go.sum checks
# it), copy it unchanged into the cache, and point a build-only go.mod
# (-modfile; the committed go.mod is untouched) at that copy.
log "downloading $dapr_module@$dapr_tag"
mod_dir="$(gb_module_dir "$here" "$dapr_module@$dapr_tag")"

src="$cache_root/src/dapr@$dapr_tag"
if [[ ! -f "$src/.complete" ]]; then
  log "copying $mod_dir -> $src"
  rm -rf "$src.tmp" && mkdir -p "$(dirname "$src")"
  cp -R "$mod_dir" "$src.tmp"
  chmod -R u+w "$src.tmp"
  if [[ -e "$src" ]]; then chmod -R u+w "$src"; rm -rf "$src"; fi
  mv "$src.tmp" "$src"
  touch "$src/.complete"
fi
guard="$src/cmd/daprd/components/zz_notag.go"
[[ -f "$guard" ]] || die "$guard not found: the layout of dapr $version differs, see $here/_overlay/"

bdir="$cache_root/build-$version"
mkdir -p "$bdir"
{
  cat "$here/go.mod"
  printf '\n// Added by build.sh for this build only.\nreplace %s %s => %s\n' "$dapr_module" "$dapr_tag" "$src"
} >"$bdir/go.mod"
cp "$here/go.sum" "$bdir/go.sum"
printf '{"Replace":{"%s":"%s"}}\n' "$guard" "$here/_overlay/zz_notag.go" >"$bdir/overlay.json"

ldflags="-s -w"
ldflags+=" -X $dapr_module/pkg/buildinfo.version=$version"
ldflags+=" -X $dapr_module/pkg/buildinfo.gitversion=$dapr_tag"
ldflags+=" -X github.com/dapr/kit/logger.DaprVersion=$version"

# daprd: this directory's main package (our component set); sentry: dapr's own.
pkg=.
[[ "$target" == sentry ]] && pkg="$dapr_module/cmd/sentry"
blog="$bdir/build-$target.log"
log "go build $pkg (log: $blog)"
rm -f "$out.tmp"
gb_build "$here" "$blog" 30 nice -n 19 go build -p "${TASKMESH_DAPRD_PROCS:-1}" -trimpath \
  -modfile="$bdir/go.mod" -overlay="$bdir/overlay.json" -ldflags "$ldflags" -o "$out.tmp" "$pkg"

if [[ "$target" == daprd ]]; then
  got="$(daprd_version_of "$out.tmp")"
  [[ "$got" == "$version" ]] || die "built binary reports version '$got', want $version"
fi
gb_install "$out" "$want_hash" "$start"
