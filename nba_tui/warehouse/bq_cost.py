"""What BigQuery polls cost, in one line for `status` and the dashboard (no Google imports: the
monitor and the CLI format costs without loading the client).

On-demand billing charges at least 10 MiB per table a query references, and `INFORMATION_SCHEMA`
queries at least 10 MB each; metadata calls (`tables.list`, `tables.get`) and dry runs are free.
Polls only query tables whose metadata changed (`bq_meta`), so the night figure of
`describe_cost` is a ceiling: the cost if every table changed before every poll.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

#: BigQuery's on-demand minimum billed per table referenced by a query.
MIN_BILLED_PER_TABLE = 10 * 1024 * 1024
#: On-demand list price per TiB (USD), only for the rough figure in `describe_cost`.
PRICE_PER_TIB = 6.25
#: Hours of the night `describe_cost` multiplies by (the seed's overnight backfills run 8-10 h).
NIGHT_HOURS = 8


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class Estimate(NamedTuple):
    """What one full poll would reference and process, from dry runs of the queries the
    configured strategy runs."""

    nbytes: int
    tables: int
    """Tables the poll's queries scan (existing ones only: a missing table is not queried)."""
    views: int = 0
    """`INFORMATION_SCHEMA.PARTITIONS` views read (`strategy: partitions`, one per dataset)."""
    strategy: str = "query"


def describe_cost(bytes_per_poll: int, interval_s: float, tables: int = 0, views: int = 0) -> str:
    """One line for `status`: bytes per poll and per night at the poll interval.

    `tables` (scanned) and `views` (`INFORMATION_SCHEMA` views read) add BigQuery's on-demand
    minimum of 10 MiB billed per table or view a query references.
    """
    polls = int(NIGHT_HOURS * 3600 / max(interval_s, 0.5))
    billed = max(bytes_per_poll, MIN_BILLED_PER_TABLE * (tables + views))
    night = billed * polls
    dollars = night / 1024**4 * PRICE_PER_TIB
    text = f"{format_bytes(bytes_per_poll)} processed per poll"
    if billed != bytes_per_poll:
        refs = f"{tables} tables + {views} metadata views" if views else f"{tables} tables"
        text += f" ({format_bytes(billed)} billed: 10 MiB minimum per table, {refs})"
    text += (
        f", at most {format_bytes(night)} per {NIGHT_HOURS} h night at one poll every"
        f" {interval_s:g}s (~${dollars:.2f} on demand; polls bill only when a table changed)"
    )
    return text


def total_bytes(values: Iterable[int | None]) -> int | None:
    """Sum of the jobs' figures: 0 when no job ran, None when jobs ran but none reported one
    (the emulator reports no `totalBytesBilled`): unknown is not free."""
    seen = list(values)
    known = [v for v in seen if v is not None]
    if seen and not known:
        return None
    return sum(known)
