"""Poll latency and bytes billed per poll vs table count, on the embedded backend and on the
BigQuery emulator, and the idle-night figure. Run by hand (or through bench/run_all.py):

    .venv/bin/python bench/bench_poll.py [--counts 1 5 15 50 100] [--no-emulator]

Each table holds ROWS rows on each of DATES dates; one poll is one `Warehouse.counts()` over every
table plus the schedule, exactly what the dashboard does every interval. The emulator is started
like the tests start it (tests/bigquery/bqemu.py: free loopback ports, spatial extension).

Two latencies per backend and table count: the *first* poll, which counts every table (one query
job), and the median of the *quiet* polls after it, in which no table changed (no job: only the free
`tables.get` calls, paced by the token bucket at 50/s).

The emulator answers from DuckDB in-process and reports 0 bytes billed; real BigQuery bills at
least 10 MiB per table referenced, which the dry run (`estimate_bytes`) reports: where the emulator
says 0, the dry-run figure is shown (marked "dry run").

`strategy: partitions` on the emulator is bound by the emulator: it expands
`dataset.INFORMATION_SCHEMA.PARTITIONS` by computing every partition of every table of the dataset
and inlining them as a SQL `VALUES` literal that its translator parses, one request at a time.
The bench prints that cost per partition; when the first poll does not
answer within the poll timeout, it is measured again with a long timeout (after the emulator has
finished the abandoned job) and printed as not met, with that reason. BigQuery reads the view as
metadata.

Idle night: a `Monitor` on the emulator polls 15 unchanged tables; after its first poll,
every later poll must bill 0 bytes (`Monitor.bytes_billed_total`, when the monitor exposes it) and
start no query job (the emulator's own job list).
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

from harness import REPO, Figure, figure, missing, print_figures

sys.path.insert(0, str(REPO / "tests" / "bigquery"))

import bqemu  # noqa: E402

from nba_tui import config  # noqa: E402
from nba_tui.config import BigQuerySettings  # noqa: E402
from nba_tui.identifiers import TableRef  # noqa: E402
from nba_tui.monitor import Monitor  # noqa: E402
from nba_tui.warehouse.base import TableSpec, WarehouseError  # noqa: E402
from nba_tui.warehouse.bigquery import BigQueryWarehouse  # noqa: E402
from nba_tui.warehouse.sqlite import SqliteWarehouse, connect  # noqa: E402

COUNTS = (1, 5, 15, 50, 100)
DATES = 120
ROWS = 10
POLLS = 5
START = dt.date(2024, 1, 1)
END = START + dt.timedelta(days=DATES - 1)
MIN_BILLED = 10 * 2**20  # BigQuery bills at least 10 MiB per table referenced by a query


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


def billed(counts: object) -> int | None:
    """Bytes billed of one poll as the backend reports it (older backends: bytes processed)."""
    for name in ("bytes_billed", "bytes_processed"):
        value = getattr(counts, name, None)
        if value is not None:
            return int(value)
    return None


def timed_counts(wh, expected: TableSpec, tables: list[TableSpec]) -> float:  # noqa: ANN001
    """Seconds of one `counts()` call (the first one counts every table)."""
    t0 = time.perf_counter()
    wh.counts(expected, tables, START, END)
    return time.perf_counter() - t0


def measure(
    wh,  # noqa: ANN001
    expected: TableSpec,
    tables: list[TableSpec],
    warm: bool = True,
) -> tuple[float, int | None]:
    """Median latency of POLLS polls after one warm-up (the first poll, unless `warm` is False:
    the caller ran it), and the last poll's bytes billed."""
    if warm:
        wh.counts(expected, tables, START, END)  # warm: table listing, connections
    times, nbytes = [], None
    for _ in range(POLLS):
        t0 = time.perf_counter()
        counts = wh.counts(expected, tables, START, END)
        times.append(time.perf_counter() - t0)
        nbytes = billed(counts)
    return statistics.median(times), nbytes


def sqlite_figures(work: Path, n: int) -> list[Figure]:
    expected, tables = specs(uuid.uuid4().hex[:6], n)
    refs = [expected.ref, *(t.ref for t in tables)]
    root = work / f"poll-sqlite-{n}"
    root.mkdir(parents=True)
    load_sqlite(root, refs)
    wh = SqliteWarehouse(root, {r.dataset for r in refs})
    try:
        med, _ = measure(wh, expected, tables)
    finally:
        wh.close()
    return [figure(f"poll latency, sqlite, {n} tables (unchanged)", med * 1000, "ms")]


