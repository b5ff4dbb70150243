#!/usr/bin/env bash
# scripts/kafka.sh up|down|status|logs — a single-node Apache Kafka broker (KRaft, no ZooKeeper) on loopback,
# for RecSpine's integration tests, benchmarks and demo. Users and CI run the same script.
#
#   up      fetch the broker jars from Maven Central with Maven (cached), format KRaft storage,
#           start the broker in the background, wait until it accepts requests
#   down    stop the broker by its pid (SIGTERM, then SIGKILL after a grace period)
#   status  print whether it is running (exit 0) or not (exit 1)
#   logs    print the broker log
#
# Environment (all optional):
#   KAFKA_VERSION        broker version (default below)
#   KAFKA_PORT           client port on 127.0.0.1 (default 9092)
#   KAFKA_CONTROLLER_PORT KRaft controller port (default 9093)
#   KAFKA_HOME_DIR       cache/state dir (default <repo>/.cache/kafka, git-ignored)
#   KAFKA_HEAP           JVM heap (default 512m)
#   KAFKA_KEEP_DATA=1    `up` restarts a stopped broker on its existing log dir (topics, messages and
#                        committed offsets survive a down/up cycle, as in a real broker restart)
#                        instead of wiping and re-formatting it
#
# Version choice: the newest Kafka on Maven Central, 4.4.0 (checked 2026-11). Kafka 4.0 removed old
# protocol versions (KIP-896), which could have broken kafkajs 2.2.4 (unmaintained since 2023).
# It does not: kafkajs negotiates through ApiVersions and picks the highest version both sides
# speak, and every API it uses (Produce v3+, Fetch v4+, Metadata v4+, group/offset APIs) still has
# an overlap. Verified against 4.4.0 by packages/features' Kafka integration tests (topic
# creation, produce, consumer groups, manual commits, dead-letter topic) and the freshness bench.
# If a future broker drops those versions, pin KAFKA_VERSION=3.9.2 (the last 3.x line).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
SCALA_VERSION="2.13"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
BASE="${KAFKA_HOME_DIR:-$ROOT/.cache/kafka}"
LIB="$BASE/lib-$KAFKA_VERSION"
RUN="$BASE/run-$KAFKA_PORT"
PIDFILE="$RUN/kafka.pid"
LOGFILE="$RUN/kafka.log"
HEAP="${KAFKA_HEAP:-512m}"

log() { printf '[kafka.sh] %s\n' "$*" >&2; }

