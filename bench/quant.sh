#!/usr/bin/env bash
# Backtest speed: the z-score mean-reversion strategy over 1,000,000 synthetic hourly bars
# (seed 42), metrics included, in the Swift engine and, side by side on the same bars, in vectorbt
# (installed in a throw-away environment under /tmp, never a project dependency; skipped if it
# cannot be installed). Appends to bench/RESULTS.md.   BARS=1000000 ROUNDS=7 bench/quant.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BARS="${BARS:-1000000}"
ROUNDS="${ROUNDS:-7}"
VENV="${VENV:-/tmp/scryptex-bench-venv}"
swift build -c release -j 2 --product scryptex-bench >&2
CSV="$(mktemp /tmp/scryptex-bars-XXXXXX.csv)"
trap 'rm -f "$CSV"' EXIT
SWIFT_ROW=$(.build/release/scryptex-bench backtest --bars "$BARS" --rounds "$ROUNDS" --csv "$CSV")
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import vectorbt" 2>/dev/null; then
    python3 -m venv "$VENV" >&2 && "$VENV/bin/pip" install -q vectorbt >&2 || true
fi
PYTHON_ROW=$("$VENV/bin/python" bench/backtest_vectorbt.py "$CSV" "$ROUNDS" 2>/dev/null || echo "| vectorbt | - | - | - | not installable here |")
{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%MZ) — backtest speed: Swift engine vs vectorbt"
    echo
    echo "Command: \`BARS=$BARS ROUNDS=$ROUNDS bench/quant.sh\`. Machine: $(nproc) cores," \
        "$(free -g | awk '/Mem:/ { print $2 }') GiB, $(uname -r); release build. The z-score mean-reversion strategy" \
        "(lookback 20, entry below −2, exit above 0), next-open fills, all cash, no fees, fractional units, over" \
        "synthetic hourly bars (GBM with jumps and regimes, seed 42); each run includes the indicators, the" \
        "simulation and the metrics. Goal: ≤ 100 ms for 1,000,000 bars."
    echo
    echo "| engine | bars | fastest (ms) | median (ms) | outcome |"
    echo "|---|---|---|---|---|"
    echo "$SWIFT_ROW"
    echo "$PYTHON_ROW"
} | tee -a bench/RESULTS.md
