"""Helpers for the dashboard tests (a plain module: conftest names clash across test folders)."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from textual.binding import Binding
from toasts import record_toasts  # noqa: F401 - the dashboard tests import it from here
from waiting import wait_for_ui as wait_for  # noqa: F401 - the dashboard tests' wait (pilot first)

from nba_tui.tui import keys


def proc_states(pgid: int) -> dict[int, str]:
    """pid -> state letter of every process in the process group (from /proc)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            out[int(entry)] = fields[0]
    return out


def key_bindings(app) -> list[Binding]:
    """The app's key bindings, as its help screen lists them."""
    return [b for b in app.BINDINGS if isinstance(b, Binding)]


def why_not(app, action: str) -> str | None:
    """Why `action` does not apply to the selected row, as the command palette says it after
    the action's title ('pause (p) — <reason>'); None when it applies."""
    (binding,) = [b for b in key_bindings(app) if keys.action_name(b) == action]
    bare = keys.palette_title(binding, None)
    (title,) = [c.title for c in app.get_system_commands(app.screen) if c.title.startswith(bare)]
    return title.removeprefix(f"{bare} — ") if title != bare else None


def screen_text(app) -> str:
    """What the terminal shows now, as plain text, one line per screen row.

    Taken from a screenshot (the compositor's output), not from widget state: a widget whose
    data is right but whose repaint was lost shows the stale text here."""
    svg = app.export_screenshot()
    rows: dict[int, list[str]] = {}
    pattern = r'<text [^>]*clip-path="url\(#terminal-(?:\w+-)?line-(\d+)\)"[^>]*>(.*?)</text>'
    for row, body in re.findall(pattern, svg, re.S):
        text = html.unescape(re.sub(r"<[^>]+>", "", body)).replace("\xa0", " ")
        rows.setdefault(int(row), []).append(text.rstrip("\n"))
    return "\n".join("".join(parts).rstrip() for _, parts in sorted(rows.items()))
