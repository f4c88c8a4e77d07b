#!/usr/bin/env bash
# Benchmarks the TLS front against nginx, side by side in one run, on this machine:
#   1. keep-alive requests/s and p99 latency   (wrk -t2 -c64, DURATION per run)
#   2. new TLS connections/s                    (wrk -t2 -c32 with Connection: close)
#   both in ROUNDS alternating rounds (default 5), reported as medians
#   3. memory per idle keep-alive TLS connection at 10,000 connections
# Both servers answer GET /healthz with the same 15 JSON bytes, over TLS with the same ECDSA
# P-256 certificate. Results are appended to bench/RESULTS.md with the command and machine.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-5}"
IDLE_CONNECTIONS="${IDLE_CONNECTIONS:-10000}"
OUT=bench/out/front  # its own folder: bench/out also keeps the scale benchmark's databases
SCRYPTEX_PORT=9443
NGINX_PORT=9444

if [ "$(id -u)" -eq 0 ]; then
    missing=()
    for package in nginx-light wrk python3 curl; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        # Debian starts the packaged nginx on port 80; this benchmark runs its own.
        service nginx stop >/dev/null 2>&1 || true
    fi
fi
ulimit -n "$(ulimit -Hn)"  # 10,000 idle connections need more than the usual 1,024

rm -rf "$OUT" && mkdir -p "$OUT/nginx"
swift build -c release -j 2 --product scryptex
export SCRYPTEX_DATA_DIR="$PWD/$OUT/data" PLATFORM_DOMAIN=localhost LOG_LEVEL=warning
.build/release/scryptex cert dev >/dev/null
CERT="$SCRYPTEX_DATA_DIR/tls/certificates/localhost.pem"
KEY="$SCRYPTEX_DATA_DIR/tls/certificates/localhost.key"

HTTPS_LISTEN=127.0.0.1:$SCRYPTEX_PORT HTTP_LISTEN=127.0.0.1:9080 .build/release/scryptex serve 2>"$OUT/scryptex.log" &
SCRYPTEX_PID=$!

cat > "$OUT/nginx/nginx.conf" <<NGINX
worker_processes 2;
pid $PWD/$OUT/nginx/nginx.pid;
error_log $PWD/$OUT/nginx/error.log warn;
events { worker_connections 15000; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
        ssl_certificate $CERT;
        ssl_certificate_key $KEY;
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
    kill "$SCRYPTEX_PID" "$NGINX_PID" 2>/dev/null || true
    wait "$SCRYPTEX_PID" "$NGINX_PID" 2>/dev/null || true
}
trap cleanup EXIT

for port in $SCRYPTEX_PORT $NGINX_PORT; do
    for _ in $(seq 1 120); do
        curl -sk "https://localhost:$port/healthz" >/dev/null && break
        sleep 0.5
    done
done
[ "$(curl -sk https://localhost:$SCRYPTEX_PORT/healthz)" = "$(curl -sk https://localhost:$NGINX_PORT/healthz)" ] || {
    echo "the two servers do not answer the same bytes" >&2
    exit 1
}

requests_per_second() { awk '/^Requests\/sec:/ { print $2 }'; }
p99() { awk '$1 == "99%" { print $2 }'; }
to_ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 } printf "%.3f", v }'; }

run_wrk() { # name port extra-args...
    local name=$1 port=$2
    shift 2
    wrk -t2 "$@" -d"$DURATION" --latency "https://localhost:$port/healthz" >"$OUT/$name.txt" 2>&1
}

