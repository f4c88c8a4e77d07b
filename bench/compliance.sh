#!/usr/bin/env bash
# Pre-trade check latency: the rules evaluated in process with 10,000 positions and the real
# OFAC SDN, OFAC consolidated and UN lists from ../shared/data/aml loaded. Appends to
# bench/RESULTS.md.   ITERATIONS=20000 bench/compliance.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ITERATIONS="${ITERATIONS:-20000}"
swift build -c release -j 2 --product scryptex-bench
{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%MZ) — pre-trade check latency"
    echo
    echo "Command: \`ITERATIONS=$ITERATIONS bench/compliance.sh\`. Machine: $(nproc) cores," \
        "$(free -g | awk '/Mem:/ { print $2 }') GiB; one thread, release build."
    echo
    .build/release/scryptex-bench check-trade --iterations "$ITERATIONS" --shared ../shared/data/aml
} | tee -a bench/RESULTS.md
