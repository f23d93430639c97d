"""`nba-tui watch`: headless gap detection and healing, for cron and systemd.

    nba-tui watch [--interval 10m] [--heal] [--max-heal-dates N] [--once]

Each cycle takes one coverage poll and compares every table's present dates with the ones the
last cycle saw (a small state file, `<state_dir>/watch.json`, written atomically):

* a **regression** is a date that was present and is missing now (rows deleted, a bad reload);
* a **new gap** is a date the schedule newly expects that the table does not have yet.

The first cycle on a state directory only records the baseline (the existing gaps are the
incident's, for `nba-tui run`, not news). Each finding is one line on stdout, with a UTC time,
so a journal or a cron mail reads it as is; a regression is also a `coverage_dropped` event
(events.jsonl, the morning report, the `alerts.on_event` hook). With `--heal` the gaps found
are backfilled, gap only, by one heal plan (`Supervisor.heal_plan`: a job per table over exactly
its gap dates) that the same scheduler as `run` advances (jobs/decide.py): a downstream gap's job
starts once its inputs' jobs ended and its dates are ready; the gap dates no plan can reach (an
input nothing fills) are said `blocked` and kept open; gaps of more than `--max-heal-dates`
dates are reported, never launched. A gap is launched at most once: the state file remembers
each launch, keyed by table and dates. A launch is reported as `launched`; `healed` is said once
a later cycle finds every date of the launched gap with rows.

Exit codes: 0 nothing new; 1 new gaps or regressions found (or healed); 2 bad input or a
warehouse that cannot be reached. Without `--once` it polls every `--interval` until SIGTERM or
SIGINT, then exits 1 if any cycle found something, 2 if the last cycle could not reach the
warehouse, else 0. An unreachable warehouse is one line per cycle and the watch goes on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nba_tui.cli.common import (
    EXIT_CHECK,
    EXIT_INPUT,
    EXIT_OK,
    InputError,
    bounded_int,
    config_option,
    duration_arg,
    take_snapshot,
)
from nba_tui.config import Pipeline
from nba_tui.coverage import DateState, Snapshot
from nba_tui.fmt import printable
from nba_tui.fsutil import json_bytes, open_regular, write_atomic
from nba_tui.stopsignal import StopSignal

STATE_FILE = "watch.json"
LOCK_FILE = "watch.lock"
MAX_STATE_BYTES = 16 * 1024 * 1024
MAX_LAUNCHED = 10_000
"""Launch keys remembered (oldest forgotten first): a year of nightly heals."""
HAS_ROWS = (DateState.PRESENT, DateState.THIN)


@dataclass
class Finding:
    """One line of the watch's output."""

    kind: str
    """`regression`, `new_gap`, `launched` (a gap-only backfill started), `healed` (a launched
    gap's dates all have rows now), `too_big`, `heal_failed` (the launch was refused),
    `not_healed` (the same gap was launched once already) or `blocked` (an input lacks the dates
    and nothing is filling them)."""
    table: str
    dates: list[dt.date]
    detail: str = ""

    def line(self, now: float) -> str:
        when = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        span = _span(self.dates)
        what = "backfill for " if self.kind == "launched" else ""
        text = f"{when} {self.kind} {self.table} {what}{len(self.dates)} dates {span}"
        return printable(f"{text} {self.detail}".rstrip(), escape=True)


