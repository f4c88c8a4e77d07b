#!/usr/bin/env bash
# The database path of a tenant route against its references, side by side in one run (issue 15):
#   1. GET /api/enterprise/accounts/:id with an owner API key (wrk -t2 -c64, HTTPS keep-alive)
#      against pgbench -M prepared -c16 -j2 running the same single-row SELECT on the same cluster
#   2. POST /api/enterprise/accounts (wrk -t2 -c64) against pgbench running the same INSERT
#   3. GET /healthz with the default LOG_LEVEL=info (a JSON access-log line per request) against
#      nginx writing an equivalent JSON line with access_log … buffer=64k flush=1s
# in ROUNDS alternating rounds (default 3) of DURATION each (default 10s), reported as medians,
# with the host's CPU use and threads during the read load. Appends to bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-3}"
OUT=bench/out/db-route
PORT=9543
NGINX_PORT=9544

if [ "$(id -u)" -eq 0 ]; then
    missing=()
    for package in nginx-light wrk python3 curl postgresql; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        service nginx stop >/dev/null 2>&1 || true
    fi
fi
PGBENCH=$(ls /usr/lib/postgresql/*/bin/pgbench | sort -V | tail -1)

rm -rf "$OUT" && mkdir -p "$OUT/nginx"
swift build -c release -j 2 --product scryptex
BIN=.build/release/scryptex
# The bench tenant answers on "localhost" (which resolves here, for wrk); the platform moves aside.
export SCRYPTEX_DATA_DIR="$PWD/$OUT/data" PLATFORM_DOMAIN=platform.localhost \
    HTTPS_LISTEN=127.0.0.1:$PORT HTTP_LISTEN=127.0.0.1:9580 \
    RATE_LIMIT_API_KEY=1000000/s:1000000 RATE_LIMIT_TENANT=1000000/s:1000000 RATE_LIMIT_USER=1000000/s:1000000
unset LOG_LEVEL DATABASE_URL
$BIN db start >/dev/null
URL=$($BIN db url)
$BIN migrate >/dev/null
$BIN tenant create bench --name "Bench Capital" --domain localhost >/dev/null
KEY=$($BIN apikey create --tenant bench --role owner 2>/dev/null | grep '^sxk_')
$BIN cert dev >/dev/null
CERT="$SCRYPTEX_DATA_DIR/tls/certificates/platform.localhost.pem"
CERT_KEY="$SCRYPTEX_DATA_DIR/tls/certificates/platform.localhost.key"

$BIN serve 2>"$OUT/host.log" &
HOST_PID=$!

cat >"$OUT/nginx/nginx.conf" <<NGINX
worker_processes 2;
pid $PWD/$OUT/nginx/nginx.pid;
error_log $PWD/$OUT/nginx/error.log warn;
events { worker_connections 4096; }
http {
    log_format scryptex escape=json '{"time":"\$time_iso8601","level":"info","message":"request","label":"nginx",'
        '"method":"\$request_method","path":"\$uri","status":"\$status","duration_ms":"\$request_time",'
        '"remote":"\$remote_addr","request_id":"\$request_id","bytes":"\$body_bytes_sent"}';
    access_log $PWD/$OUT/nginx/access.log scryptex buffer=64k flush=1s;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
        ssl_certificate $CERT;
        ssl_certificate_key $CERT_KEY;
        ssl_protocols TLSv1.2 TLSv1.3;
        location = /healthz {
            default_type application/json;
            return 200 '{"status":"ok"}';
        }
    }
}
NGINX
nginx -c "$PWD/$OUT/nginx/nginx.conf" -p "$PWD/$OUT/nginx" -g 'daemon off;' &
NGINX_PID=$!
cleanup() {
    kill "$HOST_PID" "$NGINX_PID" 2>/dev/null || true
    wait "$HOST_PID" "$NGINX_PID" 2>/dev/null || true
    $BIN db stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

for _ in $(seq 1 240); do
    grep -q '"scryptex host ready"' "$OUT/host.log" 2>/dev/null && break
    kill -0 $HOST_PID 2>/dev/null || { cat "$OUT/host.log" >&2; exit 1; }
    sleep 0.5
done
for _ in $(seq 1 60); do curl -sk "https://localhost:$NGINX_PORT/healthz" >/dev/null && break; sleep 0.5; done

AUTH="Authorization: Bearer $KEY"
ACCOUNT='{"accountName":"Bench Fund","accountType":"hedge_fund","legalName":"Bench Fund LLC","jurisdiction":"US","totalAUM":1000000}'
ID=$(curl -sk -X POST -H "$AUTH" -H 'Content-Type: application/json' -d "$ACCOUNT" \
    "https://localhost:$PORT/api/enterprise/accounts" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
ROUTE="https://localhost:$PORT/api/enterprise/accounts/$ID"
[ "$(curl -sk -o /dev/null -w '%{http_code}' -H "$AUTH" "$ROUTE")" = 200 ] || { echo "the route does not answer 200" >&2; exit 1; }

# The statements the routes run, for pgbench (the route's SELECT; the account INSERT).
COLUMNS="id, parent_id, account_name, account_type, legal_name, jurisdiction, total_aum, regulatory_identifiers,
    kyc_status, kyc_review_due::text AS kyc_review_due, kill_switch_engaged, limits, created_at, updated_at"
echo "SELECT $COLUMNS FROM t_bench.institutional_accounts WHERE id = '$ID';" >"$OUT/select.sql"
cat >"$OUT/insert.sql" <<SQL
INSERT INTO t_bench.institutional_accounts (account_name, account_type, legal_name, jurisdiction, total_aum)
VALUES ('Bench Fund', 'hedge_fund', 'Bench Fund LLC', 'US', 1000000) RETURNING $COLUMNS;
SQL
cat >"$OUT/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$ACCOUNT'
wrk.headers["Content-Type"] = "application/json"
LUA

seconds=${DURATION%s}
run_pgbench() { "$PGBENCH" -n -M prepared -c16 -j2 -T"$seconds" -f "$OUT/$1.sql" "$URL" >"$OUT/$2.txt" 2>&1; }
run_wrk() { # name url extra-args...
    local name=$1 url=$2
    shift 2
    wrk -t2 -c64 -d"$DURATION" --latency "$@" "$url" >"$OUT/$name.txt" 2>&1
}
# Host CPU (cores used) and threads while a load runs: sampled in the middle of the run.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$HOST_PID/stat"; }
# Every PostgreSQL process's CPU ticks, and the machine's busy ticks (all CPUs, not idle or iowait).
postgres_ticks() { for pid in $(pgrep -u "$(stat -c %U "$SCRYPTEX_DATA_DIR/postgres/PG_VERSION")" postgres); do
    awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null; done | awk '{ sum += $1 } END { print sum + 0 }'; }
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
sample_threads() {
    sleep $((seconds / 2))
    ls "/proc/$HOST_PID/task" | wc -l >"$OUT/threads-$1.txt"
    cat /proc/$HOST_PID/task/*/comm | sed -E 's/-?[0-9]+$//' | sort | uniq -c | sort -rn |
        awk '{ printf "%s%s×%s", (NR > 1 ? ", " : ""), $1, $2 }' >"$OUT/thread-names-$1.txt"
}

