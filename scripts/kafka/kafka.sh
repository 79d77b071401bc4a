#!/usr/bin/env bash
# taskmesh's local Kafka-protocol broker: one Apache Kafka node in KRaft mode
# (broker + controller in one JVM, no ZooKeeper), fetched from Maven Central
# and cached by version. Dapr's pubsub.kafka uses it exactly as it would use
# Redpanda: point `brokers` at 127.0.0.1:<port>.
#
#   scripts/kafka/kafka.sh install
#   scripts/kafka/kafka.sh start  [--data-dir D] [--port P] [--controller-port C]
#                                 [--partitions N] [--heap SIZE] [--timeout SECONDS]
#                                 [--foreground]
#   scripts/kafka/kafka.sh stop   [--data-dir D] [--timeout SECONDS]
#   scripts/kafka/kafka.sh status [--data-dir D]
#   scripts/kafka/kafka.sh restart [start options]
#   scripts/kafka/kafka.sh tool   <main-class|alias> [args...]   (Kafka CLI tools)
#        aliases: topics, console-producer, console-consumer, consumer-groups,
#                 storage, metadata-quorum
#   scripts/kafka/kafka.sh libs   print the classpath directory (installs first)
#   scripts/kafka/kafka.sh version   print the pinned Kafka version
#
# install  resolves org.apache.kafka:kafka_2.13 and friends (pom.xml beside this
#          script; THE VERSION PIN is its kafka.version property) into
#          $TASKMESH_CACHE_DIR/kafka/<version>/libs with `mvn dependency:copy-dependencies`.
#          Idempotent: a marker file written last makes later runs instant. The
#          install dir is printed on the last line of stdout.
# start    installs if needed, formats the KRaft storage once (standalone
#          controller, cluster id kept in <data-dir>/cluster-id), writes
#          <data-dir>/config/server.properties, starts `java kafka.Kafka` in the
#          background (log: <data-dir>/logs/server.log, JVM output:
#          <data-dir>/logs/kafka.out, pid: <data-dir>/kafka.pid) and waits until
#          the broker answers a Kafka ApiVersions request. Starting a broker that
#          is already running is a no-op. A second start reuses the data.
#          --foreground: prepare as above, then exec the JVM in place of this
#          script (same pid, JVM output on stdout/stderr, no readiness wait):
#          for launchers that own the process (scripts/stack, npm start).
# stop     SIGTERM (controlled shutdown), SIGKILL after the timeout (default 30 s).
# status   exit 0: running and answering; 1: running, not answering; 3: stopped.
#
# Defaults: data dir ./.data/kafka (relative to the current directory), port 9092,
# controller port = port + 1 (--controller-port; it may change between starts),
# 6 partitions for auto-created topics, heap 512m.
#
# Environment (flags win over these):
#   TASKMESH_CACHE_DIR          cache root (default ~/.cache/taskmesh)
#   TASKMESH_KAFKA_DATA_DIR     data dir          TASKMESH_KAFKA_PORT  port
#   TASKMESH_KAFKA_PARTITIONS   num.partitions    TASKMESH_KAFKA_HEAP  heap (-Xmx)
#   TASKMESH_KAFKA_JVM_OPTS     extra JVM flags for the broker
#   TASKMESH_KAFKA_JIT          c1 (default: fast start, low CPU) or full (C2 too)
#   TASKMESH_KAFKA_CDS          1 (default: AppCDS archive in the install dir) or 0
#   TASKMESH_KAFKA_MVN_ARGS     extra mvn arguments for install (e.g. -o, -Dmaven.repo.local=...)
#   JAVA_HOME / JAVA            the java to use (needs 17+)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf '[kafka] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { printf '%s' "${EPOCHREALTIME/[,.]/}"; } # microseconds
elapsed() { local us=$(($(now) - $1)); printf '%d.%01ds' $((us / 1000000)) $((us % 1000000 / 100000)); }

# --- the pin (read from pom.xml) ----------------------------------------------
pom="$here/pom.xml"
version="$(sed -n 's:.*<kafka\.version>\([^<]*\)</kafka\.version>.*:\1:p' "$pom" | head -n1)"
[[ -n "$version" ]] || die "no <kafka.version> property in $pom"

