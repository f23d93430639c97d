"""Preflight: may a phase start? Pure, over a coverage `Snapshot`.

The seed's `verify_phase3_for_phase4.py`, generalised: a phase is ready when every table outside the
phase that its tables read is at its `min_coverage` over the date range. The report names each
short table, its coverage, its missing ranges and the command that would fill them, and says what
would be degraded if the phase ran anyway (`--skip-preflight`).
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass, field

from rich.text import Text

from nba_tui import readiness
from nba_tui.backfill_argv import NoBackfill, display, render_argv
from nba_tui.config import Pipeline
from nba_tui.coverage import Snapshot, TableCoverage
from nba_tui.fmt import pct

OK, BAD = "✔", "✘"
#: Missing ranges shown per short input (the full list is in `--json` and `nba-tui gaps`).
FULL_RANGES, COMPACT_RANGES = 4, 2


@dataclass
class InputCheck:
    coverage: TableCoverage
    soft: bool
    """Every reader of this input has a fallback for it (synthetic rows instead of failures)."""
    readers: list[str]
    fill_command: list[str] | None
    necessity: int = 0
    """Of its degraded dates, those on fallbacks by necessity: an input they read lacks a date
    nothing can fill, so no re-run makes them whole."""

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
            "degraded_dates": [d.isoformat() for d in c.degraded],
            "degraded_share": round(c.degraded_share, 6),
            "degraded_by_necessity": self.necessity,
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

    @property
    def degraded(self) -> list[InputCheck]:
        """Inputs with dates whose rows are flagged degraded (built on synthetic fallbacks)."""
        return [c for c in self.checks if c.coverage.degraded]

    def degraded_cost(self) -> list[str]:
        """What degraded input dates cost downstream, one line per degraded input: the phase
        reads them as if they were real (the incident's worry: models trained on synthetic
        context). Shown whether or not the phase is ready."""
        lines = []
        for c in self.degraded:
            cov = c.coverage
            n = len(cov.degraded)
            lines.append(
                f"{cov.name}: {n} date{'s' if n != 1 else ''} ({pct(cov.degraded_share)}) built "
                f"on synthetic fallbacks; {', '.join(c.readers)} would read them as real "
                f"({_remedy(cov.name, n, c.necessity)})"
            )
        return lines

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
            "degraded_inputs": [c.coverage.name for c in self.degraded],
            "degraded_cost": self.degraded_cost(),
        }


def _remedy(table: str, n: int, need: int) -> str:
    """What can be done about `n` degraded dates of which `need` are on fallbacks by necessity."""
    if need >= n:
        return "they run on fallbacks by necessity: an input nothing fills lacks them"
    rerun = f"re-run {table} on them once its inputs are complete"
    if not need:
        return rerun
    return (
        f"{need} on fallbacks by necessity: an input nothing fills lacks them; "
        f"re-run {table} on the other {n - need} once its inputs are complete"
    )


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
        fill = readiness.fillable_missing(pipeline, snap, inp.name) if not cov.ok else []
        if fill:  # only the dates something can fill (the one rule): no launch that does nothing
            try:
                cmd = render_argv(pipeline, inp, dates=fill)
            except NoBackfill:
                cmd = None
        report.checks.append(
            InputCheck(
                coverage=cov,
                soft=not hard_readers,
                readers=hard_readers + soft_readers,
                fill_command=cmd,
                necessity=len(readiness.degraded_split(pipeline, snap, inp.name)[0])
                if cov.degraded
                else 0,
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


def shell_lines(command: str, first: str, width: int = 80) -> str:
    """Wrap a shell command with backslash continuations, so it still pastes as one command."""
    pad = " " * len(first)
    parts = textwrap.wrap(
        command, width - len(first) - 2, break_long_words=False, break_on_hyphens=False
    )
    return " \\\n".join((first if i == 0 else pad) + p for i, p in enumerate(parts))


def render(report: PreflightReport, *, compact: bool = False, config: str | None = None) -> Text:
    """The one rendering of a preflight report, for the CLI and the dashboard's modal.

    Every state is also spelled with a symbol (✔ ✘), so it reads the same without colour.
    Full (`nba-tui preflight`): 80 columns, the exact fill command (`config` is added as
    --config when not the default). Compact (the modal, a 78-column box): the fix is a key or
    the short command, never absolute paths, so it fits 80x24 and reads the same everywhere."""
    body = Text()
    body.append("" if compact else "Preflight ")
    body.append(f"{report.phase} over {report.start}..{report.end}: ")
    n_bad = len(report.failing)
    verdict = (
        f"{OK} READY"
        if report.ready
        else f"{BAD} NOT READY ({n_bad} of {len(report.checks)} inputs short)"
    )
    tone = "green" if report.ready else "red"
    body.append(verdict, f"bold {tone}" if compact else tone)
    for c in report.checks:
        body.append("\n")
        body.append_text(_check_line(c, compact))
        if not c.ok:
            body.append_text(_compact_detail(c) if compact else _full_detail(c, config))
    if not report.ready:
        body.append("\nIf run anyway (--skip-preflight):", "bold" if compact else "")
        for d in report.degradation():
            lines = (
                [f"  - {d}"]
                if compact
                else textwrap.wrap(d, 80, initial_indent="  - ", subsequent_indent="    ")
            )
            body.append("".join(f"\n{line}" for line in lines))
    _append_degraded(body, report, compact)
    return body


def _append_degraded(body: Text, report: PreflightReport, compact: bool) -> None:
    """Inputs with degraded dates, and what they cost downstream."""
    cost = report.degraded_cost()
    if not cost:
        return
    body.append("\nDegraded inputs (rows on synthetic fallbacks):", "bold" if compact else "")
    for d in cost:
        lines = (
            [f"  ~ {d}"]
            if compact
            else textwrap.wrap(d, 80, initial_indent="  ~ ", subsequent_indent="    ")
        )
        body.append("".join(f"\n{line}" for line in lines), "magenta")


def _check_line(c: InputCheck, compact: bool) -> Text:
    """`✘ name (soft)   91.5% < 100.0% ...`: one line per input, green or red."""
    cov = c.coverage
    name = cov.name + (" (soft)" if c.soft else "")
    if compact and len(name) > 35:
        name = name[:34] + "…"
    cmp = "≥" if c.ok else "<"
    line = f"{OK if c.ok else BAD} {name:<35} {pct(cov.share):>6} {cmp} {pct(cov.threshold)}"
    if not c.ok:
        need = f"need {cov.needed_for_threshold} more"
        line += f"  {need}" if compact else f" {len(cov.missing)} missing, {need}"
    return Text(line if compact else f"  {line}", "green" if c.ok else "red")


def _full_detail(c: InputCheck, config: str | None) -> Text:
    """The missing ranges, then the command that fills them, as the CLI prints it."""
    cov = c.coverage
    shown = ", ".join(str(r) for r in cov.missing_runs[:FULL_RANGES])
    more = len(cov.missing_runs) - FULL_RANGES
    text = f"missing: {shown}" + (f", +{more} more ranges" if more > 0 else "")
    lines = textwrap.wrap(text, 80, initial_indent="      ", subsequent_indent=" " * 15)
    if c.fill_command:
        fill = ["nba-tui", "launch", cov.name, "--missing"] + (
            ["--config", config] if config else []
        )
        lines.append(shell_lines(display(fill), "      fill:    "))
        lines.append(shell_lines(format_command(c.fill_command), "      i.e.     "))
    return Text("".join(f"\n{line}" for line in lines))


def _compact_detail(c: InputCheck) -> Text:
    """The missing count and the first ranges; the fix is `m` on the table in the dashboard."""
    cov = c.coverage
    runs = ", ".join(str(r) for r in cov.missing_runs[:COMPACT_RANGES])
    more = len(cov.missing_runs) - COMPACT_RANGES
    text = f"\n    {len(cov.missing)} missing: {runs}" + (f" +{more}" if more > 0 else "")
    if c.fill_command:
        text += f"\n    fill: m on it, or nba-tui launch {cov.name} --missing"
    return Text(text)
