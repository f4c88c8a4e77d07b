#!/usr/bin/env bash
# Host scale: the same host serving 1 tenant and 10,000 tenants (schema-per-tenant, each with its
# own role and all tenant migrations). For each: start-up time of `scryptex serve` (second start,
# data keys already made), host memory when idle, latency and throughput of an authenticated
# tenant route (GET /api/enterprise/auth/me: API key checked in the tenant's own schema under
# its role) with wrk — both hosts running, in alternating rounds, reported as medians and as
# the median of per-round ratios — PostgreSQL catalog size and backend memory. Appends to
# bench/RESULTS.md.
#   TENANTS=10000 bench/scale.sh        (the 10,000-tenant database is kept in bench/out/scale-*)
set -euo pipefail
cd "$(dirname "$0")/.."
TENANTS="${TENANTS:-10000}"
DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-5}"
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
export SCRYPTEX_TENANTS_DIR=/nonexistent

wait_ready() {  # log file, pid
    for _ in $(seq 1 1200); do
        grep -q '"scryptex host ready"' "$1" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { echo "the host exited:"; tail -5 "$1"; exit 1; }
        sleep 0.05
    done
    echo "the host did not become ready"; exit 1
}

# Prepares a database with COUNT tenants and starts a host on it (measuring its second start and
# idle memory), left running on PORT for the latency rounds. Prints nothing; fills variables.
declare -A started_in rss pid key url dir
prepare() {  # tenant count, port
    local count=$1 port=$2
    dir[$count]=bench/out/scale-$count
    export SCRYPTEX_DATA_DIR=${dir[$count]} HTTPS_LISTEN=127.0.0.1:$port HTTP_LISTEN=127.0.0.1:$((port + 1))
    mkdir -p "${dir[$count]}"
    $BIN db start >/dev/null
    url[$count]=$($BIN db url)
    $BIN migrate >/dev/null
    .build/release/scryptex-bench scale-setup --database "${url[$count]}" --tenants "$((count - 1))" >&2
    # First start makes data keys and certificates; the measured start is the second.
    $BIN serve >"${dir[$count]}/first.log" 2>&1 &
    local first=$!
    wait_ready "${dir[$count]}/first.log" $first
    kill -TERM $first; wait $first || true
    local begin ready
    begin=$(date +%s.%N)
    $BIN serve >"${dir[$count]}/host.log" 2>&1 &
    pid[$count]=$!
    wait_ready "${dir[$count]}/host.log" ${pid[$count]}
    ready=$(date +%s.%N)
    started_in[$count]=$(echo "$ready - $begin" | bc)
    sleep 3
    rss[$count]=$(awk '/VmRSS/ { print $2 }' /proc/${pid[$count]}/status)
    key[$count]=$($BIN apikey create --tenant probe --role owner 2>/dev/null | grep '^sxk_')
}

load() {  # tenant count, port, output file, duration
    wrk -t2 -c16 -d"$4" --latency -H "Authorization: Bearer ${key[$1]}" \
        "https://localhost:$2/api/enterprise/auth/me" >"$3"
}

finish() {  # tenant count: catalog, backend memory; stops host and cluster
    local count=$1
    export SCRYPTEX_DATA_DIR=${dir[$count]}
    catalog[$count]=$(psql "${url[$count]}" -Atc "SELECT count(*) || ' relations, ' || pg_size_pretty(pg_database_size(current_database())) FROM pg_class")
    # Backend memory: proportional set size of the cluster's processes (postmaster and children).
    local postmaster
    postmaster=$(head -1 "${dir[$count]}/postgres/postmaster.pid")
    backends[$count]=$(for p in $postmaster $(pgrep -P "$postmaster" || true); do awk '/^Pss:/ { print $2 }' /proc/$p/smaps_rollup 2>/dev/null; done | awk '{ s += $1; n++ } END { printf "%d backends, %.1f MB PSS in all", n, s / 1024 }')
    kill -TERM ${pid[$count]}; wait ${pid[$count]} || true
    $BIN db stop >/dev/null
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
to_ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 } printf "%.3f\n", v }'; }

declare -A catalog backends
SMALL=1
LARGE=$TENANTS
prepare $SMALL $PORT
prepare "$LARGE" $((PORT + 10))
status=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${key[$LARGE]}" "https://localhost:$((PORT + 10))/api/enterprise/auth/me")
# Both hosts run side by side; the load alternates between them in rounds (which goes first
# alternates too), because the machine's speed drifts more between runs than the 5 % asked about.
load $SMALL $PORT /dev/null 3s
load "$LARGE" $((PORT + 10)) /dev/null 3s
for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then order="$SMALL:$PORT $LARGE:$((PORT + 10))"; else order="$LARGE:$((PORT + 10)) $SMALL:$PORT"; fi
    for entry in $order; do load "${entry%%:*}" "${entry##*:}" "bench/out/scale-wrk-${entry%%:*}-$round.txt" "$DURATION"; done
done
finish $SMALL
finish "$LARGE"

column() {  # count, field: rps | p50 | p99, one value per round
    for round in $(seq 1 "$ROUNDS"); do
        case $2 in
        rps) awk '/Requests\/sec/ { print $2 }' "bench/out/scale-wrk-$1-$round.txt" ;;
        p50) awk '$1 == "50%" { print $2 }' "bench/out/scale-wrk-$1-$round.txt" | to_ms ;;
        p99) awk '$1 == "99%" { print $2 }' "bench/out/scale-wrk-$1-$round.txt" | to_ms ;;
        esac
    done
}
ratios() {  # field: large / small per round, then the median
    paste <(column "$LARGE" "$1") <(column $SMALL "$1") | awk '{ printf "%.3f\n", $1 / $2 }'
}

{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%MZ) — the host with 1 and $TENANTS tenants"
    echo
    echo "Command: \`TENANTS=$TENANTS bench/scale.sh\` (DURATION=$DURATION per run, ROUNDS=$ROUNDS). Machine: $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB;" \
        "release build, embedded PostgreSQL (durable), 2 event loops; wrk -t2 -c16 over TLS on" \
        "GET /api/enterprise/auth/me with the probe tenant's owner key (status $status); both hosts running, load alternating between them."
    echo
    echo "| tenants | start-up (second start, to ready) | host RSS idle | throughput, median | p50, median | p99, median | catalog | PostgreSQL processes |"
    echo "|---|---|---|---|---|---|---|---|"
    for count in $SMALL "$LARGE"; do
        printf '| %d | %.2f s | %d KB | %.1f req/s | %.2f ms | %.2f ms | %s | %s |\n' "$count" "${started_in[$count]}" \
            "${rss[$count]}" "$(column "$count" rps | median)" "$(column "$count" p50 | median)" \
            "$(column "$count" p99 | median)" "${catalog[$count]}" "${backends[$count]}"
    done
    echo
    echo "$TENANTS tenants / 1 tenant, median of the rounds' ratios: throughput $(ratios rps | median)" \
        "(rounds: $(ratios rps | paste -sd' ' -)), p50 latency $(ratios p50 | median) (rounds: $(ratios p50 | paste -sd' ' -));" \
        "goal: latency within 5 %."
} | tee -a bench/RESULTS.md
