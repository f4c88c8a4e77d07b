#!/usr/bin/env bash
# Model training on the real market files: the last 10 simple returns → the next bar's direction,
# the first 80 % of rows to train, the last 20 % to test. The Swift models (random forest over
# SEEDS seeds, SVM, LSTM) beside scikit-learn's RandomForestClassifier(200) and SVC(rbf, C=1,
# gamma='scale') on exactly the same rows (scryptex-bench writes them), scikit-learn installed in a
# throw-away environment under /tmp (never a project dependency; skipped if it cannot be
# installed). Appends to bench/RESULTS.md.      SEEDS=5 bench/ml.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS="${SEEDS:-5}"
ROUNDS="${ROUNDS:-3}"
VENV="${VENV:-/tmp/scryptex-ml-venv}"
DATA="${MARKET_DATA:-../shared/data/market}"
swift build -c release -j 2 --product scryptex-bench >&2
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import sklearn, pandas" 2>/dev/null; then
    python3 -m venv "$VENV" >&2 && "$VENV/bin/pip" install -q scikit-learn pandas >&2 || true
fi
SKLEARN_VERSION=$("$VENV/bin/python" -c "import sklearn; print(sklearn.__version__)" 2>/dev/null || echo "not installable here")
ROWS=()
HOURLY="$(mktemp /tmp/scryptex-ml-hourly-XXXXXX.csv)"
trap 'rm -f "$HOURLY"' EXIT
for spec in "eth-usd-daily.csv 1d" "eth-usdt-hourly-binance.csv 1h"; do
    set -- $spec
    CSV="$(mktemp /tmp/scryptex-ml-XXXXXX.csv)"
    ROWS+=("$(.build/release/scryptex-bench ml --file "$DATA/$1" --timeframe "$2" --models rf,svm,lstm --seeds "$SEEDS" --dataset "$CSV")")
    ROWS+=("$("$VENV/bin/python" bench/ml_sklearn.py "$CSV" "$1" rf,svm "$SEEDS" 2>/dev/null || echo "| scikit-learn | $1 | - | - | - | not installable here |")")
    [ "$2" = 1h ] && cp "$CSV" "$HOURLY"
    rm -f "$CSV"
done
# The SVM's time on the hourly file is close to scikit-learn's: alternate rounds so both meet the
# same machine load.
TIMINGS=()
for round in $(seq 1 "$ROUNDS"); do
    SWIFT_TIME=$(.build/release/scryptex-bench ml --file "$DATA/eth-usdt-hourly-binance.csv" --timeframe 1h --models svm | awk -F'|' '{ print $7 }')
    SKLEARN_TIME=$("$VENV/bin/python" bench/ml_sklearn.py "$HOURLY" hourly svm 2>/dev/null | awk -F'|' '{ print $7 }' || echo " - ")
    TIMINGS+=("| $round |$SWIFT_TIME|$SKLEARN_TIME|")
done
{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%MZ) — model training: Swift models vs scikit-learn $SKLEARN_VERSION"
    echo
    echo "Command: \`SEEDS=$SEEDS bench/ml.sh\`. Machine: $(nproc) cores," \
        "$(free -g | awk '/Mem:/ { print $2 }') GiB, $(uname -r); release build. Features: the last 10 simple" \
        "returns; target: the next bar's direction (up = 1, flat or down = 0); first 80 % of rows train, last 20 %" \
        "test, no shuffling; both sides train on the same rows (written by scryptex-bench). Time: training only" \
        "(the forest's mean over its seeds). Goal: accuracy within 1 point of scikit-learn's, training no slower."
    echo
    echo "| library | file | model | train / test rows | test accuracy | training time |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "SVM training on the hourly file, alternating rounds (same rows, RBF, C=1, gamma=scale):"
    echo
    echo "| round | Scryptex | scikit-learn |"
    echo "|---|---|---|"
    printf '%s\n' "${TIMINGS[@]}"
} | tee -a bench/RESULTS.md