cache_root="${TASKMESH_CACHE_DIR:-$HOME/.cache/taskmesh}/kafka"
install_dir="$cache_root/$version"
libs="$install_dir/libs"
marker="$install_dir/.installed"

java_bin() {
  if [[ -n "${JAVA:-}" ]]; then printf '%s' "$JAVA"
  elif [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then printf '%s' "$JAVA_HOME/bin/java"
  else command -v java || die "java not found: Kafka $version needs a JDK/JRE 17+ (apt-get install openjdk-17-jre-headless)"
  fi
}
check_java() {
  local j major
  j="$(java_bin)"
  major="$("$j" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')"
  major="${major#1.}"
  [[ "$major" =~ ^[0-9]+$ ]] || die "cannot tell the version of $j"
  ((major >= 17)) || die "$j is Java $major; Kafka $version (broker, tools) needs Java 17+"
}

# Hash of what decides the libs dir content: the pom (versions) only.
inputs_hash() { sha256sum "$pom" | cut -d' ' -f1; }

installed_ok() {
  [[ -f "$marker" ]] || return 1
  [[ "$(sed -n 's/^pom-sha256=//p' "$marker")" == "$(inputs_hash)" ]] || return 1
  local jar
  while read -r jar; do
    [[ -s "$libs/$jar" ]] || return 1
  done < <(sed -n 's/^jar=//p' "$marker")
}

cmd_install() {
  if installed_ok; then
    log "Kafka $version already installed ($(grep -c '^jar=' "$marker") jars)"
    printf '%s\n' "$install_dir"
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  check_java
  mkdir -p "$install_dir"
  # One install at a time per cache (CI and tests may call this concurrently).
  exec 8>"$cache_root/.lock-$version"
  if ! flock -n 8; then
    log "another install holds $cache_root/.lock-$version; waiting"
    flock 8
    if installed_ok; then printf '%s\n' "$install_dir"; return 0; fi
  fi

  local t0 tmp mvn_log
  t0="$(now)"
  tmp="$install_dir/libs.partial"
  mvn_log="$install_dir/install.log"
  rm -rf "$tmp" "$marker"
  log "installing Apache Kafka $version (org.apache.kafka:kafka_2.13 + tools + log4j binding) from Maven Central"
  log "into $libs (full Maven log: $mvn_log)"
  # Batch mode without -q: each 'Downloaded from' line is progress; print a count.
  # shellcheck disable=SC2086
  nice -n 10 mvn -B -f "$pom" ${TASKMESH_KAFKA_MVN_ARGS:-} \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >"$mvn_log" 2>&1 &
  local mvn_pid=$! n=0 shown=0
  # Follow the log while mvn runs: report every 25 downloads.
  while kill -0 "$mvn_pid" 2>/dev/null; do
    sleep 1
    n="$(grep -c '^\[INFO\] Downloaded from' "$mvn_log" || true)"
    if ((n >= shown + 25)); then
      shown=$n
      log "  downloaded $n files ($(elapsed "$t0"))"
    fi
  done
  if ! wait "$mvn_pid"; then
    grep -E '^\[ERROR\]' "$mvn_log" | head -n 20 >&2 || true
    die "mvn failed; see $mvn_log"
  fi
  n="$(grep -c '^\[INFO\] Downloaded from' "$mvn_log" || true)"
  log "  maven done: downloaded $n files, $(find "$tmp" -name '*.jar' | wc -l) jars in the classpath"

  # Sanity: the jars the broker, the storage tool and logging need.
  local want
  for want in "kafka_2.13-$version" "kafka-server-$version" "kafka-storage-$version" \
    "kafka-metadata-$version" "kafka-raft-$version" "kafka-tools-$version" "kafka-clients-$version" \
    log4j-api- log4j-core- log4j-slf4j-impl- slf4j-api- scala-library-; do
    compgen -G "$tmp/$want*.jar" >/dev/null || die "resolved classpath lacks $want*.jar"
  done
  local core_v bind_v jar
  core_v="$(basename "$(compgen -G "$tmp/log4j-core-*.jar" | head -n1)" .jar)"
  bind_v="$(basename "$(compgen -G "$tmp/log4j-slf4j-impl-*.jar" | head -n1)" .jar)"
  [[ "${core_v#log4j-core-}" == "${bind_v#log4j-slf4j-impl-}" ]] ||
    die "log4j-slf4j-impl (${bind_v#log4j-slf4j-impl-}) != log4j-core (${core_v#log4j-core-}) that Kafka brings: set <log4j.version> in $pom"

  rm -rf "$libs"
  mv "$tmp" "$libs"
  {
    printf 'version=%s\n' "$version"
    printf 'pom-sha256=%s\n' "$(inputs_hash)"
    printf 'installed=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    for jar in "$libs"/*.jar; do printf 'jar=%s\n' "${jar##*/}"; done
  } >"$marker.tmp"
  mv "$marker.tmp" "$marker"
  log "installed Kafka $version in $(elapsed "$t0")"
  printf '%s\n' "$install_dir"
}

# log4j2 config for the CLI tools and the storage format: WARN+ to stderr.
tools_log4j() {
  local f="$install_dir/log4j2-tools.properties"
  if [[ ! -s "$f" ]]; then
    printf '%s\n' '# Written by scripts/kafka/kafka.sh.' 'status = warn' \
      'appender.stderr.type = Console' 'appender.stderr.name = stderr' \
      'appender.stderr.target = SYSTEM_ERR' 'appender.stderr.layout.type = PatternLayout' \
      'appender.stderr.layout.pattern = [%d] %p %m (%c)%n' 'rootLogger.level = WARN' \
      'rootLogger.appenderRef.stderr.ref = stderr' >"$f.$$"
    mv "$f.$$" "$f"
  fi
  printf '%s' "$f"
}

ensure_installed() {
  installed_ok || cmd_install >/dev/null
  check_java
}

# --- options shared by start/stop/status ---------------------------------------
data_dir="${TASKMESH_KAFKA_DATA_DIR:-.data/kafka}"
port="${TASKMESH_KAFKA_PORT:-9092}"
controller_port=""
partitions="${TASKMESH_KAFKA_PARTITIONS:-6}"
heap="${TASKMESH_KAFKA_HEAP:-512m}"
timeout_s=""
foreground=0
parse_opts() {
  while (($#)); do
    case "$1" in
      --data-dir) data_dir="${2:?--data-dir needs a value}"; shift 2 ;;
      --data-dir=*) data_dir="${1#*=}"; shift ;;
      --port) port="${2:?--port needs a value}"; shift 2 ;;
      --port=*) port="${1#*=}"; shift ;;
      --controller-port) controller_port="${2:?}"; shift 2 ;;
      --controller-port=*) controller_port="${1#*=}"; shift ;;
      --partitions) partitions="${2:?}"; shift 2 ;;
      --partitions=*) partitions="${1#*=}"; shift ;;
      --heap) heap="${2:?}"; shift 2 ;;
      --heap=*) heap="${1#*=}"; shift ;;
      --timeout) timeout_s="${2:?}"; shift 2 ;;
      --timeout=*) timeout_s="${1#*=}"; shift ;;
      --foreground) foreground=1; shift ;;
      *) die "unknown option '$1'" ;;
    esac
  done
  [[ "$port" =~ ^[0-9]+$ ]] || die "bad --port '$port'"
  [[ -z "$controller_port" || "$controller_port" =~ ^[0-9]+$ ]] || die "bad --controller-port '$controller_port'"
  [[ "$partitions" =~ ^[1-9][0-9]*$ ]] || die "bad --partitions '$partitions'"
  [[ "$heap" =~ ^[0-9]+[kKmMgG]$ ]] || die "bad --heap '$heap' (e.g. 512m)"
  [[ -z "$timeout_s" || "$timeout_s" =~ ^[0-9]+$ ]] || die "bad --timeout '$timeout_s'"
  mkdir -p "$data_dir"
  data_dir="$(cd "$data_dir" && pwd)"
  pid_file="$data_dir/kafka.pid"
  state_file="$data_dir/kraft.env"
  conf_dir="$data_dir/config"
  log_dir="$data_dir/logs"
  kraft_dir="$data_dir/kraft-combined-logs"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Kafka ApiVersions v0 request (api_key 18, correlation id 1, null client id);