wrk -t2 -c16 -d2s -H "$AUTH" "$ROUTE" >/dev/null
wrk -t2 -c16 -d2s "https://localhost:$NGINX_PORT/healthz" >/dev/null
"$PGBENCH" -n -M prepared -c4 -j2 -T2 -f "$OUT/select.sql" "$URL" >/dev/null 2>&1
for round in $(seq 1 "$ROUNDS"); do
    before=$(cpu_ticks) postgres_before=$(postgres_ticks) machine_before=$(machine_ticks)
    sample_threads "$round" &
    sampler=$!
    run_wrk "host-read-$round" "$ROUTE" -H "$AUTH"
    wait $sampler
    after=$(cpu_ticks) postgres_after=$(postgres_ticks) machine_after=$(machine_ticks)
    echo "$before $after $seconds $(getconf CLK_TCK)" | awk '{ printf "%.2f\n", ($2 - $1) / $4 / $3 }' >"$OUT/cpu-$round.txt"
    echo "$postgres_before $postgres_after $seconds $(getconf CLK_TCK)" |
        awk '{ printf "%.2f\n", ($2 - $1) / $4 / $3 }' >"$OUT/postgres-cpu-$round.txt"
    echo "$machine_before $machine_after $seconds $(getconf CLK_TCK)" |
        awk '{ printf "%.2f\n", ($2 - $1) / $4 / $3 }' >"$OUT/machine-cpu-$round.txt"
    run_pgbench select "pgbench-read-$round"
    run_pgbench insert "pgbench-write-$round"
    run_wrk "host-write-$round" "https://localhost:$PORT/api/enterprise/accounts" -H "$AUTH" -s "$OUT/post.lua"
    if [ $((round % 2)) -eq 1 ]; then order="host nginx"; else order="nginx host"; fi
    for name in $order; do
        if [ "$name" = host ]; then port=$PORT; else port=$NGINX_PORT; fi
        run_wrk "$name-healthz-$round" "https://localhost:$port/healthz"
    done
done

