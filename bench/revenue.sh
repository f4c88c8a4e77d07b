#!/usr/bin/env bash
# Revenue ledger: ingest 1,000,000 fee events for 1,000 partners through FeeEventIngestion on a
# durable embedded PostgreSQL (fsync on), replay 100,000 of them, close October 2026 for every
# partner, reconcile the whole ledger. Run twice: each partner's events arriving together, and
# every batch mixing all partners (the worst case for the ledger: one posting per partner per
# batch). Appends to bench/RESULTS.md.   EVENTS=1000000 PARTNERS=1000 bench/revenue.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS="${EVENTS:-1000000}"
PARTNERS="${PARTNERS:-1000}"
swift build -c release -j 2 --product scryptex-bench
mkdir -p bench/out
{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%MZ) — revenue ledger: ingestion, period close, reconciliation"
    echo
    echo "Command: \`EVENTS=$EVENTS PARTNERS=$PARTNERS bench/revenue.sh\`. Machine: $(nproc) cores," \
        "$(free -g | awk '/Mem:/ { print $2 }') GiB; release build; embedded PostgreSQL 15, durable" \
        "(fsync on), shared_buffers 256 MB; batches of 5,000 events in one transaction each, 2 connections."
    echo
    echo "Each partner's events together:"
    echo
    .build/release/scryptex-bench revenue --events "$EVENTS" --partners "$PARTNERS" --grouped
    echo
    echo "Every batch mixing all partners:"
    echo
    .build/release/scryptex-bench revenue --events "$EVENTS" --partners "$PARTNERS"
} | tee -a bench/RESULTS.md
