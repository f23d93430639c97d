"""The morning report: what a night's backfill did, and the one command to run next.

An engineer who left `nba-tui run phase4 phase5` running wants, the next morning, in one screen:
per table how many dates were present before and after, what was filled, which jobs and shards
ran (durations, exit codes), what failed and why (a few sanitised log lines), which dates were
quarantined and which downstream dates were skipped because of them, what was computed on
fallbacks (degraded), and *one* command to run next. `nba-tui report` prints `render_report`;
the dashboard's screen renders the same `MorningReport`; `--json` is `to_json()`.

Everything comes from what was recorded (plans, job records, events, logs: read through the
Supervisor, bounded) plus one coverage snapshot for "now". Plain Python: no Rich, no Textual.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shlex
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nba_tui import readiness
from nba_tui.fmt import clock, cut, fit, packed, pct, printable
from nba_tui.jobs import plan_text
from nba_tui.jobs.facts import run_seconds, span
from nba_tui.jobs.plans import restarts_note
from nba_tui.jobs.words import dates_now_text, log_says, recovered_text, state_text, state_word
from nba_tui.logtail import error_lines, summary_line
from nba_tui.night import TableLine, dates_now, recovered_by, restarts, still_wanted, table_lines

if TYPE_CHECKING:
    from nba_tui.config import Pipeline
    from nba_tui.coverage import Snapshot
    from nba_tui.jobs.model import JobView, Plan

WIDTH = 80
"""The width the report is laid out for; `render_report(width=None)` (piped) cuts nothing."""
TAIL_LINES = 4
"""Last log lines shown per failure (the whole log is one `nba-tui logs`/`less` away)."""
ERROR_LINES = 4
"""Error lines shown per failure (`FAILED …`, an exception's last line): the first ones."""
TAIL_BYTES = 256_000
"""How much of a failed job's log end is searched for its error lines."""
MAX_SHARDS_SHOWN = 30
MAX_FAILURES_SHOWN = 8
"""Jobs and failures listed on a terminal (the newest); piped (`width=None`), every one."""
SEE_ALL = "nba-tui report | less"  # piped, nothing is cut
MAX_LAUNCH_DATES = 20
"""The next command names at most this many dates (a longer list: `--missing`)."""
ENDED_BAD = ("failed", "killed", "lost")
"""Words (`jobs.words.state_word`) of jobs that ended without doing their dates."""


@dataclass
class ShardLine:
    job: str
    table: str
    first: str | None
    last: str | None
    dates: int | None
    attempt: int
    state: str
    """The job's word (`jobs.words.state_word`): done, failed, killed, stopped, lost, ..."""
    exit_code: int | None
    duration: float | None
    plan: str | None
    state_text: str = ""
    """The word with its exit code or signal: 'failed (exit 1)', 'killed (SIGKILL)'."""


@dataclass
class Failure:
    job: str
    table: str
    span: str
    exit_code: int | None
    attempt: int
    tail: list[str]
    message: str | None = None
    state: str = "failed"
    """As `jobs` words it: 'failed (exit 1)', 'killed (SIGKILL)', 'lost'."""
    errors: list[str] = field(default_factory=list)
    """The log's error lines (`logtail.error_lines`): what went wrong, not just how it ended."""
    more_errors: int = 0
    log: str = ""
    restarted: str | None = None
    """'job 3f2a1c: done' when the job was restarted (its last restart and how it stands)."""
    recovered: str | None = None
    """'recovered: its dates re-run by a73a80 (done)' (`words.recovered_text`): later jobs did
    its dates and none is missing now; listed apart, not among the failures that need action."""
    log_says: str | None = None
    """A lost job (no exit status): its log's error or summary line (`logtail.summary_line`)."""
    dates_now: str | None = None
    """A lost job: whether its dates are present now ('its 59 dates are all present now')."""
    missing_now: int | None = None
    """How many of its expected dates the warehouse is missing now (None: no such dates)."""


@dataclass
class MorningReport:
    pipeline: str
    since: float
    until: float
    plans: list[dict[str, Any]] = field(default_factory=list)
    damaged_plans: list[dict[str, str]] = field(default_factory=list)
    """Plan files that cannot be read: id, path, reason (kept and listed, never dropped)."""
    tables: list[TableLine] = field(default_factory=list)
    shards: list[ShardLine] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    quarantined: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    degraded_run: dict[str, list[str]] = field(default_factory=dict)
    """Dates run on soft-input fallbacks because of --skip-preflight (Plan.degraded)."""
    necessity_run: dict[str, list[str]] = field(default_factory=dict)
    """Dates run on fallbacks by necessity: a soft input nothing can fill (Plan.necessity)."""
    degraded_dates: dict[str, list[str]] = field(default_factory=dict)
    """Dates whose rows are flagged degraded in the warehouse now (coverage)."""
    degraded_by_necessity: dict[str, int] = field(default_factory=dict)
    """Of `degraded_dates`, per table, how many are degraded by necessity (the rest by choice)."""
    events: dict[str, int] = field(default_factory=dict)
    """Events in the window, counted by kind."""
    next_command: str = "nba-tui status"
    next_reason: str = ""

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for t, line in zip(data["tables"], self.tables, strict=True):
            t["filled"] = line.filled
        return data


# -- building --------------------------------------------------------------------------------


def build_report(
    pipeline: Pipeline, supervisor: Any, snapshot: Snapshot, since: float
) -> MorningReport:
    """The report of everything recorded at or after `since` (epoch seconds), with `snapshot`
    as the state of the warehouse now. `supervisor` is a `jobs.supervisor.Supervisor`."""
    now = time.time()
    plans = [p for p in supervisor.plans() if _in_window(p.created_at, p.ended_at, since)]
    plans.sort(key=lambda p: p.created_at)
    views = [
        v for v in supervisor.jobs() if _in_window(v.record.created_at, v.record.ended_at, since)
    ]
    views.sort(key=lambda v: v.record.started_at or v.record.created_at)
    rep = MorningReport(pipeline.pipeline, since, now)
    rep.plans = [_plan_json(p) for p in plans]
    rep.damaged_plans = [
        {"id": d.id, "path": str(d.path), "reason": d.reason} for d in supervisor.damaged_plans()
    ]
    rep.tables = table_lines(pipeline, snapshot, plans, views)
    expected = set(snapshot.expected_dates) or None
    rep.shards = [_shard(v, now, expected) for v in views]
    bad = [v for v in views if state_word(v.record) in ENDED_BAD]
    rep.failures = [_failure(supervisor, v, snapshot) for v in bad]
    restarted = restarts(views)
    for f, v in zip(rep.failures, bad, strict=True):
        f.restarted = restarted.get(f.job)
        if by := recovered_by(v.record, views, snapshot):
            f.recovered = recovered_text(by)
    for p in plans:
        _merge(rep.quarantined, p.quarantined)
        _merge(rep.skipped, p.skipped_dates)
        _merge(rep.degraded_run, p.degraded)
        _merge(rep.necessity_run, p.necessity)
    rep.degraded_dates = {
        c.name: [d.isoformat() for d in c.degraded] for c in snapshot.tables.values() if c.degraded
    }
    kinds = readiness.degraded_counts(pipeline, snapshot)
    rep.degraded_by_necessity = {t: need for t, (need, _) in kinds.items()}
    for e in supervisor.events(since=since):
        rep.events[e.kind] = rep.events.get(e.kind, 0) + 1
    rep.next_command, rep.next_reason = next_step(pipeline, snapshot, rep, plans)
    return rep


def _in_window(created: float, ended: float | None, since: float) -> bool:
    """Started in the window, or still running / ended in it."""
    return created >= since or ended is None or ended >= since


def _merge(into: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for table, dates in more.items():
        into[table] = sorted(set(into.get(table, [])) | set(dates))


def _plan_json(p: Plan) -> dict[str, Any]:
    took = (p.ended_at or time.time()) - p.created_at
    return {
        "id": p.id,
        "state": "paused" if p.paused and p.state == "running" else str(p.state),
        "phases": list(p.phases),
        "created_at": p.created_at,
        "ended_at": p.ended_at,
        "duration": took,
        "message": p.message,
        "failed_tables": list(p.failed_tables),
        "restarts": list(p.restarts),
        **plan_text.forecast_json(p),
        "short": dict(p.short),
    }


def _shard(v: JobView, now: float, expected: set[dt.date] | None = None) -> ShardLine:
    """One row of the jobs table; a range's count is its `expected` (game) dates."""
    r = v.record
    first, last, n = span(r, expected)
    return ShardLine(
        r.id,
        r.table,
        first,
        last,
        n,
        r.attempt,
        state_word(r),
        r.exit_code,
        run_seconds(r, now),
        r.plan,
        state_text(r),
    )


def _failure(supervisor: Any, v: JobView, snapshot: Snapshot) -> Failure:
    """A failed, killed or lost job: the error lines of its log's end (`FAILED …`, an
    exception's last line) and its last few lines, made harmless to print; a lost job (its
    exit status unknown) also what its log says last and whether its dates are present now."""
    r = v.record
    try:
        lines = supervisor.tail(r.id, max_bytes=TAIL_BYTES)
    except Exception:  # a log that cannot be read is one line of the report, never its end
        lines = ["(log not readable)"]
    lines = [printable(line) for line in lines if line.strip()]
    errors, more = error_lines(lines, ERROR_LINES)
    tail = [line for line in lines if line.strip() not in errors][-TAIL_LINES:]
    first, last, _ = span(r)
    dates = first if first == last else f"{first}..{last}"
    said = now = None
    counts = dates_now(r, snapshot)
    if counts is not None and not counts[0]:
        counts = None
    if state_word(r) == "lost":
        said = summary_line(lines)
        now = dates_now_text(*counts) if counts else None
    return Failure(
        r.id,
        r.table,
        str(dates),
        r.exit_code,
        r.attempt,
        tail,
        r.message,
        state=state_text(r),
        errors=errors,
        more_errors=more,
        log=r.log,
        log_says=log_says(said) if said else None,
        dates_now=now,
        missing_now=counts[1] if counts else None,
    )


def next_step(
    pipeline: Pipeline, snap: Snapshot, rep: MorningReport, plans: list[Plan]
) -> tuple[str, str]:
    """The one command to run next, and why (most urgent first)."""
    running = [p for p in rep.plans if p["state"] in ("running", "paused", "lost")]
    if running:
        p = running[-1]
        if p["state"] == "paused":
            return f"nba-tui resume {p['id']}", f"plan {p['id']} is paused"
        if p["state"] == "lost":
            return f"nba-tui run {' '.join(p['phases'])}", (
                f"plan {p['id']}'s runner is gone; run adopts its jobs (no duplicates)"
            )
        return "nba-tui plans", f"plan {p['id']} is still {p['state']}"
    order = pipeline.topological_order()
    for name in order:
        cov = snap.tables.get(name)
        left = {d.isoformat() for d in cov.missing} if cov is not None else set()
        days = [d for d in rep.quarantined.get(name, []) if d in left]  # still missing
        if days:
            return _launch(name, days), f"{name} failed on {len(days)} date(s) in every attempt"
    ended_bad = [s for s in rep.shards if s.state in ENDED_BAD and not s.plan]
    ended_bad = [s for s in ended_bad if still_wanted(s.job, s.table, rep.failures, snap)]
    if ended_bad:
        s = ended_bad[-1]
        return f"nba-tui restart {s.job}", f"job {s.job} ({s.table}) {s.state}"
    for name in order:
        if rep.degraded_run.get(name):
            return _launch(name, rep.degraded_run[name]), (
                f"{name} ran {len(rep.degraded_run[name])} date(s) on fallbacks (--skip-preflight)"
            )
    from nba_tui.nextstep import STATUS, short_next

    return short_next(pipeline, snap) or STATUS


def _launch(table: str, dates: list[str]) -> str:
    if len(dates) > MAX_LAUNCH_DATES:
        return f"nba-tui launch {shlex.quote(table)} --missing"
    return f"nba-tui launch {shlex.quote(table)} --dates {','.join(dates)}"


# -- rendering --------------------------------------------------------------------------------


def _utc(t: float | None) -> str:
    if t is None:
        return "-"
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%m-%d %H:%M")


def _dates(dates: list[str], limit: int | None = 4) -> str:
    """The first `limit` dates and how many more (`limit=None`: every date)."""
    if limit is None:
        return ", ".join(dates)
    shown = ", ".join(dates[:limit])
    return shown + (f" (+{len(dates) - limit} more)" if len(dates) > limit else "")


def render_report(report: MorningReport, width: int | None = WIDTH) -> str:
    """The report as plain text (recorded values made printable), fitted to `width` columns:
    table names cut where a row would not fit, longer lines wrapped under their indent, the
    Next command never cut (it is copied). `width=None` (piped, `report > file`): nothing is
    cut or wrapped."""
    out = [
        f"Morning report · {report.pipeline} · {_utc(report.since)} .. {_utc(report.until)} UTC",
        "",
    ]
    out += _render_plans(report, width)
    out += _render_tables(report, width)
    out += _render_shards(report, width)
    out += _render_failures(report, width)
    out += _render_dates(report, width)
    out += ["", f"Next: {report.next_command}"]
    if report.next_reason:
        out.append(f"      ({report.next_reason})")
    rows = [row for line in out for row in fit(printable(line), width, keep=("Next: ",))]
    return "\n".join(rows) + "\n"


def _name_width(names: list[str], rest: int, width: int | None) -> int:
    """A table-name column as wide as its longest name, narrowed (never below 12) only where a
    row of `rest` other columns would not fit `width`."""
    want = max([5, *map(len, names)])
    if width is None or want + rest <= width:
        return want
    return max(12, width - rest)


def _render_plans(report: MorningReport, width: int | None) -> list[str]:
    damaged = [f"  {d['id']}  damaged   {d['path']}: {d['reason']}" for d in report.damaged_plans]
    if not report.plans:
        return ["Plans: none in this window", *damaged]
    out = ["Plans:", *damaged]
    for p in report.plans:
        phases = " > ".join(p["phases"])
        head = f"  {p['id']}  {p['state']:<9} {phases}"
        span = f"{_utc(p['created_at'])} .. {_utc(p['ended_at'])}  {clock(p['duration'])}"
        fits = width is None or len(head) + 2 + len(span) <= width
        out += [f"{head}  {span}"] if fits else [head, f"    {span}"]  # the span kept whole
        if p["message"] and p["state"] != "done":
            out.append(f"    {p['message']}")
        for line in p.get("short", {}).values() if p["state"] != "done" else ():
            if line not in (p["message"] or ""):  # what each table lacks, and why
                out.append(f"    {line}")
        if p.get("restarts"):
            out.append(f"    {restarts_note(p['restarts'])}")
        if forecast := plan_text.forecast_line(p, _utc):
            out.append(f"    {forecast}")
    return out


def _render_tables(report: MorningReport, width: int | None) -> list[str]:
    if not report.tables:
        return []
    tw = _name_width([t.table for t in report.tables], 2 + 32 + 12, width)
    out = ["", f"  {'TABLE':<{tw}} {'BEFORE':>7} {'AFTER':>7} {'FILLED':>7} {'OF':>6} DEGRADED"]
    for t in report.tables:
        name = cut(t.table, tw)
        before = "-" if t.before is None else str(t.before)
        filled = "-" if t.filled is None else f"{t.filled:+d}"
        degraded = f"{t.degraded} ({pct(t.degraded_share)})" if t.degraded else "-"
        counts = f"{before:>7} {t.after:>7} {filled:>7} {t.expected:>6}"
        out.append(f"  {name:<{tw}} {counts} {degraded}")
    lost = [f"{t.table} -{t.outside:,}" for t in report.tables if t.outside]
    if lost:
        out.append(f"  lost after the night's plans, not by them: {', '.join(lost)}")
    return out


def _render_shards(report: MorningReport, width: int | None) -> list[str]:
    """One row per job: the state as `jobs` words it ('killed (SIGKILL)'), or its word alone
    ('killed') where the full text would leave the table names no room."""
    if not report.shards:
        return ["", "Jobs: none in this window"]
    shown = report.shards if width is None else report.shards[-MAX_SHARDS_SHOWN:]
    states = [s.state_text or s.state for s in shown]
    names = [s.table for s in shown]
    times = [clock(s.duration) for s in shown]
    iw = max([6, *(len(s.job) for s in shown)])
    rest = 2 + iw + 38 + max([4, *map(len, times)])  # the row but its table and state
    sw = max([5, *map(len, states)])
    if width is not None and min(max(map(len, names)), 20) + rest + sw > width:
        states = [s.state for s in shown]
        sw = max([5, *map(len, states)])
    tw = _name_width(names, rest + sw, width)
    out = ["", f"Jobs and shards ({len(report.shards)}):"]
    out.append(
        f"  {'ID':<{iw}} {'TABLE':<{tw}} {'DATES':<22} {'N':>4} {'TRY':>3} {'STATE':<{sw}} TIME"
    )
    for s, state, took in zip(shown, states, times, strict=True):
        span = s.first or "-"
        if s.last and s.last != s.first:
            span = f"{s.first}..{s.last}"
        n = "-" if s.dates is None else str(s.dates)
        out.append(
            f"  {s.job:<{iw}} {cut(s.table, tw):<{tw}} {span[:22]:<22} {n:>4} {s.attempt:>3} "
            f"{state:<{sw}} {took}"
        )
    if hidden := len(report.shards) - len(shown):
        out.append(f"  (+{hidden} earlier: {SEE_ALL})")
    return out


def _render_failures(report: MorningReport, width: int | None) -> list[str]:
    """The failures that need action, then the recovered ones (kept visible, apart)."""
    out: list[str] = []
    for title, group in (
        ("Failures", [f for f in report.failures if not f.recovered]),
        ("Recovered failures", [f for f in report.failures if f.recovered]),
    ):
        if not group:
            continue
        out += ["", f"{title} ({len(group)}):"]
        shown = group if width is None else group[-MAX_FAILURES_SHOWN:]
        if hidden := len(group) - len(shown):
            out.append(f"  (+{hidden} earlier: {SEE_ALL})")
        for f in shown:
            out += _failure_lines(f)
    return out


def _failure_lines(f: Failure) -> list[str]:
    out = [f"  {f.job} {f.table} {f.span}: {f.state}, attempt {f.attempt}"]
    out += [f"    {line}" for line in (f.recovered, f.log_says, f.dates_now) if line]
    if f.restarted:
        out.append(f"    restarted as {f.restarted}")
    if f.message:
        out.append(f"    {f.message}")
    out += [f"    ! {line}" for line in f.errors]
    if f.more_errors:
        out.append(f"    ! (+{f.more_errors} more error lines in {f.log})")
    out += [f"    | {line}" for line in f.tail]
    return out


def _render_dates(report: MorningReport, width: int | None) -> list[str]:
    """Dates per table: a few on a terminal, every one when piped (`width=None`)."""
    out: list[str] = []
    few, more = (None, None) if width is None else (4, 2)
    for title, data in (
        ("Quarantined (failed in every attempt)", report.quarantined),
        ("Skipped downstream of a quarantined date", report.skipped),
        ("Run on fallbacks (--skip-preflight)", report.degraded_run),
        ("Run on fallbacks by necessity (a soft input nothing can fill)", report.necessity_run),
    ):
        if any(data.values()):
            out += ["", f"{title}:"]
            out += [f"  {t}: {_dates(d, few)}" for t, d in data.items() if d]
    if report.degraded_dates:
        out += ["", "Degraded rows in the warehouse (flagged synthetic):"]
        for t, d in report.degraded_dates.items():
            need = report.degraded_by_necessity.get(t, 0)
            kinds = readiness.degraded_words(need, len(d) - need)
            out.append(f"  {t}: {len(d)} dates ({kinds}), {_dates(d, more)}")
    if report.events:
        counts = [f"{k} {n}" for k, n in sorted(report.events.items())]
        out += ["", *packed("Events: ", counts, width)]
    return out
