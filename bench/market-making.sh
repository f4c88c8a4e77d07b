#!/usr/bin/env bash
# Quote latency in process: COUNT quotes of one market per model, each timed on its own (the
# volatility update included), after 10,000 warm-up quotes. Goal: p99 ≤ 10 µs per market.
# Appends to bench/RESULTS.md.      COUNT=1000000 bench/market-making.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${COUNT:-1000000}"
swift build -c release -j 2 --product scryptex-bench >&2
ROWS=$(.build/release/scryptex-bench quote --count "$COUNT")
{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%MZ) — market making: quote latency"
    echo
    echo "Command: \`COUNT=$COUNT bench/market-making.sh\`. Machine: $(nproc) cores," \
        "$(free -g | awk '/Mem:/ { print $2 }') GiB, $(uname -r); release build. One market (tick 0.01, lot 0.001," \
        "minimum notional 10), the mid a random walk, the inventory changing, the EWMA volatility updated before each" \
        "quote; each quote timed alone with the monotonic clock (its ~30 ns included). Avellaneda-Stoikov: γ 0.1," \
        "κ 1.5, rolling 60 s horizon, η 0.2, spread bounds; ladder: 5 levels, volatility-scaled, inventory skew." \
        "Goal: p99 ≤ 10 µs."
    echo
    echo "| model | quotes | p50 (µs) | p99 (µs) | p99.9 (µs) | outcome |"
    echo "|---|---|---|---|---|---|"
    echo "$ROWS"
} | tee -a bench/RESULTS.md
