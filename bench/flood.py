"""A backfill program that only floods its log: the load the dashboard must stay responsive under.

Used as a table's backfill command by the benchmarks (bench/pipelines.py `synthetic(flood=...)`):

    python bench/flood.py [--rate 5000] [--line-bytes 80] [--total-mb 0] [--seconds 0]
                          --start-date D --end-date D | --dates D,D,...

Writes `--rate` lines per second (in 100 bursts a second) of `--line-bytes` bytes each, every one
matching the default progress regex (`Processing YYYY-MM-DD ...`), cycling through the dates. Stops
after `--total-mb` megabytes or `--seconds` seconds (0: neither; runs until stopped). `--rate 0`
writes as fast as it can (for "a log grows by 100 MB"). Touches no warehouse; exits 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=5000.0, help="lines per second (0: unlimited)")
    ap.add_argument("--line-bytes", type=int, default=80)
    ap.add_argument("--total-mb", type=float, default=0.0)
    ap.add_argument("--seconds", type=float, default=0.0)
    ap.add_argument("--start-date", type=dt.date.fromisoformat)
    ap.add_argument("--end-date", type=dt.date.fromisoformat)
    ap.add_argument("--dates", default="")
    return ap.parse_args(argv)


def dates_of(args: argparse.Namespace) -> list[str]:
    if args.dates:
        return args.dates.split(",")
    if args.start_date and args.end_date:
        days = (args.end_date - args.start_date).days
        return [(args.start_date + dt.timedelta(days=i)).isoformat() for i in range(days + 1)]
    return ["2024-01-01"]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    dates = dates_of(args)
    burst = max(1, int(args.rate / 100)) if args.rate else 1000
    limit = int(args.total_mb * 1e6) if args.total_mb else None
    t0 = time.monotonic()
    written = n = 0
    out = sys.stdout.fileno()
    while True:
        chunk = []
        for _ in range(burst):
            head = f"Processing {dates[(n // 1000) % len(dates)]} line {n} "
            chunk.append(head + "x" * max(0, args.line_bytes - len(head) - 1) + "\n")
            n += 1
        data = "".join(chunk).encode()
        os.write(out, data)
        written += len(data)
        now = time.monotonic()
        if (limit is not None and written >= limit) or (args.seconds and now - t0 >= args.seconds):
            return 0
        if args.rate:
            ahead = t0 + n / args.rate - now
            if ahead > 0:
                time.sleep(ahead)


if __name__ == "__main__":
    raise SystemExit(main())
