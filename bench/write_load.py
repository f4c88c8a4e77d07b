"""What the writers of bench/lib.sh's `bench_account_writer` saw, for the benchmarks that disturb
a running host under write load (tenant moves, database failover).

    python3 bench/write_load.py window LOGS_GLOB START END   one line: acknowledged writes, the
                                                             longest gap between two around the
                                                             window, the failures in it by status
                                                             and how long they took
    python3 bench/write_load.py readback LOGS_GLOB PORT KEY  every acknowledged account read back
                                                             through the host; exit 1 if one is
                                                             missing

Each writer log line: "<epoch seconds> <HTTP status> <account id or -> <seconds the request took>".
"""

import glob
import json
import ssl
import sys
import urllib.request


def writes(pattern):
    rows = []
    for path in glob.glob(pattern):
        for line in open(path):
            parts = line.split()
            if len(parts) >= 2:
                took = float(parts[3]) if len(parts) >= 4 else 0.0
                rows.append((float(parts[0]), parts[1], parts[2] if len(parts) >= 3 else "", took))
    rows.sort()
    return rows


def window(pattern, start, end):
    rows = writes(pattern)
    acknowledged = [t for t, status, _, _ in rows if status == "201"]
    # The longest time without an acknowledged write, around the disturbance.
    gap, gap_from = 0.0, None
    for a, b in zip(acknowledged, acknowledged[1:]):
        if b >= start - 1 and a <= end + 1 and b - a > gap:
            gap, gap_from = b - a, a
    failed = [(status, took) for t, status, _, took in rows if status != "201" and start - 1 <= t <= end + 1]
    by_status = {}
    for status, _ in failed:
        by_status[status] = by_status.get(status, 0) + 1
    slowest = max((took for _, took in failed), default=0.0)
    # Writes acknowledged again: the end of the longest gap.
    recovered = gap_from + gap if gap_from is not None else None
    print(
        f"{len(acknowledged)} writes acknowledged; longest gap between two {gap * 1000:.0f} ms"
        + (f" (from {gap_from - start:+.1f} s)" if gap_from is not None else "")
        + f"; failed in the window: {by_status or 'none'}"
        + (f", the slowest failure answered in {slowest * 1000:.0f} ms" if failed else "")
        + (f"; writes acknowledged again {recovered - start:.1f} s after the start" if recovered else "")
    )


def readback(pattern, port, key):
    acknowledged = {account for _, status, account, _ in writes(pattern) if status == "201" and account != "-"}
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    stored, cursor = set(), None
    while True:
        url = f"https://localhost:{port}/api/enterprise/accounts?limit=500" + (f"&after={cursor}" if cursor else "")
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
        page = json.load(urllib.request.urlopen(request, context=context, timeout=60))
        stored |= {account["id"] for account in page["accounts"]}
        cursor = page.get("nextCursor")
        if not cursor:
            break
    missing = acknowledged - stored
    print(f"acknowledged accounts: {len(acknowledged)}, read back: {len(acknowledged & stored)}, missing: {len(missing)}")
    return 1 if missing else 0


if __name__ == "__main__":
    if sys.argv[1] == "window":
        window(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
    elif sys.argv[1] == "readback":
        sys.exit(readback(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
