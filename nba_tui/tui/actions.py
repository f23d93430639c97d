"""The dashboard's actions: keys, command palette, and what applies to the selected row.

A mixin of `NbaTuiApp` (kept apart so each module stays small). Job actions go through
`tui.jobs`, whose supervisor calls run in `run_job_call`, a thread worker: the supervisor is
synchronous and `stop` blocks for the grace period.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from nba_tui import preflight
from nba_tui.tui import jobs as jobsmod
from nba_tui.tui.screens.modals import HelpScreen, HistoryScreen, PreflightScreen

if TYPE_CHECKING:
    from nba_tui.tui.app import NbaTuiApp

    _Base = NbaTuiApp
else:
    _Base = object

KEYS: list[tuple[str, str]] = [
    ("l", "launch the selected table's backfill over the full range"),
    ("m", "launch only the selected table's missing dates"),
    ("L", "launch the selected phase in parallel (max_parallel; confirms if preflight fails)"),
    ("p", "pause the selected job (SIGSTOP to its process group)"),
    ("r", "resume the selected paused job (SIGCONT)"),
    ("s", "stop the selected job (TERM, then KILL after the grace period; confirms)"),
    ("c", "resume from checkpoint: restart a failed, stopped or lost job"),
    ("f", "preflight of the next phase (modal; updates live)"),
    ("g", "refresh now (poll the warehouse and the jobs)"),
    ("h / a", "action history (every launch/pause/resume/stop with its argv)"),
    ("v", "switch the bottom pane between gap map and log (small screens)"),
    ("↑ ↓", "select a table (gap map and log follow the selection)"),
    ("?", "this help"),
    ("ctrl+p", "command palette (every action)"),
    ("q", "quit (jobs keep running; a new dashboard adopts them)"),
]


class ActionsMixin(_Base):
    """Actions of the dashboard; mixed into `NbaTuiApp`, which owns BINDINGS and the state."""

    # -- actions ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide what does not apply to the selected row (and every job key when read-only)."""
        if action in self.JOB_ACTIONS:
            if self.read_only or self.supervisor is None:
                return False
            return jobsmod.applies(self, action)
        if action == "preflight":
            return self.snapshot is not None and self.selected_phase() is not None
        return True

    def _sync_bindings(self) -> None:
        """Refresh the footer only when the set of applicable keys changed: a footer refresh
        reflows and repaints the whole screen (terminal bytes)."""
        if self.has_class("-loading"):
            return  # done once at reveal, in the same frame
        sig = tuple(b.action for _, b in self.BINDINGS_MAP if self.check_action(b.action, ()))
        if sig != self._binding_sig:
            self._binding_sig = sig
            self.refresh_bindings()

    @property
    def BINDINGS_MAP(self) -> Iterable[tuple[str, Binding]]:  # noqa: N802 - mirrors BINDINGS
        return ((b.key, b) for b in self.BINDINGS if isinstance(b, Binding))

    def action_launch(self) -> None:
        jobsmod.launch(self)

    def action_launch_missing(self) -> None:
        jobsmod.launch_missing(self)

    def action_launch_phase(self) -> None:
        jobsmod.launch_phase(self)

    def action_pause(self) -> None:
        jobsmod.signal_job(self, "pause")

    def action_resume(self) -> None:
        jobsmod.signal_job(self, "resume")

    def action_stop(self) -> None:
        jobsmod.stop(self)

    def action_restart(self) -> None:
        jobsmod.signal_job(self, "restart")

    @work(thread=True, group="action", exit_on_error=False)
    def run_job_call(self, title: str, call: Callable[[], Any], done: Callable[[Any], str]) -> None:
        """Run one blocking supervisor call off the event loop; the result comes back as a toast."""
        try:
            result = call()
        except Exception as e:  # noqa: BLE001 - JobError and anything else: a toast
            self.post_message(jobsmod.ActionDone(title, error=jobsmod.one_line(e)))
            return
        self.post_message(jobsmod.ActionDone(title, text=done(result)))

    def action_preflight(self) -> None:
        phase = self.selected_phase()
        if self.snapshot is None or phase is None:
            self.notify("no coverage yet: wait for the first poll", severity="warning")
            return
        nxt = self.pipeline.next_phase(phase)
        target = nxt.name if nxt is not None else phase
        screen = PreflightScreen(preflight.check(self.pipeline, self.snapshot, target))
        self._preflight_screen = screen
        self.push_screen(screen)

    def action_refresh(self, poll: bool = True) -> None:
        if poll and not self._polling:
            if self._poll_timer is not None:
                self._poll_timer.stop()
            self._start_poll()
        if not self._jobs_busy:
            if self._jobs_timer is not None:
                self._jobs_timer.stop()
            self._start_jobs()

    def action_history(self) -> None:
        if self.supervisor is None:
            self.push_screen(HistoryScreen([]))
            return
        self.run_history()

    @work(thread=True, group="history", exit_on_error=False)
    def run_history(self) -> None:
        try:
            entries = list(self.supervisor.history(100))
        except Exception as e:  # noqa: BLE001
            self.post_message(jobsmod.ActionDone("history", error=jobsmod.one_line(e)))
            return
        self.call_from_thread(self.push_screen, HistoryScreen(entries))

    def action_toggle_view(self) -> None:
        self.show_log = not self.show_log
        self.set_class(self.show_log, "-show-log")

    def action_help(self) -> None:
        keys = [k for k in KEYS if not (self.read_only and k[0] in "lmLprsc")]
        self.push_screen(HelpScreen(keys, self.read_only))

    def action_quit_app(self) -> None:
        self.exit(0)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every applicable action in the command palette as well (Ctrl+P)."""
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if not isinstance(binding, Binding) or binding.action == "quit_app":
                continue
            if not self.check_action(binding.action, ()):
                continue
            helptext = next((t for k, t in KEYS if binding.key.split(",")[0] in k), "")
            callback = getattr(self, f"action_{binding.action}")
            yield SystemCommand(f"{binding.description} ({binding.key})", helptext, callback)
