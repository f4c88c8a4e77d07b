#!/usr/bin/env bash
# Host scale: the same host serving 1 tenant and 10,000 tenants (schema-per-tenant, each with its
# own role and all tenant migrations). For each: start-up time of `scryptex serve` (second start,
# data keys already made), host memory when idle, latency and throughput of an authenticated
# tenant route (GET /api/enterprise/auth/me: API key checked in the tenant's own schema under
# its role) with wrk, PostgreSQL catalog size and backend memory. Appends to bench/RESULTS.md.
#   TENANTS=10000 bench/scale.sh        (the 10,000-tenant database is kept in bench/out/scale-*)
set -euo pipefail
cd "$(dirname "$0")/.."
TENANTS="${TENANTS:-10000}"
DURATION="${DURATION:-15s}"
PORT=9543
if [ "$(id -u)" -eq 0 ] && ! command -v wrk >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
swift build -c release -j 2 --product scryptex
swift build -c release -j 2 --product scryptex-bench
BIN=.build/release/scryptex
mkdir -p bench/out
export PLATFORM_DOMAIN=bench.example LOG_LEVEL=info SCRYPTEX_EVENT_LOOPS=2
export RATE_LIMIT_API_KEY=1000000/s RATE_LIMIT_TENANT=1000000/s RATE_LIMIT_USER=1000000/s
export SCRYPTEX_TENANTS_DIR=/nonexistent HTTPS_LISTEN=127.0.0.1:$PORT HTTP_LISTEN=127.0.0.1:$((PORT + 1))

wait_ready() {  # log file, pid
    for _ in $(seq 1 1200); do
        grep -q '"scryptex host ready"' "$1" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { echo "the host exited:"; tail -5 "$1"; exit 1; }
        sleep 0.05
    done
    echo "the host did not become ready"; exit 1
}

measure() {  # tenant count
    local count=$1 dir=bench/out/scale-$1
    export SCRYPTEX_DATA_DIR=$dir
    mkdir -p "$dir"
    $BIN db start >/dev/null
    local url
    url=$($BIN db url)
    $BIN migrate >/dev/null
    .build/release/scryptex-bench scale-setup --database "$url" --tenants "$((count - 1))" >&2
    # First start makes data keys and certificates; the measured start is the second.
    $BIN serve >"$dir/first.log" 2>&1 &
    local pid=$!
    wait_ready "$dir/first.log" $pid
    kill -TERM $pid; wait $pid || true
    local started ready
    started=$(date +%s.%N)
    $BIN serve >"$dir/host.log" 2>&1 &
    pid=$!
    wait_ready "$dir/host.log" $pid
    ready=$(date +%s.%N)
    sleep 3
    local rss
    rss=$(awk '/VmRSS/ { print $2 }' /proc/$pid/status)
    local key
    key=$($BIN apikey create --tenant probe --role owner 2>/dev/null | grep '^sxk_')
    wrk -t2 -c16 -d"$DURATION" --latency -H "Authorization: Bearer $key" \
        "https://localhost:$PORT/api/enterprise/auth/me" >"$dir/wrk.txt"
    local status
    status=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" "https://localhost:$PORT/api/enterprise/auth/me")
    local catalog backends
    catalog=$(psql "$url" -Atc "SELECT count(*) || ' relations, ' || pg_size_pretty(pg_database_size(current_database())) FROM pg_class")
    # Backend memory: proportional set size of the cluster's processes (postmaster and children).
    local postmaster
    postmaster=$(head -1 "$dir/postgres/postmaster.pid")
    backends=$(for p in $postmaster $(pgrep -P "$postmaster" || true); do awk '/^Pss:/ { print $2 }' /proc/$p/smaps_rollup 2>/dev/null; done | awk '{ s += $1; n++ } END { printf "%d backends, %.1f MB PSS in all", n, s / 1024 }')
    kill -TERM $pid; wait $pid || true
    $BIN db stop >/dev/null
    local requests p50 p99
    requests=$(awk '/Requests\/sec/ { print $2 }' "$dir/wrk.txt")
    p50=$(awk '$1 == "50%" { print $2 }' "$dir/wrk.txt")
    p99=$(awk '$1 == "99%" { print $2 }' "$dir/wrk.txt")
    printf '| %d | %.2f s | %d KB | %s req/s | %s | %s | %s | %s | %s |\n' "$count" \
        "$(echo "$ready - $started" | bc)" "$rss" "$requests" "$p50" "$p99" "$status" "$catalog" "$backends"
}

{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%MZ) — the host with 1 and $TENANTS tenants"
    echo
    echo "Command: \`TENANTS=$TENANTS bench/scale.sh\`. Machine: $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB;" \
        "release build, embedded PostgreSQL (durable), 2 event loops; wrk -t2 -c16 -d$DURATION over TLS on" \
        "GET /api/enterprise/auth/me with the probe tenant's owner key, in the same run for both sizes."
    echo
    echo "| tenants | start-up (second start, to ready) | host RSS idle | throughput | p50 | p99 | status | catalog | PostgreSQL processes |"
    echo "|---|---|---|---|---|---|---|---|---|"
    measure 1
    measure "$TENANTS"
} | tee -a bench/RESULTS.md