requests_per_second() { awk '/^Requests\/sec:/ { print $2 }'; }
tps() { awk '/^tps = / { print $3 }'; }
p99_ms() { awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 } printf "%.2f\n", v }'; }
non_2xx() { awk '/Non-2xx/ { print $NF; found = 1 } END { if (!found) print 0 }'; }
median_of() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
column() { # file-prefix extractor: the per-round values, one per line
    for round in $(seq 1 "$ROUNDS"); do $2 <"$OUT/$1-$round.txt"; done
}
ratios() { # a-prefix a-extractor b-prefix b-extractor: "median (rounds: …)"
    local values
    values=$(for round in $(seq 1 "$ROUNDS"); do
        echo "$($2 <"$OUT/$1-$round.txt") $($4 <"$OUT/$3-$round.txt")" | awk '{ printf "%.2f\n", $1 / $2 }'
    done)
    echo "$(echo "$values" | median_of) (rounds: $(echo "$values" | paste -sd' ' | sed 's/ /, /g'))"
}
read_host=$(column host-read requests_per_second | median_of)
read_pg=$(column pgbench-read tps | median_of)
read_p99=$(column host-read p99_ms | median_of)
read_p50=$(for round in $(seq 1 "$ROUNDS"); do awk '$1 == "50%" { print $2 }' "$OUT/host-read-$round.txt"; done | paste -sd' ')
write_host=$(column host-write requests_per_second | median_of)
write_pg=$(column pgbench-write tps | median_of)
write_p99=$(column host-write p99_ms | median_of)
health_host=$(column host-healthz requests_per_second | median_of)
health_nginx=$(column nginx-healthz requests_per_second | median_of)
errors=$(for round in $(seq 1 "$ROUNDS"); do for name in host-read host-write host-healthz; do non_2xx <"$OUT/$name-$round.txt"; done; done | paste -sd+ | bc)
cpu=$(cat "$OUT"/cpu-*.txt | median_of)
postgres_cpu=$(cat "$OUT"/postgres-cpu-*.txt | median_of)
machine_cpu=$(cat "$OUT"/machine-cpu-*.txt | median_of)
threads=$(cat "$OUT"/threads-*.txt | median_of)
thread_names=$(cat "$OUT/thread-names-1.txt")
host_lines=$(grep -c '"message":"request"' "$OUT/host.log" || true)
autogroup=$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo "n/a")

{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%MZ) — database route vs pgbench, /healthz with its access log vs nginx ($(git rev-parse --short HEAD))"
    echo
    echo "Command: \`bench/db-route.sh\` (DURATION=$DURATION per run, ROUNDS=$ROUNDS, alternating). Machine: $(nproc) cores," \
        "$(awk -F: '/model name/ { gsub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo), $(free -g | awk '/Mem:/ { print $2 }') GiB," \
        "Linux $(uname -r), kernel.sched_autogroup_enabled=$autogroup (left as the machine has it), embedded PostgreSQL" \
        "$("$PGBENCH" --version | awk '{ print $3 }'), nginx $(nginx -v 2>&1 | cut -d/ -f2). Host, PostgreSQL, wrk and pgbench share the machine;" \
        "the host at its defaults (LOG_LEVEL=info, a pool of 20), rate limits raised."
    echo
    echo "| measure | host | reference | ratio | goal |"
    echo "|---|---|---|---|---|"
    echo "| GET /api/enterprise/accounts/:id (API key, HTTPS keep-alive, wrk -t2 -c64) vs pgbench -M prepared -c16 -j2 of its SELECT, req/s vs tps | $read_host | $read_pg | $(ratios host-read requests_per_second pgbench-read tps) | ≥ 0.30 |"
    echo "| the route's p99 latency (ms), median; p50 per round: $read_p50 | $read_p99 | | | ≤ 10 |"
    echo "| POST /api/enterprise/accounts (insert + audit record) vs pgbench of the INSERT, req/s vs tps | $write_host | $write_pg | $(ratios host-write requests_per_second pgbench-write tps) | report |"
    echo "| the write route's p99 latency (ms), median | $write_p99 | | | |"
    echo "| GET /healthz, access log on (LOG_LEVEL=info; nginx buffer=64k flush=1s), req/s | $health_host | $health_nginx | $(ratios host-healthz requests_per_second nginx-healthz requests_per_second) | ≥ 1.0 |"
    echo
    echo "During the read load the host used $cpu cores, PostgreSQL $postgres_cpu, the whole machine $machine_cpu of $(nproc)" \
        "(the rest: wrk and the kernel's loopback work); the host ran $threads threads ($thread_names)." \
        "Non-2xx answers over all host runs: $errors. Access-log lines the host wrote: $host_lines."
} | tee -a bench/RESULTS.md