def bytes_figure(name: str, n: int, reported: int | None, dry: int) -> Figure:
    """Bytes billed per poll: as reported; else the dry run; else (the emulator says 0 to both)
    BigQuery's minimum, 10 MiB per table referenced (schedule included)."""
    if reported:
        value, how = reported, "reported"
    elif dry:
        value, how = dry, "dry run"
    else:
        value, how = (n + 1) * MIN_BILLED, "10 MiB minimum per table"
    fig = figure(f"bytes billed per poll, {name}", value / 2**20, f"MiB ({how})")
    fig.extra = {"reported": reported, "dry_run": dry}
    return fig


#: Poll timeout of the bench's warehouses (the config's default).
TIMEOUT = BigQuerySettings().timeout
#: Timeout used to measure a first poll that does not answer within TIMEOUT on the emulator.
LONG_TIMEOUT = 300.0


def wait_idle(client, ref: str) -> None:  # noqa: ANN001
    """Until the emulator answers again: it serves one request at a time, and a job whose client
    gave up still runs to its end (one `tables.get`, bounded by LONG_TIMEOUT)."""
    client.get_table(f"{client.project}.{ref}", timeout=LONG_TIMEOUT)


def first_poll_figures(
    client,  # noqa: ANN001
    endpoint: str,
    strategy: str,
    n: int,
    expected: TableSpec,
    tables: list[TableSpec],
) -> tuple[list[Figure], BigQueryWarehouse]:
    """The first poll's latency (and, for partitions, the emulator's cost per partition), and the
    warehouse that answered it (to measure the quiet polls with)."""
    name = f"emulator/{strategy}, {n} tables"
    partitions = (n + 1) * DATES  # every table is DAY-partitioned with rows on every date
    bq = BigQueryWarehouse(BigQuerySettings(endpoint=endpoint, strategy=strategy))
    why = ""
    try:
        first = timed_counts(bq, expected, tables)
    except WarehouseError as e:
        bq.close()
        if strategy != "partitions" or "did not answer" not in str(e):
            raise
        # Emulator-bound: measure what the emulator needs, once it finished the abandoned job.
        wait_idle(client, str(expected.ref))
        bq = BigQueryWarehouse(
            BigQuerySettings(endpoint=endpoint, strategy=strategy, timeout=LONG_TIMEOUT)
        )
        try:
            first = timed_counts(bq, expected, tables)
        except BaseException:
            bq.close()
            raise
        why = (
            f"; not met: the emulator's PARTITIONS view ({partitions} partitions inlined as SQL "
            f"VALUES, {first * 1000 / partitions:.1f} ms each; measured with timeout "
            f"{LONG_TIMEOUT:g}s)"
        )
    within = f"answers within the {TIMEOUT:g}s poll timeout"
    figs = [
        figure(
            f"first poll (counts every table), {name}",
            first * 1000,
            "ms",
            within + why,
            lambda v: v < TIMEOUT * 1000,
        )
    ]
    if strategy == "partitions":
        figs.append(
            figure(
                f"emulator PARTITIONS view, {n} tables: first poll per partition",
                first * 1000 / partitions,
                "ms",
                note=f"{partitions} partitions (all tables of the datasets x {DATES} dates); "
                "emulator cost, BigQuery reads the view as metadata",
            )
        )
    return figs, bq


def emulator_figures(client, endpoint: str, n: int) -> list[Figure]:  # noqa: ANN001
    """Latency and bytes per poll on the emulator, both strategies; 50+ tables must answer."""
    expected, tables = specs(uuid.uuid4().hex[:6], n)
    for ref in [expected.ref, *(t.ref for t in tables)]:
        bqemu.create_table(client, str(ref), {d: ROWS for d in dates()})
    figs: list[Figure] = []
    for strategy in ("query", "partitions"):
        name = f"emulator/{strategy}, {n} tables"
        bq = None
        try:
            first, bq = first_poll_figures(client, endpoint, strategy, n, expected, tables)
            figs += first
            med, nbytes = measure(bq, expected, tables, warm=False)
            dry = bq.estimate_bytes(expected, tables, START, START)
        except Exception as e:  # noqa: BLE001 - a WarehouseError, or the client giving up
            figs.append(missing(f"poll latency, {name}", f"failed: {str(e)[:60]}", "answers"))
            figs[-1].ok = False
            continue
        finally:
            if bq is not None:
                bq.close()
        figs.append(
            figure(
                f"poll latency (quiet: no table changed), {name}",
                med * 1000,
                "ms",
                "answers",
                lambda v: True,
            )
        )
        figs.append(bytes_figure(name, n, nbytes, dry))
    return figs


