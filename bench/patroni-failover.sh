#!/usr/bin/env bash
# A PostgreSQL failover under write load (issue 25): three PostgreSQL 15 nodes with streaming
# replication managed by Patroni (Debian's), etcd as its DCS, synchronous replication on, HAProxy
# routing to whichever node Patroni's REST API calls the primary, and `scryptex serve` on that
# address with WRITERS clients creating accounts through HTTPS. After WARMUP seconds the primary's
# Patroni and PostgreSQL are killed with SIGKILL (no clean hand-over). Reported: how long writes
# failed and how fast (the host answers 503 at once while there is no primary), when the first
# write was acknowledged again (Patroni's TTL decides most of it), that the host's pools came
# back by themselves, and that every acknowledged write is there afterwards (read back through
# the host, on the new primary).
# All on loopback, as the `postgres` user (PostgreSQL refuses root).
# Appends to bench/RESULTS.md.      bench/patroni-failover.sh     (WRITERS=4 WARMUP=8 AFTER=45)
set -euo pipefail
cd "$(dirname "$0")/.."
WRITERS="${WRITERS:-4}"
WARMUP="${WARMUP:-8}"
AFTER="${AFTER:-45}"
OUT=$PWD/bench/out/patroni
PORT=9943
. bench/lib.sh
bench_install patroni python3-etcd etcd-server haproxy postgresql curl python3
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
rm -rf "$OUT" && mkdir -p "$OUT"
swift build -c release -j 2 --product scryptex
BIN=$PWD/.build/release/scryptex
CLUSTER=$(mktemp -d /tmp/scryptex-patroni-XXXXXX)
chmod 755 "$CLUSTER"
AS_POSTGRES=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$CLUSTER"
    AS_POSTGRES=(runuser -u postgres --)
fi
PIDS=()
HOST_PID=""
cleanup() {
    touch "$OUT/stop"
    [ -n "$HOST_PID" ] && { kill "$HOST_PID" 2>/dev/null || true; wait "$HOST_PID" 2>/dev/null || true; }
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 2
    pkill -9 -f "$CLUSTER" 2>/dev/null || true
    rm -rf "$CLUSTER"
}
trap cleanup EXIT

# etcd, one member, on loopback.
"${AS_POSTGRES[@]}" etcd --name e1 --data-dir "$CLUSTER/etcd" \
    --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
    --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
    --initial-cluster e1=http://127.0.0.1:23800 --enable-v2=true >"$OUT/etcd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do curl -s http://127.0.0.1:23790/health | grep -q true && break; sleep 0.2; done

# Three Patroni nodes: n1 bootstraps, n2 and n3 follow; synchronous replication on.
for n in 1 2 3; do
    cat >"$CLUSTER/n$n.yml" <<YAML
scope: scryptex
name: n$n
restapi:
  listen: 127.0.0.1:810$n
  connect_address: 127.0.0.1:810$n
etcd3:
  hosts: 127.0.0.1:23790
bootstrap:
  dcs:
    ttl: 20
    loop_wait: 2
    retry_timeout: 5
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        wal_log_hints: "on"
  initdb:
    - encoding: UTF8
    - data-checksums
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
postgresql:
  listen: 127.0.0.1:544$n
  connect_address: 127.0.0.1:544$n
  data_dir: $CLUSTER/n$n
  bin_dir: $PG_BIN
  pgpass: $CLUSTER/pgpass-n$n
  authentication:
    superuser:
      username: postgres
      password: patroni-super
    replication:
      username: replicator
      password: patroni-replication
  parameters:
    unix_socket_directories: '$CLUSTER'
YAML
    [ "$(id -u)" -eq 0 ] && chown postgres: "$CLUSTER/n$n.yml"
    "${AS_POSTGRES[@]}" patroni "$CLUSTER/n$n.yml" >"$OUT/patroni-n$n.log" 2>&1 &
    PIDS+=($!)
    [ "$n" -eq 1 ] && for _ in $(seq 1 120); do
        curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8101/primary | grep -q 200 && break
        sleep 0.5
    done
done
# Both replicas streaming, one of them the synchronous standby.
for _ in $(seq 1 240); do
    [ "$(curl -s http://127.0.0.1:8101/cluster | python3 -c 'import json,sys; m=json.load(sys.stdin)["members"]; print(sum(1 for x in m if x.get("state") in ("running","streaming")))')" = 3 ] &&
        curl -s http://127.0.0.1:8101/cluster | grep -q sync_standby && break
    sleep 0.5
done
curl -s http://127.0.0.1:8101/cluster | python3 -c 'import json,sys; [print(m["name"], m["role"], m["state"]) for m in json.load(sys.stdin)["members"]]' | tee "$OUT/members-before.txt"

# HAProxy on 5440: the node whose Patroni answers 200 on /primary.
cat >"$CLUSTER/haproxy.cfg" <<CFG
global
    maxconn 200
defaults
    mode tcp
    timeout connect 2s
    timeout client 30m
    timeout server 30m
listen postgres
    bind 127.0.0.1:5440
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
    server n1 127.0.0.1:5441 maxconn 100 check port 8101
    server n2 127.0.0.1:5442 maxconn 100 check port 8102
    server n3 127.0.0.1:5443 maxconn 100 check port 8103