is_running() {
  [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Maven resolves the broker and its runtime dependencies (kafka-server, kafka-metadata, kafka-raft,
# kafka-storage, group/transaction coordinators, scala-library, jackson, ...) from Maven Central
# and copies the jars into $LIB. The pom is generated; nothing is installed system-wide except
# Maven's own ~/.m2 cache.
fetch_jars() {
  if [[ -f "$LIB/.complete" ]]; then return 0; fi
  command -v mvn >/dev/null || { log "mvn not found: install Maven (and Java 17+)"; exit 1; }
  mkdir -p "$LIB" "$BASE/pom-$KAFKA_VERSION"
  local major="${KAFKA_VERSION%%.*}" slf4j
  # The broker logs through SLF4J; slf4j-simple is the smallest binding. Kafka 4 uses SLF4J 2, Kafka 3 SLF4J 1.7.
  if [[ "$major" -ge 4 ]]; then slf4j="2.0.17"; else slf4j="1.7.36"; fi
  cat >"$BASE/pom-$KAFKA_VERSION/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.recspine</groupId>
  <artifactId>kafka-broker-fetch</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_${SCALA_VERSION}</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>${slf4j}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>${slf4j}</version></dependency>
  </dependencies>
</project>
EOF
  log "fetching Kafka ${KAFKA_VERSION} jars from Maven Central into $LIB"
  mvn -q -B -f "$BASE/pom-$KAFKA_VERSION/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$LIB" -DincludeScope=runtime -DexcludeGroupIds=log4j,ch.qos.reload4j,org.slf4j.impl \
    -DexcludeArtifactIds=slf4j-reload4j,slf4j-log4j12,log4j-slf4j-impl,log4j-slf4j2-impl >&2
  touch "$LIB/.complete"
}

classpath() {
  local cp="" f
  for f in "$LIB"/*.jar; do cp="$cp:$f"; done
  printf '%s' "${cp#:}"
}

write_config() {
  mkdir -p "$RUN/data"
  cat >"$RUN/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${RUN}/data
num.partitions=1
auto.create.topics.enable=true
# single node: every internal topic has replication factor 1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# tests and benches want consumer groups to form immediately
group.initial.rebalance.delay.ms=0
group.consumer.min.session.timeout.ms=1000
group.min.session.timeout.ms=1000
log.retention.hours=4
log.segment.bytes=67108864
EOF
}

cmd_up() {
  if is_running; then log "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:${KAFKA_PORT}"; return 0; fi
  if port_open "$KAFKA_PORT"; then log "port ${KAFKA_PORT} is taken by another process; set KAFKA_PORT"; exit 1; fi
  command -v java >/dev/null || { log "java not found: install Java 17+"; exit 1; }
  fetch_jars
  local cp cluster_id
  cp="$(classpath)"
  if [[ "${KAFKA_KEEP_DATA:-0}" == "1" && -f "$RUN/data/meta.properties" ]]; then
    log "keeping the existing log dir $RUN/data (KAFKA_KEEP_DATA=1)"
  else
    rm -rf "$RUN"
    write_config
    # A KRaft cluster id is a base64url-encoded random UUID (22 chars, no padding).
    cluster_id="$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
    log "formatting KRaft storage (cluster id ${cluster_id})"
    java -cp "$cp" kafka.tools.StorageTool format -t "$cluster_id" -c "$RUN/server.properties" >"$RUN/format.log" 2>&1 ||
      { cat "$RUN/format.log" >&2; exit 1; }
  fi
  log "starting Kafka ${KAFKA_VERSION} on 127.0.0.1:${KAFKA_PORT}"
  nohup java -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=info -Dorg.slf4j.simpleLogger.showDateTime=true \
    -Dorg.slf4j.simpleLogger.log.org.apache.kafka=warn -Dorg.slf4j.simpleLogger.log.kafka.server.KafkaRaftServer=info \
    -cp "$cp" kafka.Kafka "$RUN/server.properties" >"$LOGFILE" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-90}))
  while ((SECONDS < deadline)); do
    if ! is_running; then log "broker exited during start-up; log follows"; tail -n 60 "$LOGFILE" >&2; rm -f "$PIDFILE"; exit 1; fi
    # Ready = the client port accepts connections and the server logged its start-up.
    if port_open "$KAFKA_PORT" && grep -q "Kafka Server started" "$LOGFILE"; then
      log "ready: 127.0.0.1:${KAFKA_PORT} (pid $(cat "$PIDFILE"), log $LOGFILE)"
      return 0
    fi
    sleep 0.5
  done
  log "not ready after ${KAFKA_START_TIMEOUT:-90}s; log follows"
  tail -n 60 "$LOGFILE" >&2
  exit 1
}

cmd_down() {
  if ! is_running; then log "not running"; rm -f "$PIDFILE"; return 0; fi
  local pid
  pid="$(cat "$PIDFILE")"
  kill "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; log "stopped (pid $pid)"; return 0; }
    sleep 0.5
  done
  log "pid $pid did not stop in 30s; killing"
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

cmd_status() {
  if is_running && port_open "$KAFKA_PORT"; then
    echo "running: Kafka ${KAFKA_VERSION} pid $(cat "$PIDFILE") on 127.0.0.1:${KAFKA_PORT}"
  else
    echo "not running"
    return 1
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  logs) cat "$LOGFILE" ;;
  *) echo "usage: $0 up|down|status|logs" >&2; exit 2 ;;
esac
