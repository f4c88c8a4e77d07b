#!/usr/bin/env bash
# Audit export under load: a tenant trail of RECORDS records (~110 MB of JSON lines at the
# default), exported once and four times at once over HTTPS with curl, while the tenant keeps
# writing. Reports the host's resident memory (peak while exporting, sampled every 50 ms from
# /proc), each export's time and size, and the latency of audited writes during the exports.
#
#   bench/audit-export.sh                            the current build
#   SCRYPTEX_BIN=/path/to/older/scryptex bench/audit-export.sh   another build, for comparison
#
# Appends to bench/RESULTS.md (LABEL names the row; default: the git commit).
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS="${RECORDS:-250000}"
LABEL="${LABEL:-$(git rev-parse --short HEAD)}"
if [ -z "${SCRYPTEX_BIN:-}" ]; then
    swift build -c release -j 2 --product scryptex >&2
    SCRYPTEX_BIN=.build/release/scryptex
fi
BIN="$(cd "$(dirname "$SCRYPTEX_BIN")" && pwd)/$(basename "$SCRYPTEX_BIN")"
WORK="$(mktemp -d /tmp/scryptex-audit-bench-XXXXXX)"
chmod 755 "$WORK"
PORT=$((20000 + RANDOM % 20000))
export SCRYPTEX_DATA_DIR="$WORK/data" HTTPS_LISTEN="127.0.0.1:$PORT" HTTP_LISTEN="127.0.0.1:$((PORT + 1))"
export LOG_LEVEL=warning RATE_LIMIT_API_KEY=100000/s RATE_LIMIT_TENANT=100000/s AUDIT_SEAL_INTERVAL=86400
HOST_PID=""
cleanup() {
    [ -n "$HOST_PID" ] && kill -TERM "$HOST_PID" 2>/dev/null && wait "$HOST_PID" 2>/dev/null || true
    "$BIN" db stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" serve >"$WORK/host.log" 2>&1 &
HOST_PID=$!
for _ in $(seq 1 600); do
    curl -sk "https://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
KEY=$("$BIN" apikey create --tenant acme --role owner 2>/dev/null)
URL=$("$BIN" db url 2>/dev/null)
CA="$SCRYPTEX_DATA_DIR/tls/ca.pem"
api() { curl -s --cacert "$CA" --resolve "acme.localhost:$PORT:127.0.0.1" -H "Authorization: Bearer $KEY" "$@"; }

# The trail, filled through its own trigger (each record hashed and chained by PostgreSQL).
psql -q "$URL" -c "INSERT INTO t_acme.audit_records (actor, action, object_type, object_id, details, previous_hash, record_hash)
    SELECT 'user:bench', 'bench.filled', 'account', md5(g::text), jsonb_build_object('n', g, 'note', repeat('x', 220)), '', ''
    FROM generate_series(1, $RECORDS) AS g" >/dev/null

rss() { awk '/VmRSS/ { print $2 }' "/proc/$HOST_PID/status"; }
# Samples the host's RSS every 50 ms while the given process runs; prints the peak in kB.
peak_while() {
    local peak=0 value
    while kill -0 "$1" 2>/dev/null; do
        value=$(rss)
        [ "$value" -gt "$peak" ] && peak=$value
        sleep 0.05
    done
    echo "$peak"
}
# Audited writes (a custom role defined = one tenant transaction with an audit record), timed.
writes_during() {
    local index=0 slowest=0 started elapsed
    while kill -0 "$1" 2>/dev/null && [ "$index" -lt 200 ]; do
        started=$(date +%s%N)
        api -o /dev/null -X POST -H "Content-Type: application/json" \
            -d "{\"name\":\"bench_$2_$index\",\"permissions\":[\"accounts.read\"]}" \
            "https://acme.localhost:$PORT/api/enterprise/roles"
        elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
        [ "$elapsed" -gt "$slowest" ] && slowest=$elapsed
        index=$((index + 1))
        sleep 0.02
    done
    echo "$slowest"
}

idle=$(rss)
started=$(date +%s%N)
api -o "$WORK/export-1.jsonl" "https://acme.localhost:$PORT/api/enterprise/audit-trail/export" &
export_pid=$!
writes_during "$export_pid" one >"$WORK/slowest-1" &
writer_pid=$!
peak_one=$(peak_while "$export_pid")
wait "$export_pid"
one_seconds=$(awk -v from="$started" -v to="$(date +%s%N)" 'BEGIN { printf "%.2f", (to - from) / 1e9 }')
wait "$writer_pid"
slowest_one=$(cat "$WORK/slowest-1")
size=$(stat -c %s "$WORK/export-1.jsonl")
lines=$(wc -l <"$WORK/export-1.jsonl")
verify=$("$BIN" audit verify --file "$WORK/export-1.jsonl" 2>&1 | head -1 | cut -c1-80)

started=$(date +%s%N)
pids=()
for index in 1 2 3 4; do
    api -o "$WORK/parallel-$index.jsonl" "https://acme.localhost:$PORT/api/enterprise/audit-trail/export" &
    pids+=($!)
done
writes_during "${pids[0]}" four >"$WORK/slowest-4" &
writer_pid=$!
peak_four=$(peak_while "${pids[0]}")
for pid in "${pids[@]}"; do wait "$pid"; done
four_seconds=$(awk -v from="$started" -v to="$(date +%s%N)" 'BEGIN { printf "%.2f", (to - from) / 1e9 }')
wait "$writer_pid"
slowest_four=$(cat "$WORK/slowest-4")

{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%MZ) — audit export of $RECORDS records ($LABEL)"
    echo
    echo "Command: \`RECORDS=$RECORDS LABEL=$LABEL bench/audit-export.sh\` (binary: $SCRYPTEX_BIN). Machine: $(nproc) cores," \
        "$(free -g | awk '/Mem:/ { print $2 }') GiB, embedded PostgreSQL $(pg_config --version | awk '{ print $2 }'), curl over HTTPS."
    echo
    echo "| measure | result |"
    echo "|---|---|"
    echo "| export size | $((size / 1048576)) MB, $lines lines |"
    echo "| host RSS idle → peak during one export | $((idle / 1024)) MB → $((peak_one / 1024)) MB |"
    echo "| one export, wall time | ${one_seconds} s |"
    echo "| slowest audited write during it | ${slowest_one} ms |"
    echo "| host RSS peak during four exports at once | $((peak_four / 1024)) MB |"
    echo "| four exports at once, wall time | ${four_seconds} s |"
    echo "| slowest audited write during them | ${slowest_four} ms |"
    echo "| \`scryptex audit verify --file\` on the export | ${verify} |"
} | tee -a bench/RESULTS.md
