"""A tiny backfill stand-in for the supervisor tests (real process, real signals).

    fakejob.py TABLE --checkpoint FILE [--start-date D --end-date D | --dates d1,d2]
      [--n N] [--delay S] [--exit C] [--ignore-term] [--fork] [--escape] [--big-line BYTES]
      [--spam MB] [--wait-file PATH]

Prints `Processing YYYY-MM-DD (i/N)` per date, records done dates in the checkpoint and skips
them when restarted (like the real sample program).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import time


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("table")
    ap.add_argument("--checkpoint", default="")
    ap.add_argument("--start-date")
    ap.add_argument("--end-date")
    ap.add_argument("--dates")
    ap.add_argument("--n", type=int, default=0, help="dates to process (default: all)")
    ap.add_argument("--delay", type=float, default=0.05)
    ap.add_argument("--exit", type=int, default=0)
    ap.add_argument("--fail-at", type=int, default=0, help="exit 3 before processing date i")
    ap.add_argument("--ignore-term", action="store_true")
    ap.add_argument("--fork", action="store_true", help="fork a child and a grandchild")
    ap.add_argument("--escape", action="store_true", help="the grandchild calls setpgid(0, 0)")
    ap.add_argument("--big-line", type=int, default=0)
    ap.add_argument("--db", help="SQLite dataset file: one row per processed date")
    ap.add_argument("--spam", type=int, default=0, help="MB of log noise first")
    return ap.parse_args()


def requested(a: argparse.Namespace) -> list[str]:
    if a.dates:
        dates = a.dates.split(",")
    else:
        s, e = dt.date.fromisoformat(a.start_date), dt.date.fromisoformat(a.end_date)
        dates = [(s + dt.timedelta(days=i)).isoformat() for i in range((e - s).days + 1)]
    return dates[: a.n] if a.n else dates


def main() -> int:
    a = parse_args()
    if a.ignore_term:  # says so in the log, so a test sees TERM came (and KILL after it)
        signal.signal(
            signal.SIGTERM, lambda *_: print(f"{os.getpid()} ignores SIGTERM", flush=True)
        )
    dates = requested(a)
    done: list[str] = []
    if a.checkpoint and os.path.exists(a.checkpoint):
        with open(a.checkpoint) as f:
            done = json.load(f)["done"]
        print(f"Resuming from checkpoint: {len(done)} dates done", flush=True)
    if a.fork and os.fork() == 0:  # the child forks a grandchild, then both idle
        if os.fork() == 0:
            if a.escape:
                os.setpgid(0, 0)  # leaves the job's process group (not its session)
            print(f"grandchild {os.getpid()} pgid {os.getpgid(0)}", flush=True)
        else:
            print(f"child {os.getpid()}", flush=True)
        while True:
            time.sleep(0.2)
    if a.spam:
        line = ("x" * 1023 + "\n").encode()
        out = sys.stdout.buffer
        for _ in range(a.spam * 1024):
            out.write(line)
        out.flush()
    if a.big_line:
        sys.stdout.write("y" * a.big_line + "\n")
        sys.stdout.flush()
    for i, d in enumerate(dates, 1):
        if a.fail_at and i == a.fail_at:
            print(f"ERROR processing {d}: failed", flush=True)
            return 3
        if d in done:
            continue
        print(f"Processing {d} ({i}/{len(dates)})", flush=True)
        time.sleep(a.delay)
        if a.db:
            import sqlite3

            con = sqlite3.connect(a.db, timeout=10, isolation_level=None)
            con.execute(f'CREATE TABLE IF NOT EXISTS "{a.table}" (game_date TEXT)')
            con.execute(f'INSERT INTO "{a.table}" VALUES (?)', (d,))
            con.close()
        done.append(d)
        if a.checkpoint:
            os.makedirs(os.path.dirname(a.checkpoint) or ".", exist_ok=True)
            tmp = a.checkpoint + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"done": done}, f)
            os.replace(tmp, a.checkpoint)
    print("finished", flush=True)
    return a.exit


if __name__ == "__main__":
    sys.exit(main())