# ready when the broker answers with correlation id 1 and error code 0.
kafka_ping() {
  local resp
  resp="$(
    exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf '\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff' >&3 2>/dev/null || exit 1
    timeout 2 head -c 10 <&3 2>/dev/null | od -An -tx1 | tr -d ' \n'
  )" || return 1
  [[ "${resp:8:8}" == 00000001 && "${resp:16:4}" == 0000 ]]
}

# pid of our running broker (pid file + /proc check), or nothing.
running_pid() {
  [[ -f "$pid_file" ]] || return 1
  local pid
  pid="$(cat "$pid_file" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  # Guard against a recycled pid: it must be a kafka.Kafka with our config.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "kafka.Kafka $conf_dir/server.properties" || return 1
  printf '%s' "$pid"
}

rss_of() { awk '/^VmRSS:/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || true; }

write_log4j() {
  # Broker: rolling server.log at INFO (Kafka's own layout), request logger quiet.
  cat >"$conf_dir/log4j2.properties" <<'EOF'
# Written by scripts/kafka/kafka.sh on every start.
status = warn
name = taskmesh-kafka
appender.server.type = RollingFile
appender.server.name = server
appender.server.fileName = ${sys:kafka.logs.dir}/server.log
appender.server.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.server.layout.type = PatternLayout
appender.server.layout.pattern = [%d] %p %m (%c)%n
appender.server.policies.type = Policies
appender.server.policies.size.type = SizeBasedTriggeringPolicy
appender.server.policies.size.size = 20MB
appender.server.strategy.type = DefaultRolloverStrategy
appender.server.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.server.ref = server
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.requestchannel.name = kafka.network.RequestChannel$
logger.requestchannel.level = WARN
EOF
}

write_server_properties() {
  cat >"$conf_dir/server.properties" <<EOF
# Written by scripts/kafka/kafka.sh on every start (edits here are overwritten).
# Single-node KRaft: this process is broker and (standalone) controller.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$kraft_dir

# One node: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1

# Topics appear on first use, like Redpanda's auto_create_topics_enabled.
auto.create.topics.enable=true
num.partitions=$partitions
delete.topic.enable=true

# Development settings: no 3 s wait before the first consumer-group rebalance,
# few threads on a small machine.
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
# The log cleaner (compacted topics such as __consumer_offsets) allocates its
# dedupe buffer on the heap at startup: 128 MiB by default, 16 MiB here.
log.cleaner.dedupe.buffer.size=16777216
log.retention.hours=168
EOF
}

# AppCDS (dynamic class-data archive, JDK 13+): a broker started without an
# archive dumps the classes it loaded when it exits cleanly; later starts map
# them, which roughly halves the JVM's start-up work. One archive per
# (java build, Kafka install); it lives in the install dir.
cds_archive() {
  local j key
  j="$(readlink -f "$(java_bin)")"
  key="$(
    {
      printf '%s\n' "$j"
      stat -Lc '%s %Y' "$j" "$(dirname "$j")/../lib/server/libjvm.so" 2>/dev/null || true
      sed -n 's/^\(pom-sha256\|installed\)=//p' "$marker"
    } | sha256sum | cut -c1-16
  )"
  printf '%s' "$install_dir/cds/kafka-$key.jsa"
}

