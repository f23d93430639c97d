"""Preflight: may a phase start? Pure, over a coverage `Snapshot`.

The seed's `verify_phase3_for_phase4.py`, generalised: a phase is ready when every table outside the
phase that its tables read is at its `min_coverage` over the date range. The report names each
short table, its coverage, its missing ranges and the command that would fill them, and says what
would be degraded if the phase ran anyway (`--skip-preflight`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from nba_tui.commands import NoBackfill, display, render_argv
from nba_tui.config import Pipeline
from nba_tui.coverage import Snapshot, TableCoverage


@dataclass
class InputCheck:
    coverage: TableCoverage
    soft: bool
    """Every reader of this input has a fallback for it (synthetic rows instead of failures)."""
    readers: list[str]
    fill_command: list[str] | None

    @property
    def ok(self) -> bool:
        return self.coverage.ok

    def to_json(self) -> dict:
        c = self.coverage
        return {
            "table": c.name,
            "ok": c.ok,
            "soft": self.soft,
            "present": c.present,
            "expected": c.expected,
            "share": round(c.share, 6),
            "threshold": c.threshold,
            "missing": len(c.missing),
            "needed_for_threshold": c.needed_for_threshold,
            "missing_ranges": [
                {"start": r.start.isoformat(), "end": r.end.isoformat(), "dates": r.count}
                for r in c.missing_runs
            ],
            "readers": self.readers,
            "fill_command": self.fill_command,
        }


@dataclass
class PreflightReport:
    phase: str
    start: dt.date
    end: dt.date
    checks: list[InputCheck] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failing(self) -> list[InputCheck]:
        return [c for c in self.checks if not c.ok]

    def degradation(self) -> list[str]:
        """What running anyway would cost, one line per short input (the --skip-preflight trade)."""
        lines = []
        for c in self.failing:
            cov = c.coverage
            miss = len(cov.missing)
            readers = ", ".join(c.readers)
            if c.soft:
                lines.append(
                    f"{cov.name} at {cov.share:.1%}: {readers} fall back to synthetic context "
                    f"on {miss} dates (degraded features)"
                )
            else:
                lines.append(
                    f"{cov.name} at {cov.share:.1%}: {readers} will fail on {miss} dates "
                    "and must be re-run for them later"
                )
        return lines

    def to_json(self) -> dict:
        return {
            "phase": self.phase,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "ready": self.ready,
            "inputs": [c.to_json() for c in self.checks],
            "failing": [c.coverage.name for c in self.failing],
            "degradation": self.degradation(),
        }


def check(pipeline: Pipeline, snap: Snapshot, phase: str) -> PreflightReport:
    """Readiness of `phase` given a snapshot (already narrowed to the wanted date range)."""
    ph = pipeline.phase(phase)
    start = snap.expected_dates[0] if snap.expected_dates else pipeline.range.start
    end = snap.expected_dates[-1] if snap.expected_dates else pipeline.range.end
    report = PreflightReport(phase=phase, start=start, end=end)
    for inp in pipeline.phase_inputs(phase):
        hard_readers = [t.name for t in ph.tables if inp.name in t.depends_on]
        soft_readers = [t.name for t in ph.tables if inp.name in t.soft_depends_on]
        cov = snap.tables[inp.name]
        cmd: list[str] | None = None
        if not cov.ok and cov.missing:
            try:
                cmd = render_argv(pipeline, inp, dates=cov.missing)
            except NoBackfill:
                cmd = None
        report.checks.append(
            InputCheck(
                coverage=cov,
                soft=not hard_readers,
                readers=hard_readers + soft_readers,
                fill_command=cmd,
            )
        )
    return report


def format_command(argv: list[str], limit: int = 3) -> str:
    """Shorten a long --dates list for display (the JSON output carries the full list)."""
    shown = []
    for a in argv:
        parts = a.split(",")
        if len(parts) > limit:
            a = ",".join(parts[:limit]) + f",...(+{len(parts) - limit})"
        shown.append(a)
    return display(shown)
