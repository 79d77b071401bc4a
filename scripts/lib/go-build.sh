# shellcheck shell=bash
# What the scripts that provide a pinned Go binary or Go module share
# (scripts/daprd/build.sh, scripts/k8s/kustomize.sh, scripts/k8s/schemas.sh).
# Source it after setting GB_TAG (the log prefix). Such a script prints its
# progress on stderr and its answer (a path) on the last line of stdout; each
# gb_* function that finds the answer prints it and exits.

log() { printf '[%s] %s\n' "$GB_TAG" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The calling script's header comment, for -h/--help.
gb_usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

gb_answer() { printf '%s\n' "$1"; exit 0; }

# gb_pinned_version <go.mod> <module>: the version go.mod requires of module.
gb_pinned_version() {
  awk -v m="$2" '($1 == m && $2 ~ /^v/) { print $2; exit } ($1 == "require" && $2 == m) { print $3; exit }' "$1"
}

# gb_lock <cache dir>: one run at a time per cache dir (fd 9, held until exit).
gb_lock() {
  mkdir -p "$1"
  exec 9>"$1/.lock"
  if ! flock -n 9; then
    log "another $(basename "$0") holds $1/.lock; waiting"
    flock 9
  fi
}

# gb_inputs_hash <dir> <file or quoted glob...>: hash of what determines a
# build (the files, relative to dir, and the Go version), so an edit
# invalidates the cached binary.
gb_inputs_hash() {
  local dir="$1"
  shift
  (
    cd "$dir" || exit 1
    {
      # shellcheck disable=SC2068 # the globs are expanded here, in dir
      sha256sum $@
      printf 'go=%s cgo=0\n' "$(go env GOVERSION 2>/dev/null || echo unknown)"
    } | sha256sum | cut -d' ' -f1
  )
}

# gb_use_existing <version> <version-of function> <own build> <candidate...>:
# answers the first candidate (other than our own build) at the pinned version.
gb_use_existing() {
  local want="$1" version_of="$2" own="$3" cand v
  shift 3
  for cand in "$@"; do
    [[ -n "$cand" && -x "$cand" ]] || continue
    [[ "$cand" -ef "$own" ]] && continue
    v="$("$version_of" "$cand")"
    [[ "$v" == "$want" ]] && { log "using existing $cand (version $v)"; gb_answer "$cand"; }
    log "ignoring $cand: version '${v:-?}', want $want"
  done
}

# gb_use_cached <out> <inputs hash> [<version> <version-of function>]: answers
# the cached build when it was built from the same inputs (and reports the version).
gb_use_cached() {
  [[ -x "$1" && -f "$1.inputs.sha256" && "$(cat "$1.inputs.sha256")" == "$2" ]] || return 0
  [[ -z "${3:-}" || "$("$4" "$1")" == "$3" ]] || return 0
  log "using cached build $1"
  gb_answer "$1"
}

# gb_build <dir> <log> <heartbeat seconds> <command...>: runs the build command
# in dir (CGO off) in the background, saying it is alive every so often; on
# failure prints the end of the log and dies.
gb_build() {
  local dir="$1" blog="$2" every="$3" start=$SECONDS pid
  shift 3
  (cd "$dir" && CGO_ENABLED=0 "$@") >"$blog" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq "$every"); do sleep 1; kill -0 "$pid" 2>/dev/null || break; done
    kill -0 "$pid" 2>/dev/null && log "  still building ($((SECONDS - start))s)"
  done
  if ! wait "$pid"; then
    tail -n 40 "$blog" >&2
    die "go build failed; full log in $blog"
  fi
}

# gb_install <out> <inputs hash> <start SECONDS>: puts <out>.tmp in place with
# its stamp and answers it.
gb_install() {
  mv -f "$1.tmp" "$1"
  printf '%s\n' "$2" >"$1.inputs.sha256"
  log "built $1 ($(du -h "$1" | cut -f1)) in $((SECONDS - $3))s"
  gb_answer "$1"
}

# gb_module_dir <dir to run in> <module@version> [h1 sum]: downloads a module
# through the Go module proxy and prints its directory; checks the sum if given.
gb_module_dir() {
  local json dir sum
  json="$(cd "$1" && go mod download -json "$2")" || die "go mod download $2 failed"
  dir="$(awk -F'"' '$2 == "Dir" { print $4 }' <<<"$json")"
  sum="$(awk -F'"' '$2 == "Sum" { print $4 }' <<<"$json")"
  [[ -n "$dir" && -d "$dir" ]] || die "go mod download $2 gave no directory"
  [[ -z "${3:-}" || "$sum" == "$3" ]] || die "$2 has hash $sum, pinned $3"
  printf '%s\n' "$dir"
}