@dataclass
class WatchState:
    """What the last cycle saw and what it launched (`<state_dir>/watch.json`)."""

    present: dict[str, list[str]] = field(default_factory=dict)
    expected: list[str] = field(default_factory=list)
    open: dict[str, list[str]] = field(default_factory=dict)
    """Gaps found but not launched yet (a downstream gap waits for its inputs)."""
    launched: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`table:d1,d2` -> {"at": time, "job": id, "pending": bool}: never launched twice;
    `pending` until the dates have rows (then said once as `healed`)."""
    told: list[str] = field(default_factory=list)
    """Open gaps already reported as blocked (said once, kept open: launched once unblocked)."""
    at: float | None = None

    @classmethod
    def load(cls, path: Path) -> WatchState:
        """The saved state, or a fresh one (a damaged file is named, never trusted)."""
        try:
            with os.fdopen(open_regular(path), "rb") as f:
                raw = f.read(MAX_STATE_BYTES + 1)
        except FileNotFoundError:
            return cls()
        except OSError as e:  # a FIFO or a link there too (fsutil.UnsafeFile)
            raise InputError(f"watch state {path}: {e.strerror or e}") from None
        try:
            if len(raw) > MAX_STATE_BYTES:
                raise ValueError("too large")
            data = json.loads(raw)
            out = cls(
                present={str(k): [str(d) for d in v] for k, v in data["present"].items()},
                expected=[str(d) for d in data["expected"]],
                open={str(k): [str(d) for d in v] for k, v in data.get("open", {}).items()},
                launched={str(k): dict(v) for k, v in data.get("launched", {}).items()},
                told=[str(k) for k in data.get("told", [])][-MAX_LAUNCHED:],
                at=float(data["at"]) if data.get("at") is not None else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise InputError(
                f"watch state {path} is damaged ({printable(str(e))[:80]}); remove it to "
                "start a new baseline"
            ) from None
        return out

    def save(self, path: Path) -> None:
        launched = dict(sorted(self.launched.items(), key=lambda kv: kv[1].get("at", 0)))
        while len(launched) > MAX_LAUNCHED:
            launched.pop(next(iter(launched)))
        self.launched = launched
        data = {
            "at": self.at,
            "expected": self.expected,
            "present": self.present,
            "open": self.open,
            "launched": self.launched,
            "told": self.told[-MAX_LAUNCHED:],
        }
        write_atomic(path, json_bytes(data))


def _span(dates: list[dt.date]) -> str:
    if not dates:
        return "-"
    return str(dates[0]) if len(dates) == 1 else f"{dates[0]}..{dates[-1]}"


def heal_key(table: str, dates: list[dt.date]) -> str:
    return f"{table}:{','.join(d.isoformat() for d in dates)}"


def compare(state: WatchState, snap: Snapshot) -> list[Finding]:
    """Regressions and new gaps since the state's last cycle (none on the first one)."""
    if state.at is None:
        return []
    before_expected = set(state.expected)
    out = []
    for name, cov in snap.tables.items():
        before = set(state.present.get(name, ()))
        missing = [d for d in cov.missing]
        lost = [d for d in missing if d.isoformat() in before]
        new = [d for d in missing if d.isoformat() not in before_expected and name in state.present]
        if lost:
            out.append(Finding("regression", name, lost, "(present at the last check)"))
        if new:
            out.append(Finding("new_gap", name, new, "(newly expected, no rows yet)"))
    return out


def remember(state: WatchState, snap: Snapshot, now: float) -> None:
    """The snapshot becomes the baseline of the next cycle."""
    state.at = now
    state.expected = [d.isoformat() for d in snap.expected_dates]
    state.present = {
        name: sorted(d.isoformat() for d, s in cov.states.items() if s in HAS_ROWS)
        for name, cov in snap.tables.items()
    }
    for name in list(state.open):  # open gaps filled by someone else are closed
        still = set(d.isoformat() for d in snap.tables[name].missing) if name in snap.tables else ()
        state.open[name] = [d for d in state.open[name] if d in still]
        if not state.open[name]:
            del state.open[name]


def filled(state: WatchState, snap: Snapshot) -> list[Finding]:
    """`healed` for each launched gap whose dates all have rows now (said once)."""
    out = []
    for key, launch in state.launched.items():
        if not launch.get("pending"):
            continue
        name, _, days = key.partition(":")
        have = set(state.present.get(name, ()))
        if name in snap.tables and days and set(days.split(",")) <= have:
            launch["pending"] = False
            try:
                dates = [dt.date.fromisoformat(d) for d in days.split(",")]
            except ValueError:
                continue
            out.append(Finding("healed", name, dates, f"(filled by job {launch['job']})"))
    return out


def heal(
    pipeline: Pipeline, snap: Snapshot, state: WatchState, max_dates: int, now: float
) -> list[Finding]:
    """Heal the open gaps through the one scheduler: the dates a plan over them can reach
    (`decide.reachable`: an upstream gap's fill readies the downstream one) become one heal
    plan (`Supervisor.heal_plan`: a job per table, each started once its inputs' jobs ended
    and its dates are ready); each gap once; the rest is said blocked and kept open."""
    from nba_tui.cli.listings import supervised

    out: list[Finding] = []
    with supervised(pipeline) as sup:
        wanted = {
            n: sorted(map(dt.date.fromisoformat, state.open[n]))
            for n in pipeline.topological_order()
            if state.open.get(n) and pipeline.table(n).backfill is not None and not sup.active(n)
        }
        can = _reachable(pipeline, snap, wanted, now)
        go: dict[str, list[dt.date]] = {}
        for name, days in wanted.items():
            dates = [d for d in days if d in can.get(name, set())]
            if dates:
                found = _admit(state, name, dates, max_dates)
                if found is None:
                    go[name] = dates
                else:
                    out.append(found)
        can = _reachable(pipeline, snap, go, now)  # without the gaps refused above
        go = {n: [d for d in days if d in can.get(n, set())] for n, days in go.items()}
        go = {n: days for n, days in go.items() if days}
        out += _launch(sup, state, go, snap, now)
        for name in wanted:
            if state.open.get(name):
                out += _blocked(pipeline, snap, state, name)
    return out


