"""Plain-text renderings for the CLI: 80 columns, colour only when asked (terminal, no NO_COLOR).

Every state is also spelled with a symbol (✔ ✘ ⚠), so the output reads the same without colour.
"""

from __future__ import annotations

import datetime as dt
import textwrap

from nba_tui.config import Pipeline
from nba_tui.coverage import Snapshot, TableCoverage
from nba_tui.preflight import PreflightReport, format_command

OK, BAD = "✔", "✘"
_CODES = {"red": "31", "green": "32", "yellow": "33", "bold": "1", "dim": "2", "cyan": "36"}


def _paint(text: str, style: str, color: bool) -> str:
    return f"\033[{_CODES[style]}m{text}\033[0m" if color else text


def pct(share: float) -> str:
    """A share as a percentage that never rounds up to a false 100.0 %."""
    value = share * 100
    if value < 100 and round(value, 1) >= 100:
        return "99.9%"
    return f"{value:.1f}%"


def _date(d: dt.date | None) -> str:
    return d.isoformat() if d else "-"


def status_line(cov: TableCoverage, color: bool) -> str:
    mark = OK if cov.ok else BAD
    share = f"{mark}{pct(cov.share):>6}"
    share = _paint(share, "green" if cov.ok else ("red" if cov.present == 0 else "yellow"), color)
    name = cov.name if len(cov.name) <= 28 else cov.name[:27] + "…"
    dates = f"{cov.present}/{cov.expected}"
    missing = len(cov.missing)
    if not cov.exists:
        dates = "no table"
    return (
        f"  {name:<28} {dates:>9} {share} {pct(cov.threshold):>6} {missing:>5}  "
        f"{_date(cov.last_date)}"
    )


def render_status(pipeline: Pipeline, snap: Snapshot, color: bool = False) -> str:
    exp = snap.expected_dates
    span = f"{_date(exp[0])}..{_date(exp[-1])}" if exp else "no dates"
    backend = pipeline.warehouse.backend
    extra = ""
    if snap.bytes_processed is not None:
        extra = f" · {snap.bytes_processed / 1e6:.1f} MB/poll"
    lines = [
        _paint(f"{pipeline.pipeline}", "bold", color)
        + f" · {len(exp)} game dates {span} · {backend} {snap.elapsed * 1000:.0f} ms{extra}",
        "",
        f"  {'table':<28} {'dates':>9} {'cover':>7} {'need':>6} {'miss':>5}  last",
    ]
    for phase in pipeline.phases:
        covs = [snap.tables[t.name] for t in phase.tables]
        short = sum(1 for c in covs if not c.ok)
        verdict = f"{OK} complete" if not short else f"{BAD} {short} short"
        head = f"{phase.name.upper()}  {phase.description}"[:66]
        lines.append(
            _paint(f"{head:<66}", "bold", color)
            + " "
            + _paint(verdict, "green" if not short else "yellow", color)
        )
        lines.extend(status_line(c, color) for c in covs)
    thin = [(c.name, len(c.thin)) for c in snap.tables.values() if c.thin]
    if thin:
        text = "thin dates (far fewer rows per game than usual): " + ", ".join(
            f"{name} {n}" for name, n in thin
        )
        lines += ["", *textwrap.wrap(text, width=80, subsequent_indent="  ")]
    return "\n".join(lines)


def render_gaps(cov: TableCoverage, color: bool = False, limit: int = 60) -> str:
    lines = [
        f"{cov.name}  ({cov.table})",
        f"{cov.present}/{cov.expected} dates, {pct(cov.share)} (need {pct(cov.threshold)}), "
        f"{len(cov.missing)} missing in {len(cov.missing_runs)} ranges",
    ]
    for run in cov.missing_runs[:limit]:
        lines.append(f"  {run}")
    if len(cov.missing_runs) > limit:
        lines.append(f"  ... {len(cov.missing_runs) - limit} more ranges (use --json for all)")
    if cov.thin:
        lines.append(
            f"thin: {', '.join(d.isoformat() for d in cov.thin[:10])}"
            + (" ..." if len(cov.thin) > 10 else "")
        )
    if cov.bootstrap:
        lines.append(f"bootstrap (not counted): {len(cov.bootstrap)} dates at season starts")
    return "\n".join(lines)


def shell_lines(command: str, first: str, width: int = 80) -> str:
    """Wrap a shell command with backslash continuations, so it still pastes as one command."""
    pad = " " * len(first)
    parts = textwrap.wrap(
        command, width - len(first) - 2, break_long_words=False, break_on_hyphens=False
    )
    return " \\\n".join((first if i == 0 else pad) + p for i, p in enumerate(parts))


def render_preflight(
    report: PreflightReport, color: bool = False, ranges: int = 4, config: str | None = None
) -> str:
    """The report; `config` is added as --config to the suggested commands when not the default."""
    config_arg = f" --config {config}" if config else ""
    n_bad = len(report.failing)
    verdict = (
        _paint(f"{OK} READY", "green", color)
        if report.ready
        else _paint(f"{BAD} NOT READY ({n_bad} of {len(report.checks)} inputs short)", "red", color)
    )
    lines = [f"Preflight {report.phase} over {report.start}..{report.end}: {verdict}"]
    for c in report.checks:
        cov = c.coverage
        mark = OK if c.ok else BAD
        cmp = "≥" if c.ok else "<"
        soft = " (soft)" if c.soft else ""
        line = f"  {mark} {cov.name + soft:<35} {pct(cov.share):>6} {cmp} {pct(cov.threshold)}"
        if not c.ok:
            line += f" {len(cov.missing)} missing, need {cov.needed_for_threshold} more"
        lines.append(_paint(line, "green" if c.ok else "red", color))
        if c.ok:
            continue
        shown = ", ".join(str(r) for r in cov.missing_runs[:ranges])
        more = len(cov.missing_runs) - ranges
        text = f"missing: {shown}" + (f", +{more} more ranges" if more > 0 else "")
        lines += textwrap.wrap(text, 80, initial_indent="      ", subsequent_indent=" " * 15)
        if c.fill_command:
            lines.append(f"      fill:    nba-tui launch {cov.name} --missing{config_arg}")
            lines.append(shell_lines(format_command(c.fill_command), "      i.e.     "))
    if not report.ready:
        lines.append("If run anyway (--skip-preflight):")
        for d in report.degradation():
            lines += textwrap.wrap(d, 80, initial_indent="  - ", subsequent_indent="    ")
    return "\n".join(lines)
