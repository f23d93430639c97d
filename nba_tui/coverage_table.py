"""One table's coverage (`TableCoverage`), below `coverage.py`, which computes it and re-exports
it: its figures, per-date states and JSON form.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from nba_tui.coverage_states import DateRun, DateState


@dataclass
class TableCoverage:
    name: str
    table: str
    phase: str
    threshold: float
    expected: int
    """Expected dates in range, bootstrap dates excluded."""
    present: int
    """Expected (non-bootstrap) dates that have rows."""
    exists: bool
    states: dict[dt.date, DateState]
    rows: dict[dt.date, int]
    first_date: dt.date | None
    last_date: dt.date | None
    median_rows: float
    missing_runs: list[DateRun] = field(default_factory=list)
    degraded_rows: dict[dt.date, int] = field(default_factory=dict)
    """Flagged rows per date (the table's `degraded_column` non-zero); empty without one."""
    _missing_ord: list[int] | None = field(default=None, init=False, repr=False, compare=False)
    _lists: tuple[list, list, list] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    """(missing, thin, bootstrap) dates in `states` order: set by `table_coverage`, which finds
    them anyway, or listed once on first use (`status --json` asks for each at 100 tables)."""
    memo: dict[object, object] = field(default_factory=dict, init=False, repr=False, compare=False)
    """Derived maths cached by pure modules (readiness's blocked spans per look-back): a coverage
    never changes once built, and `CoverageCache` hands the same object back while its table is
    unchanged, so the cache lives as long as it is valid."""

    @property
    def share(self) -> float:
        return self.present / self.expected if self.expected else 1.0

    @property
    def ok(self) -> bool:
        # Compare on counts so 99.8 % of 917 dates is exact, not a float accident.
        return self.present >= self.threshold * self.expected - 1e-9

    def _by_state(self) -> tuple[list[dt.date], list[dt.date], list[dt.date]]:
        if self._lists is None:  # a coverage built by hand, not by table_coverage
            order = (DateState.MISSING, DateState.THIN, DateState.BOOTSTRAP)
            m, t, b = ([d for d, s in self.states.items() if s is x] for x in order)
            self._lists = (m, t, b)
        return self._lists

    @property
    def missing(self) -> list[dt.date]:
        return list(self._by_state()[0])

    def missing_ordinals(self) -> list[int]:
        """Sorted day ordinals of the missing dates, computed once (readiness bisects them; a
        coverage reused by `CoverageCache` keeps them across polls)."""
        if self._missing_ord is None:
            self._missing_ord = sorted(d.toordinal() for d in self._by_state()[0])
        return self._missing_ord

    @property
    def degraded(self) -> list[dt.date]:
        """Expected dates with rows of which some are flagged degraded, sorted."""
        if not self.degraded_rows:
            return []
        has_rows = (DateState.PRESENT, DateState.THIN)
        return sorted(
            d for d, n in self.degraded_rows.items() if n > 0 and self.states.get(d) in has_rows
        )

    @property
    def has_degraded(self) -> bool:
        return bool(self.degraded)

    @property
    def degraded_share(self) -> float:
        """Degraded dates over dates with rows (0.0 when none has rows)."""
        missing, _, boot = self._by_state()
        have = len(self.states) - len(missing) - len(boot)
        return len(self.degraded) / have if have else 0.0

    @property
    def thin(self) -> list[dt.date]:
        return list(self._by_state()[1])

    @property
    def bootstrap(self) -> list[dt.date]:
        return list(self._by_state()[2])

    @property
    def needed_for_threshold(self) -> int:
        """How many more dates must land before the threshold is met."""
        import math

        return max(0, math.ceil(self.threshold * self.expected - 1e-9) - self.present)

    def gap_span(self) -> tuple[dt.date, dt.date] | None:
        """The missing dates as one range, when that range holds no present date.

        A backfill then gets `--start-date/--end-date` instead of a `--dates` list of hundreds of
        dates (bootstrap dates inside the range are skipped by the program anyway)."""
        missing = self.missing
        if not missing:
            return None
        first, last = missing[0], missing[-1]
        for d, state in self.states.items():
            if first <= d <= last and state in (DateState.PRESENT, DateState.THIN):
                return None
        return first, last

    def trend(self, last: int = 8) -> list[int]:
        """Rows per expected date for the last `last` expected dates (0 where missing)."""
        days = sorted(self.states)[-last:]
        return [self.rows.get(d, 0) for d in days]

    def to_json(self) -> dict:
        missing, thin, boot = self._by_state()
        return {
            "name": self.name,
            "table": self.table,
            "phase": self.phase,
            "exists": self.exists,
            "expected": self.expected,
            "present": self.present,
            "share": round(self.share, 6),
            "threshold": self.threshold,
            "ok": self.ok,
            "first_date": self.first_date.isoformat() if self.first_date else None,
            "last_date": self.last_date.isoformat() if self.last_date else None,
            "missing": len(missing),
            "missing_ranges": [
                {"start": r.start.isoformat(), "end": r.end.isoformat(), "dates": r.count}
                for r in self.missing_runs
            ],
            "thin_dates": [d.isoformat() for d in thin],
            "degraded_dates": [d.isoformat() for d in self.degraded],
            "degraded_share": round(self.degraded_share, 6),
            "bootstrap_dates": len(boot),
            "median_rows": self.median_rows,
            "rows_total": sum(self.rows.values()),
        }

    def json_text(self) -> str:
        """`to_json()` as `json.dumps` writes it (what `coverage_store` keeps)."""
        return json.dumps(self.to_json())

    def figures(self) -> dict:
        """What `_Stored` needs besides the text, as plain JSON values."""
        return {
            "expected": self.expected,
            "present": self.present,
            "first_date": self.first_date.isoformat() if self.first_date else None,
            "last_date": self.last_date.isoformat() if self.last_date else None,
            "median_rows": self.median_rows,
            "degraded": self.has_degraded,
        }
