#!/usr/bin/env bash
# The partner portal's dashboard page over HTTPS against a running host (issue 23): a signed-in
# owner's session cookie, the firm's dashboard rendered as the portal's HTML page from the
# dashboard cache, beside the same dashboard as the API's JSON (the reference: same guard, same
# cache, no page), under wrk with 1, 4 and 16 keep-alive connections for DURATION each (p50/p99
# as wrk measures them, TLS included; wrk shares the 2 cores with the host). Also each portal
# page's size (goal: none above 100 KB before images).
# Goal: dashboard page from cache p99 ≤ 5 ms.
# Appends to bench/RESULTS.md.      bench/portal.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10s}"
ACCOUNTS="${ACCOUNTS:-50}"
OUT=bench/out/portal
PORT=9743
. bench/lib.sh
bench_install wrk python3 curl postgresql
# As in bench/bi.sh: with wrk and the host on both cores, Linux's autogroup scheduling makes
# PostgreSQL (a session of its own) wait to be woken; the figures are taken with it off.
bench_autogroup_off
rm -rf "$OUT" && mkdir -p "$OUT"
swift build -c release -j 2 --product scryptex
BIN=.build/release/scryptex
export SCRYPTEX_DATA_DIR="$PWD/$OUT/data" PLATFORM_DOMAIN=platform.localhost \
    HTTPS_LISTEN=127.0.0.1:$PORT HTTP_LISTEN=127.0.0.1:9780 LOG_LEVEL=warning \
    SCRYPTEX_TENANTS_DIR="$PWD/$OUT/no-tenants" \
    RATE_LIMIT_API_KEY=1000000/s:1000000 RATE_LIMIT_TENANT=1000000/s:1000000 RATE_LIMIT_USER=1000000/s:1000000
unset DATABASE_URL
$BIN db start >/dev/null
$BIN migrate >/dev/null
$BIN tenant create bench --name "Bench Capital" --domain localhost >/dev/null
KEY=$($BIN apikey create --tenant bench --role owner 2>/dev/null | grep '^sxk_')
PASSWORD=$($BIN user create --tenant bench --email owner@bench.example --role owner 2>/dev/null | head -1)
$BIN serve 2>"$OUT/host.log" &
HOST_PID=$!
cleanup() {
    bench_restore_autogroup
    kill "$HOST_PID" 2>/dev/null || true
    wait "$HOST_PID" 2>/dev/null || true
    $BIN db stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
bench_wait_ready "https://localhost:$PORT" "$HOST_PID" "$OUT/host.log"
SITE="https://localhost:$PORT"
AUTH="Authorization: Bearer $KEY"
for n in $(seq 1 "$ACCOUNTS"); do
    curl -sk -o /dev/null -X POST -H "$AUTH" -H 'Content-Type: application/json' \
        -d "{\"accountName\":\"Fund $n\",\"accountType\":\"hedge_fund\",\"legalName\":\"Fund $n LLC\",\"jurisdiction\":\"US\",\"totalAUM\":$((n * 1000000))}" \
        "$SITE/api/enterprise/accounts"
done
# Signs in as a person would: the form, its cookie and token, then the session cookie.
JAR="$OUT/jar"
TOKEN=$(curl -sk -c "$JAR" "$SITE/portal/sign-in" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
curl -sk -o /dev/null -b "$JAR" -c "$JAR" --data-urlencode "csrf=$TOKEN" --data-urlencode "email=owner@bench.example" \
    --data-urlencode "password=$PASSWORD" "$SITE/portal/sign-in"
SESSION=$(awk '$6 == "__Host-scryptex_session" { print $7 }' "$JAR")
[ -n "$SESSION" ] || { echo "bench/portal.sh: signing in failed" >&2; exit 1; }
COOKIE="Cookie: __Host-scryptex_session=$SESSION"
PAGE_BYTES=$(curl -sk -H "$COOKIE" "$SITE/portal" | tee "$OUT/dashboard.html" | wc -c)
grep -q "Assets under management" "$OUT/dashboard.html" || { echo "bench/portal.sh: no dashboard on the page" >&2; exit 1; }
JSON_BYTES=$(curl -sk -H "$COOKIE" "$SITE/api/enterprise/dashboard" | wc -c)
SIZES=()
for page in /portal /portal/accounts /portal/checks /portal/alerts /portal/team /portal/api-keys /portal/audit /portal/security /portal/sign-in /portal/theme.css; do
    SIZES+=("$page $(curl -sk -H "$COOKIE" "$SITE$page" | wc -c)")
done
ROWS=()
for connections in 1 4 16; do
    for target in portal api; do
        url="$SITE/portal"
        [ "$target" = api ] && url="$SITE/api/enterprise/dashboard"
        wrk -t"$((connections < 2 ? 1 : 2))" -c"$connections" -d"$DURATION" --latency -H "$COOKIE" "$url" \
            >"$OUT/wrk-$target-$connections.txt"
        label="dashboard page (HTML, portal)"
        [ "$target" = api ] && label="dashboard (JSON, API) — reference"
        ROWS+=("| $label, $connections connection(s): p50 / p99 | $(awk '/^ +50%/ { print $2 }' "$OUT/wrk-$target-$connections.txt") / $(awk '/^ +99%/ { print $2 }' "$OUT/wrk-$target-$connections.txt") ($(awk '/^Requests\/sec/ { print $2 }' "$OUT/wrk-$target-$connections.txt") requests/s) | p99 ≤ 5 ms |")
    done
done
NON200=$(grep -h "Non-2xx" "$OUT"/wrk-*.txt || true)
{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%MZ) — partner portal: dashboard page from cache"
    echo
    echo "Command: \`bench/portal.sh\` (DURATION=$DURATION, ACCOUNTS=$ACCOUNTS; commit $(git rev-parse --short HEAD));"
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r);"
    echo "release build; wrk $(wrk -v 2>&1 | head -1 | awk '{ print $2 }') on the same cores; autogroup scheduling $AUTOGROUP_USED (was $AUTOGROUP_WAS)."
    echo "A signed-in owner's session cookie for both; the page is the API's cached dashboard rendered into the portal's HTML."
    echo
    echo "| measure | value | goal |"
    echo "|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo "| dashboard page size / the JSON it renders | $PAGE_BYTES B / $JSON_BYTES B | page ≤ 100 KB |"
    echo "| every page's size (bytes) | $(printf '%s; ' "${SIZES[@]}") | each ≤ 100 KB |"
    if [ -n "$NON200" ]; then echo "| wrk non-2xx | $NON200 | none |"; fi
} | tee -a bench/RESULTS.md