# Warm up both, then measure in alternating rounds: the machine is shared and its speed drifts
# over seconds, so one 10-second run of each gives ratios anywhere from 0.7 to 0.9 for the same
# build. Each round runs both servers back to back (which goes first alternates) and yields one
# ratio; the table reports the median of the rounds.
wrk -t2 -c16 -d2s "https://localhost:$SCRYPTEX_PORT/healthz" >/dev/null
wrk -t2 -c16 -d2s "https://localhost:$NGINX_PORT/healthz" >/dev/null
for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then order="scryptex:$SCRYPTEX_PORT nginx:$NGINX_PORT"; else order="nginx:$NGINX_PORT scryptex:$SCRYPTEX_PORT"; fi
    for entry in $order; do run_wrk "${entry%%:*}-keepalive-$round" "${entry##*:}" -c64; done
    for entry in $order; do run_wrk "${entry%%:*}-close-$round" "${entry##*:}" -c32 -H "Connection: close"; done
done

NGINX_WORKERS=$(pgrep -P "$NGINX_PID" | paste -sd, -)
python3 bench/idle_connections.py --port $SCRYPTEX_PORT --count "$IDLE_CONNECTIONS" --pids "$SCRYPTEX_PID" >"$OUT/scryptex-idle.txt"
python3 bench/idle_connections.py --port $NGINX_PORT --count "$IDLE_CONNECTIONS" --pids "$NGINX_PID,$NGINX_WORKERS" >"$OUT/nginx-idle.txt"

# Per round: "scryptex nginx" values; then the medians and the median of the per-round ratios.
per_round() { # measure-name extractor
    for round in $(seq 1 "$ROUNDS"); do
        echo "$($2 <"$OUT/scryptex-$1-$round.txt") $($2 <"$OUT/nginx-$1-$round.txt")"
    done
}
p99_ms() { p99 | to_ms; }
median_of() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
summarize() { # rows of "a b": prints "median-a median-b median-ratio (ratios...)"
    local rows; rows=$(cat)
    local a b r list
    a=$(echo "$rows" | awk '{ print $1 }' | median_of)
    b=$(echo "$rows" | awk '{ print $2 }' | median_of)
    r=$(echo "$rows" | awk '{ printf "%.2f\n", $1 / $2 }' | median_of)
    list=$(echo "$rows" | awk '{ printf "%s%.2f", (NR > 1 ? ", " : ""), $1 / $2 }')
    echo "$a|$b|$(printf '%.2f' "$r") (rounds: $list)"
}
keepalive=$(per_round keepalive requests_per_second | summarize)
latency=$(per_round keepalive p99_ms | summarize)
connections=$(per_round close requests_per_second | summarize)
sk_idle=$(grep -o 'bytes_per_connection=[0-9]*' "$OUT/scryptex-idle.txt" | cut -d= -f2)
ng_idle=$(grep -o 'bytes_per_connection=[0-9]*' "$OUT/nginx-idle.txt" | cut -d= -f2)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%MZ) — TLS front vs nginx $(nginx -v 2>&1 | cut -d/ -f2)"
    echo
    echo "Command: \`bench/run.sh\` (DURATION=$DURATION per run, ROUNDS=$ROUNDS, IDLE_CONNECTIONS=$IDLE_CONNECTIONS). Machine: $(nproc) cores," \
        "$(awk -F: '/model name/ { gsub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo), $(free -g | awk '/Mem:/ { print $2 }') GiB," \
        "Linux $(uname -r), $(openssl version | cut -d' ' -f1-2). wrk and both servers share the machine; ECDSA P-256 certificate; both servers with 2 workers/event loops."
    echo
    echo "| measure | Scryptex | nginx | ratio (Scryptex / nginx) | goal |"
    echo "|---|---|---|---|---|"
    echo "| keep-alive requests/s (wrk -t2 -c64), median of $ROUNDS rounds | ${keepalive//|/ | } | ≥ 0.8 |"
    echo "| keep-alive p99 latency (ms), median | ${latency//|/ | } | ≤ 2.0 |"
    echo "| new TLS connections/s (Connection: close, -c32), median | ${connections//|/ | } | ≥ 0.9 |"
    echo "| memory per idle keep-alive TLS connection at $IDLE_CONNECTIONS (bytes of RSS) | $sk_idle | $ng_idle | $(ratio "$sk_idle" "$ng_idle") | bounded |"
} | tee -a bench/RESULTS.md
