#!/usr/bin/env bash
# Moving a tenant between PostgreSQL clusters under write load (issue 25). Two embedded clusters
# on this machine (primary: the host's own, with the control plane; b: a second one, reached as
# the host's non-superuser role like any tenant cluster), a tenant of about SIZE_GB of bars, a
# running `scryptex serve` routing it, and WRITERS clients creating accounts through HTTPS while
#   1. `scryptex tenant move bench --to b`               (online: copy while writing, freeze for
#                                                          the last changes)
#   2. `scryptex tenant move bench --to primary --offline` (the reference: the whole copy under
#                                                          the freeze)
# For each: the move's own report (rows, rounds, writes held) and what the clients saw — the
# longest time without an acknowledged write, and the requests refused — then every
# acknowledged account read back through the host (none may be missing).
# Goal: writes held ≤ 1 s for a tenant of 1 GB.
# Appends to bench/RESULTS.md.      bench/tenant-move.sh     (SIZE_GB=1 WRITERS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_GB="${SIZE_GB:-1}"
WRITERS="${WRITERS:-2}"
OUT=bench/out/tenant-move
PORT=9843
. bench/lib.sh
bench_install curl python3 postgresql postgresql-client
rm -rf "$OUT" && mkdir -p "$OUT"
swift build -c release -j 2 --product scryptex
BIN=$PWD/.build/release/scryptex
unset DATABASE_URL
export LOG_LEVEL=warning PLATFORM_DOMAIN=platform.localhost SCRYPTEX_TENANTS_DIR="$PWD/$OUT/no-tenants" \
    RATE_LIMIT_API_KEY=1000000/s:1000000 RATE_LIMIT_TENANT=1000000/s:1000000
PRIMARY="$PWD/$OUT/primary"
SECOND="$PWD/$OUT/second"
SCRYPTEX_DATA_DIR="$SECOND" $BIN db start >/dev/null
URL_B=$(SCRYPTEX_DATA_DIR="$SECOND" $BIN db url)
export SCRYPTEX_DATA_DIR="$PRIMARY" TENANT_CLUSTERS="b=$URL_B" HTTPS_LISTEN=127.0.0.1:$PORT HTTP_LISTEN=127.0.0.1:9880
$BIN db start >/dev/null
$BIN migrate >/dev/null
$BIN tenant create bench --name "Bench Capital" --domain localhost >/dev/null
URL_A=$($BIN db url)
HOST_PID=""
cleanup() {
    touch "$OUT/stop"
    [ -n "$HOST_PID" ] && { kill "$HOST_PID" 2>/dev/null || true; wait "$HOST_PID" 2>/dev/null || true; }
    $BIN db stop >/dev/null 2>&1 || true
    SCRYPTEX_DATA_DIR="$SECOND" $BIN db stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

# About SIZE_GB of one-minute bars in the tenant's own dataset (a bar and its key take ~135 bytes).
ROWS=$(python3 -c "print(int($SIZE_GB * 1024**3 / 135))")
echo "filling the tenant with $ROWS bars"
psql -q "$URL_A" -v ON_ERROR_STOP=1 <<SQL
INSERT INTO t_bench.market_datasets (name, symbol, timeframe, source) VALUES ('bench', 'ETH-USD', '1m', 'bench');
INSERT INTO t_bench.market_dataset_bars (dataset_id, time, open, high, low, close, volume)
SELECT (SELECT id FROM t_bench.market_datasets WHERE name = 'bench'), 1500000000 + n * 60,
       100 + (n % 97), 101 + (n % 97) + 0.5, 99 + (n % 97) - 0.5, 100 + (n % 89) * 0.01 + (n % 97), n % 1000
FROM generate_series(1, $ROWS) AS n;
ANALYZE t_bench.market_dataset_bars;
SQL
SIZE=$(psql -At "$URL_A" -c "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 't_bench' AND c.relkind = 'r'")
echo "tenant size: $SIZE"

$BIN serve 2>"$OUT/host.log" &
HOST_PID=$!
bench_wait_ready "https://127.0.0.1:$PORT" "$HOST_PID" "$OUT/host.log"
KEY=$($BIN apikey create --tenant bench --role owner 2>/dev/null | grep '^sxk_')

# move LABEL ARGUMENTS...: the move under load; its report and what the writers saw.
move() {
    local label=$1
    shift
    rm -f "$OUT/stop"
    local pids=()
    for w in $(seq 1 "$WRITERS"); do
        bench_account_writer "$label-$w" "$PORT" "$KEY" "$OUT/stop" >"$OUT/$label-writer-$w.log" &
        pids+=($!)
    done
    sleep 3
    local started ended
    started=$(date +%s.%N)
    $BIN tenant move bench "$@" --json >"$OUT/$label-report.json" 2>"$OUT/$label-move.log"
    ended=$(date +%s.%N)
    sleep 3
    touch "$OUT/stop"
    wait "${pids[@]}" 2>/dev/null || true
    local clients
    clients=$(python3 bench/write_load.py window "$OUT/$label-writer-*.log" "$started" "$ended")
    python3 - "$OUT/$label-report.json" "$label" "$clients" <<'PY' >>"$OUT/summary.txt"
import json, sys
report, label, clients = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
print(f"{label}: {'online' if report['online'] else 'offline'} move of {sum(t['rows'] for t in report['tables'])} rows "
      f"in {report['totalMilliseconds'] / 1000:.1f} s; rounds before the freeze {report['roundsBeforeFreeze']}, "
      f"{report['changesUnderFreeze']} changed rows under it; writes held {report['writeFreezeMilliseconds']} ms "
      f"(+{report['lockWaitMilliseconds']} ms waiting for writes in flight); clients: {clients}")
PY
    tail -1 "$OUT/summary.txt"
}

move online --to b
move offline --to primary --offline --lock-timeout 60

# Every acknowledged account, read back through the host.
python3 bench/write_load.py readback "$OUT/*-writer-*.log" "$PORT" "$KEY" | tee -a "$OUT/summary.txt"

{
    echo
    echo "## Tenant move between clusters under write load — $(date -u +%Y-%m-%d)"
    echo
    echo "\`bench/tenant-move.sh\` (SIZE_GB=$SIZE_GB WRITERS=$WRITERS) on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB,"
    echo "PostgreSQL $(psql -At "$URL_A" -c 'SHOW server_version' | cut -d' ' -f1) (two embedded clusters on the same machine); tenant size $SIZE."
    echo "Goal: writes held ≤ 1 s for a 1 GB tenant. Reference: the same move with the whole copy under the freeze (\`--offline\`)."
    echo
    sed 's/^/- /' "$OUT/summary.txt"
} >>bench/RESULTS.md
echo "appended to bench/RESULTS.md"
