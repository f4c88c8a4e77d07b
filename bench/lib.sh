# Shared by the benchmarks that start a host (source it: `. bench/lib.sh`).

# Installs the Debian packages named that are missing (as root; otherwise they must be there).
bench_install() {
    [ "$(id -u)" -eq 0 ] || return 0
    local missing=() package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# Linux's autogroup scheduler gives each session its own share of the CPUs: with wrk and the host
# saturating both cores from this session, PostgreSQL (pg_ctl starts it in a session of its own)
# waits up to a second to be woken, and every request needing the database waits with it (measured
# 2026-12-06: a sleeping probe in another session overslept by up to 450 ms; none did with
# autogroup off). That is the load generator sharing the machine, not the host: the figures are
# taken with it off (AUTOGROUP=keep leaves the setting as it is); bench_restore_autogroup puts it
# back. Sets AUTOGROUP_WAS and AUTOGROUP_USED (recorded with the results).
AUTOGROUP_FILE=/proc/sys/kernel/sched_autogroup_enabled
bench_autogroup_off() {
    AUTOGROUP_WAS=$(cat "$AUTOGROUP_FILE" 2>/dev/null || echo "n/a")
    AUTOGROUP_USED="$AUTOGROUP_WAS"
    if [ "${AUTOGROUP:-off}" = off ] && [ "$AUTOGROUP_WAS" = 1 ] && [ -w "$AUTOGROUP_FILE" ]; then
        echo 0 >"$AUTOGROUP_FILE" && AUTOGROUP_USED=0
    fi
}

bench_restore_autogroup() {
    if [ "${AUTOGROUP_USED:-}" != "${AUTOGROUP_WAS:-}" ]; then echo "$AUTOGROUP_WAS" >"$AUTOGROUP_FILE" || true; fi
}

# Waits (up to 2 minutes) for the host at URL $1 (its /readyz answers 200) with process $2 and log
# $3; exits with its log if it stopped first. (The ready line is not in a LOG_LEVEL=warning log.)
bench_wait_ready() {
    local url=$1 pid=$2 log=$3
    for _ in $(seq 1 240); do
        [ "$(curl -sk -o /dev/null -w '%{http_code}' "$url/readyz" 2>/dev/null)" = 200 ] && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
        sleep 0.5
    done
    echo "the host at $url was not ready within 2 minutes" >&2
    exit 1
}

# Writes accounts through the host at https://localhost:$2 with key $3, one request at a time,
# until the file $4 exists; writer $1 names its accounts. One line per request:
# "<epoch seconds> <HTTP status> <account id> <seconds the request took>" (bench/write_load.py
# reads them).
bench_account_writer() {
    local name=$1 port=$2 key=$3 stop=$4 n=0 answer status id
    while [ ! -f "$stop" ]; do
        n=$((n + 1))
        answer=$(curl -sk --max-time 60 -w '\n%{http_code} %{time_total}' -H "Authorization: Bearer $key" \
            -H 'Content-Type: application/json' \
            -d "{\"accountName\":\"$name-$n\",\"accountType\":\"hedge_fund\",\"legalName\":\"Load $name-$n LP\"}" \
            "https://localhost:$port/api/enterprise/accounts" || true)
        status=${answer##*$'\n'}
        id=$(printf '%s' "$answer" | grep -o '"id":"[0-9a-f-]*"' | head -1 | cut -d'"' -f4 || true)
        echo "$(date +%s.%N) ${status%% *} ${id:--} ${status##* }"
    done
}