# An archive is used only with its sidecar <archive>.ok (its size, written when
# it was checked): JDK 17 aborts (SIGBUS) on a truncated archive instead of
# falling back, even with -Xshare:auto.
cds_ok() {
  [[ -s "$1" && -s "$1.ok" && "$(stat -c %s "$1")" == "$(cat "$1.ok")" ]]
}
cds_drop() { rm -f "$1" "$1.ok"; }

# Turn a finished dump (left by a broker that has exited) into the archive,
# after checking that this JVM accepts it with this classpath.
cds_promote() {
  local cds="$1" f err
  cds_ok "$cds" && return 0
  cds_drop "$cds"
  for f in "$cds".dump-*; do
    [[ -e "$f" ]] || continue
    # Still being written by a running broker? Leave it.
    if grep -lsF -- "$f" /proc/[0-9]*/cmdline >/dev/null 2>&1; then continue; fi
    err="${TMPDIR:-/tmp}/taskmesh-kafka-cds-check-$$.log"
    if "$(java_bin)" -Xshare:on -XX:SharedArchiveFile="$f" -XX:ErrorFile="$err" \
      -XX:-CreateCoredumpOnCrash -cp "$libs/*" -version >/dev/null 2>&1; then
      mv -f "$f" "$cds"
      stat -c %s "$cds" >"$cds.ok"
      log "class-data archive ready: $cds"
    else
      rm -f "$f"
    fi
    rm -f "$err"
  done
}

