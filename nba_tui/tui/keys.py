"""The dashboard's keys: its bindings, with the help text that `?`, the footer's tooltips and the
command palette show. One table, so the help can never describe a key the app does not have.

Every job and plan key runs the one parameterised action `job('<name>')` (`NbaTuiApp.action_job`);
`<name>` is one of `control.JOB_ACTIONS`, which says when it applies and what it calls.
"""

from __future__ import annotations

from textual.actions import parse
from textual.binding import Binding

BINDINGS = [
    Binding(
        "l", "job('launch')", "launch", tooltip="launch the selected table's backfill (full range)"
    ),
    Binding(
        "m", "job('launch_missing')", "missing", tooltip="launch only the table's missing dates"
    ),
    Binding(
        "L",
        "job('launch_phase')",
        "phase",
        tooltip="launch the selected phase in parallel (max_parallel; confirms if preflight fails)",
    ),
    Binding(
        "p",
        "job('pause')",
        "pause",
        tooltip="pause the selected job (local: SIGSTOP to its process group; remote: stop it "
        "there and keep its missing dates)",
    ),
    Binding(
        "r",
        "job('resume')",
        "resume",
        tooltip="resume the selected paused job (local: SIGCONT; remote: relaunch its kept dates)",
    ),
    Binding(
        "s",
        "job('stop')",
        "stop",
        tooltip="stop the selected job (TERM, then KILL after the grace period; confirms)",
    ),
    Binding(
        "c",
        "job('restart')",
        "checkpoint",
        tooltip="resume from checkpoint: restart a failed, stopped or lost job",
    ),
    Binding(
        "P",
        "job('pause_plan')",
        "pause plan",
        tooltip="pause the plan of the selected job: all its jobs; nothing new starts",
    ),
    Binding(
        "U",
        "job('resume_plan')",
        "resume plan",
        tooltip="resume the paused plan of the selected job (its jobs and its scheduling)",
    ),
    Binding(
        "S",
        "job('stop_plan')",
        "stop plan",
        show=False,
        tooltip="stop the plan of the selected job and all its jobs (confirms; checkpoints kept)",
    ),
    Binding(
        "X",
        "job('cancel_plan')",
        "cancel plan",
        show=False,
        tooltip="cancel the plan of the selected job: like stop plan (confirms)",
    ),
    Binding(
        "M",
        "morning",
        "report",
        show=False,
        tooltip="morning report: the last 12 h of plans, shards, failures, degraded dates",
    ),
    Binding(
        "n",
        "plan_view",
        "plan",
        show=False,
        tooltip="the running plan (else the selected job's or the latest): dates done, waiting",
    ),
    Binding(
        "f",
        "preflight",
        "preflight",
        tooltip="preflight of the selected row's phase: may its tables start? (updates live)",
    ),
    Binding(
        "R,ctrl+r",
        "refresh",
        "refresh",
        key_display="R",
        show=False,
        tooltip="refresh now: retry the warehouse at once (also when STALE) and re-read the jobs",
    ),
    Binding(
        "slash",
        "filter",
        "filter",
        key_display="/",
        show=False,
        tooltip="filter the tables by name (Enter keeps the filter, Esc clears it)",
    ),
    Binding(
        "h,a",
        "history",
        "history",
        show=False,
        tooltip="action history (every launch/pause/resume/stop with its argv)",
    ),
    Binding("question_mark", "help", "help", key_display="?", tooltip="this help"),
    Binding(
        "q", "quit_app", "quit", tooltip="quit (jobs keep running; a new dashboard adopts them)"
    ),
    # last: on an 80-column footer crowded by a job's keys, `v` is cut before `?` and `q`
    Binding(
        "v",
        "view_gaps",
        "gap map",
        tooltip="show the selected table's gap map whole (the log in the rows left); v again: "
        "the log",
    ),
    Binding(
        "v",
        "view_log",
        "log",
        tooltip="show the selected job's log alone, as tall as the screen allows; v again: the "
        "gap map",
    ),
]
MORE_KEYS = [
    ("↑ ↓  k j", "select a row (gap map and log follow the selection)"),
    ("g Home", "first row"),
    ("G End", "last row"),
    ("PgUp PgDn", "a page up / down"),
    ("← →", "scroll the log sideways (long lines; the grid never scrolls sideways)"),
    ("ctrl+p", "command palette: every action, with why one does not apply now"),
]
"""Help lines for keys that are not bindings of the app."""


def key_label(binding: Binding) -> str:
    """How a binding's key reads to a person: '?' not 'question_mark', 'h / a' not 'h,a'."""
    return binding.key_display or binding.key.replace(",", " / ")


def help_lines(bindings: list[Binding]) -> list[tuple[str, str]]:
    """(key, what it does) for the help screen: the bindings given, then the other keys."""
    keys = [(key_label(b), b.tooltip) for b in bindings]
    return keys + MORE_KEYS


def palette_title(binding: Binding, reason: str | None) -> str:
    """A command palette entry: 'pause (p)', or 'pause (p) — no running job on this table'."""
    title = f"{binding.description} ({key_label(binding)})"
    return f"{title} — {reason}" if reason else title


def parsed(binding: Binding) -> tuple[str, tuple[object, ...]]:
    """A binding's action name and parameters: ('job', ('pause',)) for `job('pause')`."""
    _, name, params = parse(binding.action)
    return name, params


def action_name(binding: Binding) -> str:
    """What a binding does, by name: the job action's own name for `job('pause')` ('pause')."""
    name, params = parsed(binding)
    return str(params[0]) if name == "job" and params else name