def _reachable(
    pipeline: Pipeline, snap: Snapshot, gaps: dict[str, list[dt.date]], now: float
) -> dict[str, set[dt.date]]:
    """The gap dates a heal plan over `gaps` would run (jobs/decide.py)."""
    from nba_tui.jobs import decide
    from nba_tui.jobs.model import Plan

    phases = [p.name for p in pipeline.phases]
    trial = Plan("p000000", "heal", phases, "", now)
    trial.scope = {n: [d.isoformat() for d in days] for n, days in gaps.items()}
    return decide.reachable(pipeline, snap, trial)


def _admit(state: WatchState, name: str, dates: list[dt.date], max_dates: int) -> Finding | None:
    """None when the gap may be launched; else why not (and it leaves the open list)."""
    key = heal_key(name, dates)
    if key not in state.launched and len(dates) <= max_dates:
        return None
    _close(state, name, dates)
    if key in state.launched:
        return Finding("not_healed", name, dates, "(launched once already; never twice)")
    return Finding(
        "too_big", name, dates, f"(> --max-heal-dates {max_dates}: nba-tui launch {name} --missing)"
    )


def _close(state: WatchState, name: str, dates: list[dt.date]) -> None:
    """The dates leave the table's open gap."""
    done = {d.isoformat() for d in dates}
    state.open[name] = [d for d in state.open.get(name, []) if d not in done]
    if not state.open[name]:
        del state.open[name]


def _blocked(pipeline: Pipeline, snap: Snapshot, state: WatchState, name: str) -> list[Finding]:
    """An open gap no heal can unblock (an input lacks dates nobody is filling): said once."""
    from nba_tui.readiness import blocked_by, outlook, why_never

    dates = sorted(dt.date.fromisoformat(d) for d in state.open[name])
    key = heal_key(name, dates)
    if key in state.told:
        return []
    state.told.append(key)
    o = outlook(pipeline, snap, name)
    if o.never and set(dates) <= set(o.never):  # nothing will ever fill them: no waiting
        return [Finding("blocked", name, dates, f"(cannot be filled: {why_never(o)})")]
    inputs = sorted({i for d in dates for i, _ in blocked_by(pipeline, snap, name, d)})
    why = f"(waiting for {', '.join(inputs) or 'its inputs'}; launched once they have the dates)"
    return [Finding("blocked", name, dates, why)]


def _fallback_note(
    pipeline: Pipeline, snap: Snapshot, name: str, dates: list[dt.date], kind: str
) -> str:
    """`; N on fallbacks by necessity (soft inputs)` for a launch that runs such dates."""
    from nba_tui.readiness import degraded_by_necessity, outlook

    n = len(degraded_by_necessity(pipeline, snap, name, dates)) if kind == "launched" else 0
    if not n:
        return ""
    return f"; {n} on fallbacks by necessity ({', '.join(outlook(pipeline, snap, name).soft)})"


def _launch(
    sup: Any, state: WatchState, go: dict[str, list[dt.date]], snap: Snapshot, now: float
) -> list[Finding]:
    """One heal plan over `go` (or why not); each gap taken off the open list either way."""
    from nba_tui.jobs.errors import JobError

    if not go:
        return []
    for name, dates in go.items():
        _close(state, name, dates)
    try:
        plan = sup.heal_plan(go, snap)
    except JobError as e:
        for name, dates in go.items():
            state.launched[heal_key(name, dates)] = {"at": now, "error": str(e)[:200]}
        return [Finding("heal_failed", n, d, f"({e})") for n, d in go.items()]
    jobs = {sup.job(j).record.table: j for j in plan.jobs}
    out = []
    for name, dates in go.items():
        key = heal_key(name, dates)
        if name not in jobs:
            why = next((s["reason"] for s in plan.skipped if s.get("table") == name), "")
            state.launched[key] = {"at": now, "error": why[:200]}
            out.append(Finding("heal_failed", name, dates, f"({why})"))
            continue
        state.launched[key] = {"at": now, "job": jobs[name], "pending": True}
        found = Finding("launched", name, dates, f"job {jobs[name]}")
        found.detail += _fallback_note(sup.pipeline, snap, name, dates, found.kind)
        out.append(found)
    return out