# For short-lived JVMs (storage format, CLI tools): map the broker's archive if
# there is one; classes it lacks load as usual, and a mismatch is silent.
cds_use_flags() {
  printf '%s\n' "-XX:ErrorFile=${TMPDIR:-/tmp}/kafka-tool-hs_err_pid%p.log"
  [[ "${TASKMESH_KAFKA_CDS:-1}" == 1 ]] || return 0
  local cds
  cds="$(cds_archive)"
  cds_ok "$cds" && printf '%s\n' "-XX:SharedArchiveFile=$cds" -Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off
  return 0
}

gen_cluster_id() {
  # A Kafka Uuid: 16 random bytes, base64url without padding (22 chars); like
  # Uuid.randomUuid(), avoid a leading '-' (it reads as a CLI flag).
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ ${#id} -eq 22 && "$id" != -* && "$id" != AAAAAAAAAAAAAAAAAAAAA* ]] && break
  done
  printf '%s' "$id"
}

cmd_start() {
  parse_opts "$@"
  local pid running_port
  if pid="$(running_pid)"; then
    running_port="$(sed -n 's/^PORT=//p' "$state_file")"
    if kafka_ping "$running_port"; then
      log "already running (pid $pid) on 127.0.0.1:$running_port, data $data_dir"
      [[ "$running_port" == "$port" ]] || log "WARNING: asked for port $port; stop it first to change the port"
      return 0
    fi
    die "a broker (pid $pid) from $data_dir is running but not answering; run stop first"
  fi
  rm -f "$pid_file"
  local t0
  t0="$(now)"
  ensure_installed
  mkdir -p "$conf_dir" "$log_dir"

  # The controller listener (KRaft quorum) takes the next port by default. The
  # standalone voter's endpoint is recorded at format time, but the controller
  # updates it itself when it starts on another port (checked with 4.4.0).
  controller_port="${controller_port:-$((port + 1))}"
  [[ "$controller_port" != "$port" ]] || die "--port and --controller-port must differ"
  local p
  for p in "$port" "$controller_port"; do
    port_open "$p" && die "port $p on 127.0.0.1 is already in use (another broker? choose --port/--controller-port)"
  done

  write_server_properties
  write_log4j
  local java cp
  java="$(java_bin)"
  cp="$libs/*"

  # Format the KRaft storage once; the cluster id lives in the data dir.
  if [[ ! -f "$kraft_dir/meta.properties" ]]; then
    local cluster_id
    if [[ -s "$data_dir/cluster-id" ]]; then cluster_id="$(cat "$data_dir/cluster-id")"
    else cluster_id="$(gen_cluster_id)"; printf '%s\n' "$cluster_id" >"$data_dir/cluster-id"
    fi
    log "formatting KRaft storage in $kraft_dir (cluster id $cluster_id, standalone controller)"
    local -a cdsf
    mapfile -t cdsf < <(cds_use_flags)
    if ! "$java" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "${cdsf[@]}" \
      -Dlog4j2.configurationFile="$(tools_log4j)" -cp "$cp" \
      kafka.tools.StorageTool format --config "$conf_dir/server.properties" \
      --cluster-id "$cluster_id" --standalone >"$log_dir/format.log" 2>&1; then
      cat "$log_dir/format.log" >&2
      die "kafka-storage format failed"
    fi
    log "formatted in $(elapsed "$t0")"
  fi
  printf 'CLUSTER_ID=%s\nPORT=%s\nCONTROLLER_PORT=%s\nVERSION=%s\n' \
    "$(cat "$data_dir/cluster-id" 2>/dev/null || sed -n 's/^cluster.id=//p' "$kraft_dir/meta.properties")" \
    "$port" "$controller_port" "$version" >"$state_file"

  # JVM: small heap; serial GC (one node, little garbage: less RSS and fewer
  # threads than G1 on 2 cores); C1 JIT only unless TASKMESH_KAFKA_JIT=full
  # (faster start, less CPU while warming up, lower peak throughput).
  local n="${heap%[kKmMgG]}" xms=64m
  case "$heap" in
    *[kK]) ((n < 65536)) && xms="$heap" ;;
    *[mM]) ((n < 64)) && xms="$heap" ;;
  esac
  local use_cds="${TASKMESH_KAFKA_CDS:-1}" attempt cds_mode cds out_at waited limit
  local -a jvm
  for attempt in 1 2; do
    jvm=(
      "-Xms$xms" "-Xmx$heap"
      -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -XX:-UsePerfData
      "-XX:ErrorFile=$log_dir/hs_err_pid%p.log"
      -Djava.awt.headless=true
      "-Dkafka.logs.dir=$log_dir"
      "-Dlog4j2.configurationFile=$conf_dir/log4j2.properties"
    )
    [[ "${TASKMESH_KAFKA_JIT:-c1}" == full ]] || jvm+=(-XX:TieredStopAtLevel=1)
    cds_mode="" cds=""
    if [[ "$use_cds" == 1 ]]; then
      cds="$(cds_archive)"
      cds_promote "$cds"
      if cds_ok "$cds"; then
        cds_mode=use
        jvm+=("-XX:SharedArchiveFile=$cds" -Xshare:auto)
      else
        # No archive yet: this broker writes one when it stops cleanly.
        cds_mode=dump
        mkdir -p "$(dirname "$cds")"
        jvm+=("-XX:ArchiveClassesAtExit=$cds.dump-$$-$RANDOM" -Xlog:cds=off -Xlog:cds+dynamic=off)
      fi
    fi
    # shellcheck disable=SC2206
    [[ -n "${TASKMESH_KAFKA_JVM_OPTS:-}" ]] && jvm+=(${TASKMESH_KAFKA_JVM_OPTS})

    if ((foreground)); then
      # The caller owns the process and waits for the port itself. No retry
      # without the archive here: cds_ok has checked it and cds_promote vets new ones.
      log "starting Kafka $version in the foreground on 127.0.0.1:$port (controller 127.0.0.1:$controller_port), data $data_dir"
      echo $$ >"$pid_file"
      exec "$java" "${jvm[@]}" -cp "$cp" kafka.Kafka "$conf_dir/server.properties" </dev/null
    fi

    log "starting Kafka $version on 127.0.0.1:$port (controller 127.0.0.1:$controller_port), data $data_dir"
    printf '\n===== %s start (Kafka %s) =====\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$version" >>"$log_dir/kafka.out"
    out_at="$(stat -c %s "$log_dir/kafka.out")"
    rm -f "$pid_file"
    # Own session: the broker outlives this shell and a Ctrl-C in it. The inner
    # shell writes its pid (= the JVM's, after exec) before exec.
    # shellcheck disable=SC2016
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pid_file" \
      "$java" "${jvm[@]}" -cp "$cp" kafka.Kafka "$conf_dir/server.properties" \
      </dev/null >>"$log_dir/kafka.out" 2>&1 &
    waited=0 limit=$((${timeout_s:-90} * 5))
    while :; do
      sleep 0.2
      waited=$((waited + 1))
      pid="$(cat "$pid_file" 2>/dev/null || true)"
      if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
        rm -f "$pid_file"
        if [[ "$cds_mode" == use && "$attempt" == 1 ]] &&
          tail -c +$((out_at + 1)) "$log_dir/kafka.out" | grep -q 'fatal error has been detected'; then
          log "the JVM crashed with the class-data archive $cds: removing it, starting without"
          cds_drop "$cds"
          use_cds=0
          continue 2
        fi
        tail -n 30 "$log_dir/server.log" 2>/dev/null | cut -c1-300 >&2 || true
        tail -c +$((out_at + 1)) "$log_dir/kafka.out" | tail -n 15 >&2 || true
        die "broker exited during startup (logs: $log_dir)"
      fi
      if kafka_ping "$port"; then break 2; fi
      if ((waited >= limit)); then
        die "broker (pid $pid) not answering on 127.0.0.1:$port after ${timeout_s:-90}s (logs: $log_dir); stop it with: $0 stop --data-dir $data_dir"
      fi
    done
  done
  log "ready on 127.0.0.1:$port in $(elapsed "$t0") (pid $pid, RSS $(rss_of "$pid"))"
  case "$cds_mode" in
    dump) log "class-data archive: written when this broker stops (later starts are faster)" ;;
    use)
      # A rejected archive (other JVM build, changed jars) is not mapped: drop it
      # so the next start writes a fresh one.
      if ! grep -qF "$cds" "/proc/$pid/maps" 2>/dev/null; then
        log "class-data archive $cds was not used by the JVM; removing it"
        cds_drop "$cds"
      fi
      ;;
  esac
}

