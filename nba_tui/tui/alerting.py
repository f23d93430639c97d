"""The dashboard's alerts: each alerting plan event as a toast and the terminal bell, once per
dashboard session, and the dashboard's own STALE warehouse once per episode.

`Alerts` learns that the events file changed from `JobWatch` (`EventsChanged`: its signature,
checked with the state version); only then is it read, in a thread worker (`Supervisor.events(
since=...)`, a bounded read). A STALE warehouse rings once per stale episode after
`alerts.stale_after`, on a one-shot timer armed by the episode's first failed poll; a poll's
error and the warehouse's note are toasted whole, once each (the header cuts them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.timer import Timer

from nba_tui.config import Pipeline
from nba_tui.fmt import duration, printable
from nba_tui.jobs.alerts import StaleEpisode
from nba_tui.jobs.events import ALERT_KINDS, Event
from nba_tui.monitor import PollResult
from nba_tui.tui.messages import EventsRead

MIN_TIMER_S = 0.01
"""The shortest wait the STALE timer is armed for (a due time already passed fires at once)."""
MAX_TOASTS = 5
"""At most this many event toasts at once; the rest are summed up in one more toast."""
SEVERITY = {
    "job_failed": "error",
    "plan_failed": "error",
    "plan_short": "warning",
    "date_quarantined": "error",
    "coverage_dropped": "error",
    "warehouse_stale": "warning",
    "plan_late": "warning",
    "phase_ready": "information",
    "plan_done": "information",
}


def event_text(ev: Event) -> str:
    """One event as a toast's text: what, where, which dates (a few), its detail."""
    parts = []
    if ev.table:
        parts.append(ev.table)
    if ev.dates:
        more = f" (+{len(ev.dates) - 3} more)" if len(ev.dates) > 3 else ""
        parts.append(", ".join(ev.dates[:3]) + more)
    if ev.detail:
        parts.append(ev.detail)
    if ev.plan:
        parts.append(f"plan {ev.plan}")
    return printable(" · ".join(parts) or ev.kind)


class Alerts:
    """Alerts for `host` (the app: it shows the toasts, rings the bell, owns the timers);
    `read_events(since, sig)` starts the read of the events at or after `since`."""

    def __init__(
        self,
        host: App[Any],
        pipeline: Pipeline,
        read_events: Callable[[float, object], None],
        since: float,
    ) -> None:
        self.host, self.pipeline, self.read_events = host, pipeline, read_events
        self.since = since
        """Events at or after this time are new (the dashboard's start: older ones are not)."""
        self._toasted: set[str] = set()
        self.shown = 0
        """Alerts shown this session."""
        self.stale = StaleEpisode(pipeline.alerts.stale_after)
        """The current STALE episode, in `time.monotonic()` seconds."""
        self._stale_timer: Timer | None = None
        self._error: str | None = None
        self._error_shown: str | None = None
        self._note_shown: str | None = None

    # -- plan events -------------------------------------------------------------------------------

    def events_changed(self, sig: object) -> None:
        """The events file moved: read what is new."""
        self.read_events(self.since, sig)

    def events_read(self, msg: EventsRead) -> bool:
        """Toast (and ring for) the alerting events not shown yet; False if the read failed."""
        if msg.events is None:
            return False
        fresh = [e for e in msg.events if e.kind in ALERT_KINDS and e.id not in self._toasted]
        if msg.events:
            self.since = max(self.since, max(e.at for e in msg.events))
            # ids at the new `since` may be read again: keep only those
            self._toasted = {e.id for e in msg.events if e.at >= self.since}
        self._toasted |= {e.id for e in fresh}
        for ev in fresh[:MAX_TOASTS]:
            self._alert(ev.kind.replace("_", " "), event_text(ev), SEVERITY.get(ev.kind))
        if len(fresh) > MAX_TOASTS:
            more = len(fresh) - MAX_TOASTS
            self.host.notify(
                f"{more} more events: see `nba-tui report`", title="alerts", timeout=12
            )
        return True

    def _alert(self, title: str, text: str, severity: str | None) -> None:
        self.shown += 1
        self.host.notify(text, title=title, severity=severity or "information", timeout=15)  # type: ignore[arg-type]
        self.host.bell()

    def poll_notes(self, poll: PollResult) -> None:
        """The header cuts a long error at 80 columns: the full text (and the hint) as a toast,
        once per distinct error; the warehouse's note (e.g. a strategy fallback) likewise."""
        error = poll.error
        if error and error != self._error_shown:
            full = printable(error + (f"\n{poll.hint}" if poll.hint else ""))
            self.host.notify(full, title="warehouse STALE", severity="warning", timeout=12)
        self._error_shown = error
        note = poll.note
        if note and note != self._note_shown:
            self.host.notify(printable(note), title="warehouse note", timeout=12)
        self._note_shown = note

    # -- the dashboard's own STALE warehouse -------------------------------------------------------

    @property
    def stale_since(self) -> float | None:
        """`time.monotonic()` of the current STALE episode's first failed poll (None: fresh)."""
        return self.stale.since

    def polled(self, poll: PollResult) -> None:
        """After each poll: a failed one starts (or continues) a STALE episode, which alerts
        once, when it has lasted `alerts.stale_after` (a timer armed at its start); a fresh
        poll ends it."""
        self._error = poll.error
        if not poll.error:
            self.stale.good()
            if self._stale_timer is not None:
                self._stale_timer.stop()
                self._stale_timer = None
            return
        if self._stale_timer is None:
            self._stale_due()

    def _stale_due(self) -> None:
        """Alert if the episode has lasted long enough, else arm the timer for when it will."""
        self._stale_timer = None
        if self._error is None or self.stale.told:
            return
        now = time.monotonic()
        lasted = self.stale.failed(now)
        if lasted is not None:
            text = f"no fresh coverage for {duration(lasted)}: {self._error}"
            self._alert("warehouse stale", printable(text), "warning")
        elif self.stale.since is not None:
            wait = max(self.stale.since + self.stale.after - now, MIN_TIMER_S)
            self._stale_timer = self.host.set_timer(wait, self._stale_due, name="stale alert")


__all__ = ["Alerts", "event_text"]