@dataclass
class Watch:
    """One watcher over one pipeline: its state file, its lock, its cycles."""

    pipeline: Pipeline
    heal: bool = False
    max_heal_dates: int = 10
    emit: Callable[[str], None] = print
    stop: StopSignal = field(default_factory=StopSignal)

    @property
    def path(self) -> Path:
        return self.pipeline.state_dir / STATE_FILE

    def cycle(self) -> int:
        """One poll, compare, heal, save: the exit code of this cycle."""
        from nba_tui.jobs.store import LockTimeout, StateError, Store, flock

        snap = take_snapshot(self.pipeline, self.pipeline.range.start, self.pipeline.range.end)
        try:
            Store(self.pipeline.state_dir).ensure()
            with flock(self.pipeline.state_dir / "locks" / LOCK_FILE, timeout=5.0):
                return self._cycle_locked(snap)
        except LockTimeout:
            raise InputError(f"another nba-tui watch holds {LOCK_FILE}") from None
        except StateError as e:
            raise InputError(str(e)) from None
        except OSError as e:  # a full or read-only disk: this cycle is lost, the next may work
            where = e.filename or self.pipeline.state_dir
            raise InputError(f"watch state {where}: {e.strerror or e}") from None

    def _cycle_locked(self, snap: Snapshot) -> int:
        now = time.time()
        state = WatchState.load(self.path)
        first = state.at is None
        found = compare(state, snap)
        for f in found:
            if f.kind in ("regression", "new_gap"):
                merged = set(state.open.get(f.table, ())) | {d.isoformat() for d in f.dates}
                state.open[f.table] = sorted(merged)
        remember(state, snap, now)
        found += filled(state, snap)
        if self.heal and state.open:
            found += heal(self.pipeline, snap, state, self.max_heal_dates, now)
        state.save(self.path)
        self._alert([f for f in found if f.kind == "regression"])
        if first:
            gaps = sum(len(c.missing) for c in snap.tables.values())
            self.emit(
                printable(
                    f"baseline: {len(snap.tables)} tables, {gaps} missing dates recorded in "
                    f"{self.path}; later checks report what changes"
                )
            )
        for f in found:
            self.emit(f.line(now))
        return EXIT_CHECK if found else EXIT_OK

    def _alert(self, lost: list[Finding]) -> None:
        """Regressions as `coverage_dropped` events (events.jsonl, the report) and, once each,
        to the `alerts.on_event` hook; a failure there is recorded, never fatal."""
        from nba_tui.jobs import alerts, events

        for f in lost:
            ev = events.new_event(
                "coverage_dropped", table=f.table, dates=f.dates, detail="nba-tui watch"
            )
            why = alerts.publish(self.pipeline, ev)
            if why:
                self.emit(printable(f"nba-tui watch: {why}"))

    def loop(self, interval: float) -> int:
        """Cycles every `interval` seconds until `stop` is set (SIGTERM/SIGINT)."""
        from nba_tui.cli.listings import Refused

        seen, last = False, EXIT_OK
        while not self.stop.is_set():
            try:
                last = self.cycle()
            except (InputError, Refused) as e:  # said once, and the next cycle may work
                self.emit(printable(f"nba-tui watch: {e}", escape=True))
                last = EXIT_INPUT
            seen = seen or last == EXIT_CHECK
            self.stop.wait(interval)
        return EXIT_CHECK if seen else last


def cmd_watch(args: argparse.Namespace, pipeline: Pipeline) -> int:
    w = Watch(pipeline, heal=args.heal, max_heal_dates=args.max_heal_dates, emit=_say)
    if args.once:
        return w.cycle()

    w.stop.install(signal.SIGTERM, signal.SIGINT)
    try:
        return w.loop(args.interval)
    finally:
        w.stop.uninstall()


def _say(line: str) -> None:
    print(line, flush=True)  # a journal or a pipe sees each finding when it happens


def register(sub: Any) -> None:
    p = sub.add_parser(
        "watch", parents=[config_option()], help="report new gaps (and heal them); for cron"
    )
    p.add_argument(
        "--interval",
        type=duration_arg,
        default=600.0,
        metavar="DURATION",
        help="time between checks (default 10m)",
    )
    p.add_argument("--heal", action="store_true", help="launch gap-only backfills for new gaps")
    p.add_argument(
        "--max-heal-dates",
        type=bounded_int(1, 10_000),
        default=10,
        metavar="N",
        help="heal only gaps of at most N dates (default 10)",
    )
    p.add_argument("--once", action="store_true", help="one check, then exit (cron)")
    p.set_defaults(func=cmd_watch)