CFG
haproxy -f "$CLUSTER/haproxy.cfg" -db >"$OUT/haproxy.log" 2>&1 &
PIDS+=($!)
sleep 1
PGPASSWORD=patroni-super psql -q -h 127.0.0.1 -p 5440 -U postgres -d postgres -v ON_ERROR_STOP=1 <<'SQL'
CREATE ROLE scryptex LOGIN CREATEROLE PASSWORD 'scryptex-bench';
CREATE DATABASE scryptex OWNER scryptex;
SQL

export DATABASE_URL="postgres://scryptex:scryptex-bench@127.0.0.1:5440/scryptex" \
    SCRYPTEX_DATA_DIR="$OUT/data" LOG_LEVEL=warning PLATFORM_DOMAIN=platform.localhost \
    SCRYPTEX_TENANTS_DIR="$OUT/no-tenants" HTTPS_LISTEN=127.0.0.1:$PORT HTTP_LISTEN=127.0.0.1:9980 \
    RATE_LIMIT_API_KEY=1000000/s:1000000 RATE_LIMIT_TENANT=1000000/s:1000000 DATABASE_STATEMENT_TIMEOUT=10
$BIN migrate >/dev/null
$BIN tenant create bench --name "Bench Capital" --domain localhost >/dev/null
KEY=$($BIN apikey create --tenant bench --role owner 2>/dev/null | grep '^sxk_')
$BIN serve 2>"$OUT/host.log" &
HOST_PID=$!
bench_wait_ready "https://127.0.0.1:$PORT" "$HOST_PID" "$OUT/host.log"

rm -f "$OUT/stop"
WRITER_PIDS=()
for w in $(seq 1 "$WRITERS"); do
    bench_account_writer "w$w" "$PORT" "$KEY" "$OUT/stop" >"$OUT/writer-$w.log" &
    WRITER_PIDS+=($!)
done
sleep "$WARMUP"
LEADER=$(curl -s http://127.0.0.1:8101/cluster | python3 -c 'import json,sys; print(next(m["name"] for m in json.load(sys.stdin)["members"] if m["role"] == "leader"))')
KILLED_AT=$(date +%s.%N)
# The leader's Patroni and its postmaster, without a word.
pkill -9 -f "patroni $CLUSTER/$LEADER.yml" || true
[ -f "$CLUSTER/$LEADER/postmaster.pid" ] && kill -9 "$(head -1 "$CLUSTER/$LEADER/postmaster.pid")" 2>/dev/null || true
echo "killed $LEADER (Patroni and PostgreSQL) at $(date -u +%T)"
for _ in $(seq 1 120); do
    NEW=$(curl -s http://127.0.0.1:810$(( ${LEADER#n} % 3 + 1 ))/cluster | python3 -c 'import json,sys; print(next((m["name"] for m in json.load(sys.stdin)["members"] if m["role"] == "leader"), ""))' 2>/dev/null || true)
    [ -n "$NEW" ] && [ "$NEW" != "$LEADER" ] && break
    sleep 0.25
done
PROMOTED_AT=$(date +%s.%N)
echo "new primary: $NEW, $(python3 -c "print(f'{$PROMOTED_AT - $KILLED_AT:.1f}')") s after the kill"
sleep "$AFTER"
touch "$OUT/stop"
wait "${WRITER_PIDS[@]}" 2>/dev/null || true
WINDOW=$(python3 bench/write_load.py window "$OUT/writer-*.log" "$KILLED_AT" "$PROMOTED_AT")
echo "$WINDOW"
READBACK=$(python3 bench/write_load.py readback "$OUT/writer-*.log" "$PORT" "$KEY")
echo "$READBACK"
RECONNECTS=$(grep -c '"level":"warning"' "$OUT/host.log" || true)
{
    echo
    echo "## PostgreSQL failover under write load (Patroni) — $(date -u +%Y-%m-%d)"
    echo
    echo "\`bench/patroni-failover.sh\` (WRITERS=$WRITERS) on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB: Patroni $(patroni --version 2>&1 | awk '{print $2}'),"
    echo "etcd $(etcd --version | awk '/etcd Version/ {print $3}'), PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), HAProxy $(haproxy -v | awk 'NR==1 {print $3}'); three nodes on loopback,"
    echo "\`synchronous_mode: true\`, ttl 20 s, loop_wait 2 s; the host's DATABASE_URL is HAProxy's address. The leader ($LEADER) killed with SIGKILL (Patroni and PostgreSQL)."
    echo
    echo "- new primary $NEW elected $(python3 -c "print(f'{$PROMOTED_AT - $KILLED_AT:.1f}')") s after the kill"
    echo "- clients (kill → new primary): $WINDOW"
    echo "- $READBACK"
    echo "- the host was not restarted; its log has $RECONNECTS warnings (connections lost and re-opened by the pools)"
} >>bench/RESULTS.md
[ "${READBACK##*missing: }" = 0 ] || { echo "acknowledged writes are missing" >&2; exit 1; }
echo "appended to bench/RESULTS.md"