cmd_stop() {
  parse_opts "$@"
  local pid t0
  if ! pid="$(running_pid)"; then
    rm -f "$pid_file"
    log "not running (data $data_dir)"
    return 0
  fi
  t0="$(now)"
  log "stopping pid $pid (SIGTERM)"
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0 limit=$((${timeout_s:-30} * 10))
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.1
    waited=$((waited + 1))
    if ((waited >= limit)); then
      log "still running after ${timeout_s:-30}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
      break
    fi
  done
  rm -f "$pid_file"
  log "stopped in $(elapsed "$t0")"
}

cmd_status() {
  parse_opts "$@"
  local pid p
  p="$(sed -n 's/^PORT=//p' "$state_file" 2>/dev/null || true)"
  if ! pid="$(running_pid)"; then
    if kafka_ping "${p:-$port}"; then
      echo "stopped (data $data_dir), but 127.0.0.1:${p:-$port} answers: another broker"
    else
      echo "stopped (data $data_dir)"
    fi
    return 3
  fi
  if kafka_ping "${p:-$port}"; then
    echo "running: pid $pid, 127.0.0.1:${p:-$port}, Kafka $version, RSS $(rss_of "$pid"), data $data_dir"
    return 0
  fi
  echo "running but not answering: pid $pid, 127.0.0.1:${p:-$port}, data $data_dir"
  return 1
}

cmd_tool() {
  (($#)) || die "usage: $0 tool <main-class|alias> [args...]"
  local main="$1"
  shift
  case "$main" in
    topics) main=org.apache.kafka.tools.TopicCommand ;;
    console-producer) main=org.apache.kafka.tools.ConsoleProducer ;;
    console-consumer) main=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    consumer-groups) main=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    metadata-quorum) main=org.apache.kafka.tools.MetadataQuorumCommand ;;
    storage) main=kafka.tools.StorageTool ;;
  esac
  ensure_installed
  local -a cdsf
  mapfile -t cdsf < <(cds_use_flags)
  exec "$(java_bin)" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "${cdsf[@]}" \
    -Dlog4j2.configurationFile="$(tools_log4j)" -cp "$libs/*" "$main" "$@"
}

case "${1:-}" in
  install) shift; cmd_install "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  restart) shift; cmd_stop "$@"; cmd_start "$@" ;;
  tool) shift; cmd_tool "$@" ;;
  libs) ensure_installed; printf '%s\n' "$libs" ;;
  version) printf '%s\n' "$version" ;;
  -h | --help | help | "") sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
  *) die "unknown command '$1' (install|start|stop|status|restart|tool|libs|version)" ;;
esac