def _night_pipeline(work: Path, sfx: str, endpoint: str, n: int) -> Path:
    tables = "\n".join(
        f"      - {{name: t{i:02d}, table: ds{i % 4}_{sfx}.t{i:02d}}}" for i in range(n)
    )
    path = work / f"night-{sfx}.yaml"
    path.write_text(
        f"pipeline: night\nrange: {{start: {START}, end: {END}}}\n"
        f"expected_dates: {{table: raw_{sfx}.schedule}}\n"
        f'warehouse: {{backend: bigquery, bigquery: {{endpoint: "{endpoint}"}}}}\n'
        f"poll: {{interval: 1s}}\nphases:\n  - name: p\n    tables:\n{tables}\n"
    )
    return path


def idle_night(work: Path, client, endpoint: str, n: int = 15, polls: int = 5) -> list[Figure]:  # noqa: ANN001
    """After the first poll of n unchanged tables: bytes billed and query jobs of later polls."""
    sfx = uuid.uuid4().hex[:6]
    expected, tables = specs(sfx, n)
    for ref in [expected.ref, *(t.ref for t in tables)]:
        bqemu.create_table(client, str(ref), {d: ROWS for d in dates()})
    mon = Monitor(config.load(_night_pipeline(work, sfx, endpoint, n)), max_queries_per_minute=600)
    try:
        mon.poll_once()
        total0 = getattr(mon, "bytes_billed_total", None)
        jobs0 = bqemu.job_ids(client)
        for _ in range(polls):
            result = mon.poll_once()
            if result.error:
                raise RuntimeError(f"idle-night poll failed: {result.error}")
        new_jobs = len(bqemu.job_ids(client) - jobs0)
        total1 = getattr(mon, "bytes_billed_total", None)
    finally:
        mon.close()
    name = f"idle night, {n} unchanged tables, {polls} polls after the first"
    jobs_fig = figure(f"{name}: query jobs", new_jobs, "", "0", lambda v: v == 0)
    if not hasattr(mon, "bytes_billed_total"):
        return [missing(f"{name}: bytes billed", "n/a (not exposed)", "0 B"), jobs_fig]
    # The emulator reports no bytes for its jobs (None): the job count is what proves "nothing
    # billed" there, so the bytes figure is met only when no query job ran either.
    billed_after = (total1 or 0) - (total0 or 0)
    bytes_fig = figure(f"{name}: bytes billed", billed_after, "B", "0 B")
    bytes_fig.ok = billed_after == 0 and new_jobs == 0
    bytes_fig.extra = {"total_after_first": total0, "total_at_end": total1}
    return [bytes_fig, jobs_fig]


def run(work: Path, counts: list[int], emulator: bool = True) -> list[Figure]:
    figs = []
    for n in counts:
        figs += sqlite_figures(work, n)
    if not emulator:
        return figs
    try:
        emu = bqemu.Emulator().start()
    except bqemu.EmulatorMissing as e:
        return [*figs, missing("BigQuery emulator figures", str(e)[:100])]
    client = emu.client()
    try:
        for n in counts:
            figs += emulator_figures(client, emu.endpoint, n)
        figs += idle_night(work, client, emu.endpoint)
    finally:
        client.close()
        emu.stop()
    return figs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="*", default=list(COUNTS))
    parser.add_argument("--no-emulator", action="store_true", help="the embedded backend only")
    args = parser.parse_args()
    print(f"{DATES} dates x {ROWS} rows per table, {POLLS} polls each (after one warm-up)")
    with tempfile.TemporaryDirectory(prefix="nba-tui-bench-poll-") as tmp:
        print_figures(run(Path(tmp), args.counts, not args.no_emulator))


if __name__ == "__main__":
    main()
