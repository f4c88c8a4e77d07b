#!/usr/bin/env bash
# Tenancy benchmark: provisioning latency with many tenants present, a no-op migration over all
# of them, directory reload and lookup, catalog size. Appends to bench/RESULTS.md.
#   TENANTS=1000 bench/tenancy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TENANTS="${TENANTS:-1000}"
mkdir -p bench/out
swift build -c release -j 2 --product scryptex-bench
{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%MZ) — tenancy with $TENANTS tenants"
    echo
    echo "Command: \`TENANTS=$TENANTS bench/tenancy.sh\`. Machine: $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB," \
        "embedded PostgreSQL $(pg_config --version | awk '{ print $2 }') (durable: fsync on), one connection at a time."
    echo
    .build/release/scryptex-bench --tenants "$TENANTS"
} | tee -a bench/RESULTS.md
