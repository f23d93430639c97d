"""The CLI's renderings of coverage (`nba-tui status`, `nba-tui gaps`): 80 columns, Rich Text.

Styles say the verdict in colour where the terminal allows it (`cli.common.show` drops them when
piped or with NO_COLOR); every state is also spelled with a symbol (✔ ✘), so the output reads the
same without colour. The preflight report's rendering is `nba_tui.preflight.render`.
"""

from __future__ import annotations

import datetime as dt
import textwrap

from rich.text import Text

from nba_tui.config import Pipeline
from nba_tui.coverage import Snapshot, TableCoverage
from nba_tui.fmt import pct, plural, printable
from nba_tui.preflight import BAD, OK
from nba_tui.readiness import degraded_counts, degraded_words

#: Width of the status table's name column (longer names end in "…").
NAME_WIDTH = 28


def _date(d: dt.date | None) -> str:
    return d.isoformat() if d else "-"


def status_line(cov: TableCoverage) -> Text:
    """`  name  present/expected  ✘ 91.5%  need  miss  last  [degraded share]`, the share
    coloured by verdict; the degraded share (dates whose rows are flagged synthetic) only where
    it is not zero, so the line stays within 80 columns."""
    tone = "green" if cov.ok else ("red" if cov.present == 0 else "yellow")
    name = cov.name if len(cov.name) <= NAME_WIDTH else cov.name[: NAME_WIDTH - 1] + "…"
    dates = f"{cov.present}/{cov.expected}" if cov.exists else "no table"
    line = Text(f"  {name:<{NAME_WIDTH}} {dates:>9} ")
    line.append(f"{OK if cov.ok else BAD}{pct(cov.share):>6}", tone)
    last = _date(cov.last_date)
    line.append(f" {pct(cov.threshold):>6} {len(cov.missing):>5}  {last}")
    if cov.degraded:
        line.append(f"{'':<{10 - len(last)}} {pct(cov.degraded_share):>6}", "magenta")
    return line


def render_status(pipeline: Pipeline, snap: Snapshot) -> Text:
    """Every table by phase, each phase headed by its verdict; thin dates listed at the end."""
    exp = snap.expected_dates
    span = f"{_date(exp[0])}..{_date(exp[-1])}" if exp else "no dates"
    extra = ""
    if snap.bytes_processed is not None:
        extra = f" · {snap.bytes_processed / 1e6:.1f} MB/poll"
    out = Text()
    out.append(printable(pipeline.pipeline), "bold")  # validated at load; never obeyed anyway
    out.append(
        f" · {len(exp)} game dates {span} · {pipeline.warehouse.backend} "
        f"{snap.elapsed * 1000:.0f} ms{extra}\n\n"
    )
    header = f"  {'table':<{NAME_WIDTH}} {'dates':>9} {'cover':>7} {'need':>6} {'miss':>5}  last"
    if any(c.degraded for c in snap.tables.values()):
        header += f"{'':<7}{'degr.':>6}"
    out.append(header)
    for phase in pipeline.phases:
        covs = [snap.tables[t.name] for t in phase.tables]
        short = sum(1 for c in covs if not c.ok)
        head = printable(f"{phase.name.upper()}  {phase.description}")[:66]
        out.append("\n")
        out.append(f"{head:<66}", "bold")
        out.append(" ")
        out.append(
            f"{OK} complete" if not short else f"{BAD} {short} short",
            "green" if not short else "yellow",
        )
        for c in covs:
            out.append("\n")
            out.append_text(status_line(c))
    thin = [(c.name, len(c.thin)) for c in snap.tables.values() if c.thin]
    if thin:
        text = "thin dates (far fewer rows per game than usual): " + ", ".join(
            f"{name} {n}" for name, n in thin
        )
        out.append("\n\n" + "\n".join(textwrap.wrap(text, width=80, subsequent_indent="  ")))
    kinds = degraded_counts(pipeline, snap)
    if kinds:
        text = "degraded dates (rows flagged synthetic; degr. = share of dates with rows): " + (
            ", ".join(f"{name} {sum(k)} ({degraded_words(*k)})" for name, k in kinds.items())
        )
        out.append("\n\n" + "\n".join(textwrap.wrap(text, width=80, subsequent_indent="  ")))
    return out


def render_gaps(cov: TableCoverage, limit: int = 60) -> Text:
    """A table's missing dates as ranges (the first `limit`; --json lists them all)."""
    lines = [
        f"{cov.name}  ({cov.table})",
        f"{cov.present}/{cov.expected} dates, {pct(cov.share)} (need {pct(cov.threshold)}), "
        f"{len(cov.missing)} missing in {plural(len(cov.missing_runs), 'range')}",
    ]
    lines += [f"  {run}" for run in cov.missing_runs[:limit]]
    if len(cov.missing_runs) > limit:
        lines.append(f"  ... {len(cov.missing_runs) - limit} more ranges (use --json for all)")
    if cov.thin:
        lines.append(
            f"thin: {', '.join(d.isoformat() for d in cov.thin[:10])}"
            + (" ..." if len(cov.thin) > 10 else "")
        )
    if cov.bootstrap:
        lines.append(f"bootstrap (not counted): {len(cov.bootstrap)} dates at season starts")
    if cov.degraded:
        shown = ", ".join(d.isoformat() for d in cov.degraded[:5])
        more = " ..." if len(cov.degraded) > 5 else ""
        lines.append(
            f"degraded (rows on synthetic fallbacks): {len(cov.degraded)} dates, "
            f"{pct(cov.degraded_share)}"
        )
        lines.append(f"  {shown}{more}")
    return Text("\n".join(lines))
