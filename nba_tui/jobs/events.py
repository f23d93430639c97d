"""Plan events: what an engineer leaving a night's backfill wants to be told, stored append-only.

`<state_dir>/events.jsonl` (0600) holds one JSON object per line; the plan runner appends them,
the dashboard (toasts, bell), `alerts.deliver` (the `alerts.on_event` hook) and the morning report
read them, all through `jsonl` (appends under a lock, bounded reads: a year of events never
loads whole).

Kinds that alert: job_failed, date_quarantined, phase_ready, plan_done, plan_short,
plan_failed, coverage_dropped, warehouse_stale, plan_late (the forecast end passes
`run --deadline`). Kinds kept for the report only: job_started, job_done, shard_retried,
date_skipped, degraded, alert_failed.

This module imports nothing of the store (store.py imports it for `Store.append_event`).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nba_tui import jsonl

ALERT_KINDS = frozenset(
    {
        "job_failed",
        "date_quarantined",
        "phase_ready",
        "plan_done",
        "plan_short",
        "plan_failed",
        "coverage_dropped",
        "warehouse_stale",
        "plan_late",
    }
)
"""Kinds delivered to `alerts.on_event` and shown as toasts."""
REPORT_KINDS = frozenset(
    {
        "job_started",
        "job_done",
        "shard_retried",
        "date_skipped",
        "degraded",
        "alert_failed",
        "runner_restarted",
        "runner_gave_up",
    }
)
FILE_NAME = "events.jsonl"
READ_BYTES = 4_000_000
"""At most this much of the end of events.jsonl is read (bounded reads)."""
MAX_LINE = 64_000
"""An event line longer than this is not written whole: its dates are cut."""


@dataclass
class Event:
    """One thing that happened, as one JSON line."""

    kind: str
    at: float
    plan: str | None = None
    table: str | None = None
    dates: list[str] = field(default_factory=list)
    detail: str = ""
    id: str = ""
    """Unique; `alerts.deliver` delivers each id at most once."""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = f"{int(self.at * 1000):x}-{secrets.token_hex(4)}"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event | None:
        """An event from one stored line; None for a line that is not one (never raises)."""
        try:
            dates = data.get("dates") or []
            ok = isinstance(data.get("kind"), str) and isinstance(data.get("at"), int | float)
            if not ok or not isinstance(dates, list):
                return None
            return cls(
                kind=data["kind"],
                at=float(data["at"]),
                plan=data.get("plan") if isinstance(data.get("plan"), str) else None,
                table=data.get("table") if isinstance(data.get("table"), str) else None,
                dates=[str(d) for d in dates],
                detail=str(data.get("detail") or ""),
                id=str(data.get("id") or ""),
            )
        except (TypeError, ValueError):
            return None


def new_event(
    kind: str,
    *,
    plan: str | None = None,
    table: str | None = None,
    dates: Sequence[Any] = (),
    detail: str = "",
) -> Event:
    """An event happening now (dates may be `datetime.date`s or strings)."""
    return Event(kind, time.time(), plan, table, [str(d) for d in dates], detail)


def events_path(state_dir: Path) -> Path:
    return Path(state_dir) / FILE_NAME


def append(state_dir: Path, event: Event) -> None:
    """Append one line (`jsonl`: concurrent writers never interleave a line). OSError raises."""
    data = event.to_json()
    line = json.dumps(data, ensure_ascii=False)
    if len(line) > MAX_LINE:
        data["detail"] = f"{data['detail']} ({len(event.dates)} dates, cut)"[:1000]
        data["dates"] = event.dates[:100]
        line = json.dumps(data, ensure_ascii=False)
    jsonl.append_line(events_path(state_dir), line)  # UnsafeFile: a FIFO, a link


def read(state_dir: Path, since: float | None = None, limit: int = 1000) -> list[Event]:
    """The last `limit` events (oldest first) at or after `since`, from a bounded read."""
    out: list[Event] = []
    for data in jsonl.read(events_path(state_dir), READ_BYTES):
        ev = Event.from_json(data)
        if ev is not None and (since is None or ev.at >= since):
            out.append(ev)
    return out[-limit:] if limit else out


def read_events(store: Any, since: float | None = None, limit: int = 1000) -> list[Event]:
    """The store's events (see `read`); `store` is a `jobs.store.Store` (its `root`)."""
    return read(store.root, since, limit)
