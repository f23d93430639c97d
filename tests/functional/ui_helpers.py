"""Helpers for the dashboard tests (a plain module: conftest names clash across test folders)."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from toasts import record_toasts  # noqa: F401 - the dashboard tests import it from here
from waiting import wait_for_ui as wait_for  # noqa: F401 - the dashboard tests' wait (pilot first)


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
