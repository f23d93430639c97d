"""Poll latency and bytes processed per poll vs table count, on the embedded backend and on the
BigQuery emulator (run by hand: `python bench/bench_poll.py`; prints a table).

Each table holds ROWS rows on each of DATES game dates; one poll is one `Warehouse.counts()` over
every table plus the schedule, exactly what the dashboard does every interval. The emulator is
started like the tests start it (free loopback ports, spatial extension installed).

The emulator answers from DuckDB in-process and reports 0 bytes processed; real BigQuery bills the
bytes of the date column it scans (at least 10 MiB per table referenced), which `estimate_bytes`
(a dry run) reports against the real service.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "bigquery"))

import bqemu  # noqa: E402

from nba_tui.config import BigQuerySettings  # noqa: E402
from nba_tui.warehouse.base import TableSpec, WarehouseError  # noqa: E402
from nba_tui.warehouse.bigquery import BigQueryWarehouse  # noqa: E402
from nba_tui.warehouse.identifiers import TableRef  # noqa: E402
from nba_tui.warehouse.sqlite import SqliteWarehouse, connect  # noqa: E402

COUNTS = (1, 5, 15, 50)
DATES = 120
ROWS = 10
POLLS = 5
START = dt.date(2024, 1, 1)


def specs(sfx: str, n: int) -> tuple[TableSpec, list[TableSpec]]:
    expected = TableSpec("__expected__", TableRef(f"raw_{sfx}", "schedule"), "game_date")
    tables = [
        TableSpec(f"t{i:02d}", TableRef(f"ds{i % 4}_{sfx}", f"t{i:02d}"), "game_date")
        for i in range(n)
    ]
    return expected, tables


def dates() -> list[dt.date]:
    return [START + dt.timedelta(days=i) for i in range(DATES)]


def load_sqlite(root: Path, refs: list[TableRef]) -> None:
    conn = connect(root, {r.dataset for r in refs})
    for ref in refs:
        conn.execute(f"CREATE TABLE {ref.sqlite_sql()} (game_date TEXT, v INTEGER)")
        conn.execute(f'CREATE INDEX "{ref.dataset}"."ix_{ref.table}" ON "{ref.table}"(game_date)')
        conn.executemany(
            f"INSERT INTO {ref.sqlite_sql()} VALUES (?, ?)",
            [(d.isoformat(), i) for d in dates() for i in range(ROWS)],
        )
    conn.close()


class Uncached:
    """A fresh connection per poll: what a poll costs when every dataset changed meanwhile."""

    def __init__(self, root: Path, datasets: set[str]) -> None:
        self.root, self.datasets = root, datasets

    def counts(self, *args):  # noqa: ANN002, ANN201
        wh = SqliteWarehouse(self.root, self.datasets)
        try:
            return wh.counts(*args)
        finally:
            wh.close()


def measure(wh, expected: TableSpec, tables: list[TableSpec]) -> tuple[float, float, int | None]:
    end = START + dt.timedelta(days=DATES - 1)
    wh.counts(expected, tables, START, end)  # warm: table listing, connections
    times, nbytes = [], None
    for _ in range(POLLS):
        t0 = time.perf_counter()
        counts = wh.counts(expected, tables, START, end)
        times.append(time.perf_counter() - t0)
        nbytes = counts.bytes_processed
        assert len(counts.rows) == len(tables)
    return statistics.median(times), max(times), nbytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="*", default=list(COUNTS))
    args = parser.parse_args()
    emu = bqemu.Emulator().start()
    client = emu.client()
    rows = []
    try:
        for n in args.counts:
            sfx = uuid.uuid4().hex[:6]
            expected, tables = specs(sfx, n)
            refs = [expected.ref, *(t.ref for t in tables)]
            with tempfile.TemporaryDirectory() as tmp:
                load_sqlite(Path(tmp), refs)
                wh = SqliteWarehouse(Path(tmp), {r.dataset for r in refs})
                med, worst, nbytes = measure(wh, expected, tables)
                wh.close()
                rows.append(("sqlite (unchanged data)", n, med, worst, nbytes))
                cold = Uncached(Path(tmp), {r.dataset for r in refs})
                med, worst, nbytes = measure(cold, expected, tables)
                rows.append(("sqlite (every table recounted)", n, med, worst, nbytes))
            for ref in refs:
                bqemu.create_table(client, str(ref), {d: ROWS for d in dates()})
            for strategy in ("query", "partitions"):
                settings = BigQuerySettings(endpoint=emu.endpoint, strategy=strategy)
                bq = BigQueryWarehouse(settings)
                try:
                    med, worst, nbytes = measure(bq, expected, tables)
                    est = bq.estimate_bytes(expected, tables, START, START)
                    rows.append((f"emulator/{strategy}", n, med, worst, nbytes, est))
                except WarehouseError as e:
                    print(f"emulator/{strategy} with {n} tables failed: {e}", file=sys.stderr)
                    rows.append((f"emulator/{strategy}", n, float("nan"), float("nan"), None))
                finally:
                    bq.close()
    finally:
        client.close()
        emu.stop()
    print(f"{DATES} dates x {ROWS} rows per table, {POLLS} polls each (after one warm-up)\n")
    print(
        f"{'backend':<31}{'tables':>7}{'median ms':>11}{'max ms':>9}{'bytes/poll':>12}{'dry run':>9}"
    )
    for backend, n, med, worst, nbytes, *est in rows:
        shown = "-" if nbytes is None else str(nbytes)
        dry = str(est[0]) if est else "-"
        print(f"{backend:<31}{n:>7}{med * 1000:>11.1f}{worst * 1000:>9.1f}{shown:>12}{dry:>9}")


if __name__ == "__main__":
    main()
