"""The BigQuery backend: at most one cheap, cost-capped coverage query job per poll, and none
when no table changed.

Why it looks like this:

* **Only changed tables are queried.** Each table's free metadata (`tables.get`: modification
  time, rows, bytes, streaming buffer; see `bq_meta.py`) is compared with what it was when the
  table was last counted; unchanged tables keep their counts (the same dicts), so a quiet night
  runs no query job and bills nothing.
* **One job per poll.** The changed tables' rows-per-date (and the schedule's dates, if it
  changed) come back from a single `UNION ALL` query, so a poll costs one job against BigQuery's
  rate limits, not one per table. Which tables exist is asked with the free `tables.list` API,
  per dataset, cached for `TABLES_TTL` seconds: a missing table in the `UNION ALL` would fail the
  job.
* **Nothing from the config becomes SQL text unchecked.** Table and column names were validated at
  config load (`identifiers.py`) and are quoted part by part here; dates, tags and table names in
  filters are query parameters.
* **Cost guard.** Every job sets `maximum_bytes_billed`; `estimate_bytes()` dry-runs the poll's
  query and `describe_cost()` turns it into bytes per poll and per night for the `status` line.
* **Bounded waits.** The client's defaults retry for up to 10 minutes; here every request has an
  explicit timeout and every retry a deadline no longer than the poll timeout, so the monitor's
  deadline, not the client, decides when the dashboard shows data as stale. Rate-limit and quota
  errors are *not* retried inside a poll: the monitor backs off across polls and says so.
* **One budget for the jobs of a poll.** The query jobs of one `counts()` call (the coverage job,
  a fallback, a streaming-buffer recount) share one deadline, `timeout` from the first. A
  `jobs.insert` request may wait for all that is left of it: a server may answer it only once the
  query has run (the emulator always does). A request cut at part of the budget would be re-sent
  to a server still running its job, which runs the duplicate again (a long `strategy:
  partitions` job on the emulator then fails a poll it would have answered). A dropped request
  costs the poll, and the monitor's next poll is the retry.
* **`strategy: partitions`** reads `INFORMATION_SCHEMA.PARTITIONS` (metadata, no table scan) for
  tables that are partitioned by DAY on their date column, in the same single job, and falls back
  to the plain query when the view cannot be read. On the emulator that view is slow: it inlines
  every partition of every table of the dataset as a SQL `VALUES` literal, one request at a time,
  so its time grows with the partitions of the dataset whatever the query asks
  (`bench/bench_poll.py` prints the cost per partition); splitting the job would not help a
  server that runs one request at a time.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as gexc
from google.cloud import bigquery
from google.cloud.bigquery.retry import DEFAULT_RETRY

from nba_tui.identifiers import (
    IdentifierError,
    TableRef,
    check_name,
    check_project,
)
from nba_tui.ratelimit import TokenBucket
from nba_tui.warehouse.base import Counts, TableSpec, WarehouseError
from nba_tui.warehouse.bq_client import make_client
from nba_tui.warehouse.bq_cost import Estimate, describe_cost, format_bytes, total_bytes
from nba_tui.warehouse.bq_errors import (
    CredentialsError,
    QuotaExceeded,
    RateLimited,
    Unreachable,
    transient,
    translate,
)
from nba_tui.warehouse.bq_meta import BURST, RATE, Signature, daily_on, fetch_tables, signature
from nba_tui.warehouse.bq_sql import partitions_query, plain_query, quads, split

if TYPE_CHECKING:
    from nba_tui.config import BigQuerySettings

__all__ = ["BigQueryWarehouse", "describe_cost", "format_bytes"]

#: Seconds the list of tables of a dataset (and partitioning metadata) is trusted.
TABLES_TTL = 120.0
#: Seconds the partitions strategy stays off after INFORMATION_SCHEMA.PARTITIONS failed.
PARTITIONS_RETRY_AFTER = 3600.0


class BigQueryWarehouse:
    """Coverage polls against BigQuery (or an emulator) through the official client."""

    name = "bigquery"

    def __init__(self, settings: BigQuerySettings, client: bigquery.Client | None = None) -> None:
        self.settings = settings
        self.project = check_project(settings.project)
        timeout = float(settings.timeout)
        #: Per-HTTP-request timeout: half the poll budget, so a dropped request is retried once.
        self.request_timeout = max(1.0, timeout / 2)
        deadline = max(1.0, min(float(settings.retry_deadline), timeout))
        self.retry = DEFAULT_RETRY.with_predicate(transient).with_deadline(deadline)
        self.client = client if client is not None else make_client(settings)
        self._datasets: dict[str, tuple[float, set[str] | None]] = {}
        self._daily: dict[TableRef, tuple[float, bool]] = {}
        self._partitions_off_until = 0.0
        #: Why the last poll did not use the partitions strategy (None when it did or wasn't asked).
        self.note: str | None = None
        #: Job ids of the last `counts()` call (tests and the bench count them).
        self.last_job_ids: list[str] = []
        #: (bytes processed, bytes billed) of each job of the current `counts()` call.
        self._stats: list[tuple[int | None, int | None]] = []
        #: Rows per date per (table, date column) at its last count, the table's metadata
        #: signature then, and the range they cover: unchanged tables are not queried again.
        self._rows: dict[tuple[TableRef, str], dict[dt.date, int]] = {}
        self._sigs: dict[tuple[TableRef, str], Signature] = {}
        #: Flagged rows per date of the tables with a degraded column, kept like `_rows`.
        self._flagged: dict[tuple[TableRef, str], dict[dt.date, int]] = {}
        self._range: tuple[dt.date, dt.date] | None = None
        self._bucket = TokenBucket(RATE, BURST)
        self._recount = False

    # -- metadata (free API calls, cached) -----------------------------------------------------
    def _tables_of(self, dataset: str) -> set[str] | None:
        """Table names of a dataset (None if the dataset does not exist), cached."""
        now = time.monotonic()
        hit = self._datasets.get(dataset)
        if hit and now - hit[0] < TABLES_TTL:
            return hit[1]
        try:
            items = self.client.list_tables(
                f"{self.project}.{dataset}",
                retry=self.retry,
                timeout=self.request_timeout,
                page_size=1000,
            )
            names: set[str] | None = {t.table_id for t in items}
        except gexc.NotFound:
            names = None
        except Exception as e:  # noqa: BLE001 - translated for the user
            raise self._error(e, f"listing tables of dataset {dataset}") from e
        self._datasets[dataset] = (now, names)
        return names

    def existing(self, refs: Sequence[TableRef]) -> set[TableRef]:
        found: set[TableRef] = set()
        for ds in sorted({r.dataset for r in refs}):
            names = self._tables_of(ds) or set()
            found |= {r for r in refs if r.dataset == ds and r.table in names}
        return found

    def forget_tables(self) -> None:
        """Drop cached metadata (a table appeared or vanished between polls)."""
        self._datasets.clear()
        self._daily.clear()

    def _is_daily_partitioned(self, spec: TableSpec) -> bool:
        """True if the table is partitioned by DAY on `spec.date_column` (so partition = date)."""
        now = time.monotonic()
        hit = self._daily.get(spec.ref)
        if hit and now - hit[0] < TABLES_TTL:
            return hit[1]
        table = self._get_table(spec.ref)
        ok = table is not None and daily_on(table, spec.date_column)
        self._daily[spec.ref] = (now, ok)
        return ok

    def _get_table(self, ref: TableRef) -> Any | None:
        """The table's metadata (`tables.get`: free), or None if it does not exist."""
        try:
            return self.client.get_table(
                f"{self.project}.{ref}", retry=self.retry, timeout=self.request_timeout
            )
        except gexc.NotFound:
            return None
        except Exception as e:  # noqa: BLE001
            raise self._error(e, f"reading metadata of {ref}") from e

    def changed(
        self, live: Sequence[tuple[int, TableSpec]]
    ) -> tuple[list[tuple[int, TableSpec]], set[TableRef], dict[TableRef, Signature | None]]:
        """Which live specs must be counted again, which tables vanished, and every signature.

        One free `tables.get` per table (batched, throttled). The partitioning facts come with
        it, so the partitions strategy needs no metadata call of its own.
        """
        refs = sorted({s.ref for _, s in live}, key=str)
        tables = fetch_tables(self._get_table, refs, self._bucket)
        now = time.monotonic()
        gone = {ref for ref, t in tables.items() if t is None}
        sigs = {ref: signature(t) for ref, t in tables.items() if t is not None}
        stale, seen = [], set()
        for i, spec in live:
            table = tables.get(spec.ref)
            key = (spec.ref, spec.date_column)
            if table is None or key in seen:  # the schedule may also be listed as a table
                continue
            self._daily[spec.ref] = (now, daily_on(table, spec.date_column))
            sig = sigs[spec.ref]
            if self._recount or sig is None or key not in self._rows or self._sigs.get(key) != sig:
                stale.append((i, spec))
                seen.add(key)
        return stale, gone, sigs

    def recount_next(self) -> None:
        """Query every table at the next poll whatever its metadata says, and list the datasets
        again (the dashboard's `R`, `status --recount`); once, until a poll succeeds."""
        self._recount = True
        self.forget_tables()

    def forget_counts(self) -> None:
        """Count every table again at the next poll (the bench measures full polls this way)."""
        self._rows.clear()
        self._sigs.clear()
        self._flagged.clear()

    # -- SQL --------------------------------------------------------------------------------------
    def plain_query(
        self, live: Sequence[tuple[int, TableSpec]], start: dt.date, end: dt.date
    ) -> tuple[str, list[Any]]:
        """The UNION ALL coverage query over `(tag, spec)` pairs and its parameters."""
        return plain_query(self.project, live, start, end)

    def partitions_query(
        self, live: Sequence[tuple[int, TableSpec]], start: dt.date, end: dt.date
    ) -> tuple[str, list[Any], dict[tuple[int, str], list[int]]]:
        """One job: PARTITIONS per dataset for daily-partitioned tables, plain parts for the rest
        (`bq_sql.partitions_query`)."""
        return partitions_query(self.project, live, start, end, self._is_daily_partitioned)

    # -- jobs -------------------------------------------------------------------------------------
    def _job_config(self, params: list[Any], dry_run: bool = False) -> bigquery.QueryJobConfig:
        return bigquery.QueryJobConfig(
            query_parameters=params,
            maximum_bytes_billed=int(self.settings.max_bytes_billed),
            use_legacy_sql=False,
            dry_run=dry_run,
            use_query_cache=not dry_run,
            labels={"app": "nba-tui"},
        )

    def _deadline(self) -> float:
        """When the query jobs of a poll starting now must have answered (`time.monotonic()`)."""
        return time.monotonic() + float(self.settings.timeout)

    def run(
        self, sql: str, params: list[Any], what: str, deadline: float | None = None
    ) -> tuple[list[tuple], int | None]:
        """Run one query job with the cost cap, timeouts and retry deadlines; rows and bytes.

        `deadline` (`time.monotonic()`, default: `timeout` from now) bounds the whole job: the
        `jobs.insert` request may use all that is left of it (a server may answer only once the
        query has run), and so may the wait for the results."""
        if deadline is None:
            deadline = self._deadline()
        try:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no time left for the {what}")
            job = self.client.query(
                sql,
                job_config=self._job_config(params),
                location=self.settings.location,
                retry=self.retry.with_deadline(left),
                timeout=left,
                # Not the client's job retry: its jobs.insert wrapper retries rateLimitExceeded
                # for 10 minutes whatever deadline is given. A failed job fails this poll; the
                # monitor's next poll is the job retry, with back-off.
                job_retry=None,
            )
            self.last_job_ids.append(job.job_id)
            left = max(0.001, deadline - time.monotonic())
            result = job.result(timeout=left, retry=self.retry.with_deadline(left), job_retry=None)
            rows = [tuple(r.values()) for r in result]
        except Exception as e:  # noqa: BLE001 - translated for the user
            raise self._error(e, what) from e
        self._stats.append((job.total_bytes_processed, job.total_bytes_billed))
        return rows, job.total_bytes_processed

    def _error(self, exc: BaseException, what: str) -> WarehouseError:
        return translate(exc, project=self.project, timeout=float(self.settings.timeout), what=what)

    # -- the protocol -----------------------------------------------------------------------------
    @staticmethod
    def check_specs(specs: Sequence[TableSpec]) -> None:
        """Re-validate every name before any request (a `TableRef` built without `parse()` is
        not checked; this backend never trusts that it was)."""
        try:
            for spec in specs:
                check_name(spec.ref.dataset, "dataset")
                check_name(spec.ref.table, "table")
                check_name(spec.date_column, "column")
                if spec.degraded_column is not None:
                    check_name(spec.degraded_column, "column")
        except IdentifierError as e:
            raise WarehouseError(str(e), hint="fix the name in the config") from None

    def counts(
        self, expected: TableSpec, tables: Sequence[TableSpec], start: dt.date, end: dt.date
    ) -> Counts:
        """Every table's rows per date; only tables whose metadata changed are queried.

        The metadata (`tables.get`) is free; unchanged tables keep their last counts (the same
        dict objects), so a quiet poll runs no query job and bills nothing.
        """
        t0 = time.perf_counter()
        self.last_job_ids, self._stats = [], []
        specs = [expected, *tables]
        self.check_specs(specs)
        if self._range != (start, end):
            self.forget_counts()
            self._range = (start, end)
        for attempt in (1, 2):
            present = self.existing([s.ref for s in specs])
            if expected.ref not in present:
                raise self._no_schedule(expected)
            live = [(i, s) for i, s in enumerate(specs) if s.ref in present]
            try:
                stale, gone, sigs = self.changed(live)
                if expected.ref in gone:
                    raise self._no_schedule(expected)
                present -= gone
                raw, queries = [], 0
                if stale:
                    raw, queries = self._coverage_all(stale, start, end)
                break
            except WarehouseError as e:
                # A table dropped since the cached listing fails the whole job: relist once.
                if attempt == 2 or "not found" not in str(e) or isinstance(e, Unreachable):
                    raise
                self.forget_tables()
        self._remember(specs, stale, raw, sigs)
        self._recount = False
        return Counts(
            expected=sorted(self._rows[(expected.ref, expected.date_column)]),
            expected_rows=self._rows[(expected.ref, expected.date_column)],
            rows={s.name: self._rows[(s.ref, s.date_column)] for s in tables if s.ref in present},
            degraded={
                s.name: self._flagged.get((s.ref, s.date_column), {})
                for s in tables
                if s.degraded_column and s.ref in present
            },
            missing_tables=[s.name for s in tables if s.ref not in present],
            queries=queries,
            bytes_processed=total_bytes(p for p, _ in self._stats),
            bytes_billed=total_bytes(b for _, b in self._stats),
            elapsed=time.perf_counter() - t0,
        )

    def _no_schedule(self, expected: TableSpec) -> WarehouseError:
        return WarehouseError(
            f"schedule table {self.project}.{expected.ref} not found",
            hint="fix expected_dates.table, warehouse.bigquery.project or the location",
        )

    def _remember(
        self,
        specs: Sequence[TableSpec],
        stale: Sequence[tuple[int, TableSpec]],
        raw: Sequence[tuple[int, dt.date, int, int | None]],
        sigs: dict[TableRef, Signature | None],
    ) -> None:
        """Store the recounted tables' rows and flagged rows (new dicts) with the signatures read
        before the query: a write that landed in between moves the signature again, so it is
        never missed."""
        fresh: dict[tuple[TableRef, str], dict[dt.date, int]] = {
            (s.ref, s.date_column): {} for _, s in stale
        }
        flagged: dict[tuple[TableRef, str], dict[dt.date, int]] = {
            (s.ref, s.date_column): {} for _, s in stale if s.degraded_column
        }
        for t, day, n, g in raw:
            key = (specs[t].ref, specs[t].date_column)
            fresh[key][day] = fresh[key].get(day, 0) + int(n)
            if g is not None and key in flagged:
                flagged[key][day] = flagged[key].get(day, 0) + int(g)
        for _, spec in stale:
            key = (spec.ref, spec.date_column)
            self._rows[key] = fresh[key]
            if key in flagged:
                self._flagged[key] = flagged[key]
            sig = sigs.get(spec.ref)
            if sig is None:
                self._sigs.pop(key, None)
            else:
                self._sigs[key] = sig

    def _coverage_all(
        self, live: Sequence[tuple[int, TableSpec]], start: dt.date, end: dt.date
    ) -> tuple[list[tuple[int, dt.date, int, int | None]], int]:
        """`_coverage` of every group of `bq_sql.split` (one group, so one job, unless the poll
        would exceed BigQuery's limits per query), within one deadline; rows and jobs run."""
        deadline = self._deadline()  # one budget for every job of the poll
        self.note = None
        rows: list[tuple[int, dt.date, int, int | None]] = []
        jobs = 0
        for group in split(self.project, live):
            more, _, n = self._coverage(group, start, end, deadline)
            rows += more
            jobs += n
        return rows, jobs

    def _use_partitions(self) -> bool:
        """The configured strategy is `partitions` and it has not failed within the hour."""
        if self.settings.strategy != "partitions":
            return False
        return time.monotonic() >= self._partitions_off_until

    def _coverage(
        self,
        live: Sequence[tuple[int, TableSpec]],
        start: dt.date,
        end: dt.date,
        deadline: float,
    ) -> tuple[list[tuple[int, dt.date, int, int | None]], int | None, int]:
        """`(tag, date, rows, flagged rows or None)` for the live specs, bytes processed, and
        jobs run."""
        what = f"coverage query over {len(live)} tables"
        use_partitions = self._use_partitions()
        if not use_partitions:
            sql, params = self.plain_query(live, start, end)
            rows, nbytes = self.run(sql, params, what, deadline)
            return quads(rows), nbytes, 1
        sql, params, routes = self.partitions_query(live, start, end)
        try:
            rows, nbytes = self.run(
                sql, params, what + " (INFORMATION_SCHEMA.PARTITIONS)", deadline
            )
        except (RateLimited, QuotaExceeded, Unreachable, CredentialsError):
            raise
        except WarehouseError as e:
            self._partitions_off_until = time.monotonic() + PARTITIONS_RETRY_AFTER
            self.note = f"INFORMATION_SCHEMA.PARTITIONS unavailable ({e}); using the plain query"
            sql, params = self.plain_query(live, start, end)
            rows, nbytes = self.run(sql, params, what, deadline)
            return quads(rows), nbytes, 2
        out: list[tuple[int, dt.date, int, int | None]] = []
        recount: set[int] = set()
        for t, tn, d, n, g in rows:
            tags = routes.get((int(t), tn), []) if t < 0 else [int(t)]
            if t < 0 and d is None:
                recount.update(tags)
                continue
            out.extend((tag, d, int(n), None if g is None else int(g)) for tag in tags)
        if not recount:
            return out, nbytes, 1
        # Rows still in the streaming buffer have no partition yet: count those tables directly.
        out = [row for row in out if row[0] not in recount]
        again = [(i, s) for i, s in live if i in recount]
        sql, params = self.plain_query(again, start, end)
        rows2, nbytes2 = self.run(sql, params, what + " (streaming buffer)", deadline)
        out += quads(rows2)
        total = None if nbytes is None and nbytes2 is None else (nbytes or 0) + (nbytes2 or 0)
        return out, total, 2

    def estimate_bytes(
        self, expected: TableSpec, tables: Sequence[TableSpec], start: dt.date, end: dt.date
    ) -> int:
        """Bytes one full poll would process (`estimate`)."""
        return self.estimate(expected, tables, start, end).nbytes

    def estimate(
        self, expected: TableSpec, tables: Sequence[TableSpec], start: dt.date, end: dt.date
    ) -> Estimate:
        """What one full poll would process and reference, from free dry runs of the queries
        the strategy in use runs (the partitions query while it works, else the plain one),
        over the tables that exist."""
        specs = [expected, *tables]
        self.check_specs(specs)
        present = self.existing([s.ref for s in specs])
        live = [(i, s) for i, s in enumerate(specs) if s.ref in present]
        partitions = self._use_partitions()
        nbytes = scanned = views = 0
        for group in split(self.project, live):
            if partitions:
                sql, params, routes = self.partitions_query(group, start, end)
                views += len({tag for tag, _ in routes})
                scanned += len(group) - sum(len(tags) for tags in routes.values())
            else:
                sql, params = self.plain_query(group, start, end)
                scanned += len(group)
            nbytes += self._dry_run(sql, params)
        return Estimate(nbytes, scanned, views, "partitions" if partitions else "query")

    def _dry_run(self, sql: str, params: list[Any]) -> int:
        try:
            job = self.client.query(
                sql,
                job_config=self._job_config(params, dry_run=True),
                location=self.settings.location,
                retry=self.retry,
                timeout=self.request_timeout,
                job_retry=None,
            )
        except Exception as e:  # noqa: BLE001
            raise self._error(e, "dry run of the coverage query") from e
        return int(job.total_bytes_processed or 0)

    def close(self) -> None:
        self.client.close()
