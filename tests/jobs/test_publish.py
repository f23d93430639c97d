"""The one event-then-alert step (`alerts.publish`) and the one stale-episode rule
(`alerts.StaleEpisode`), shared by the plan runner, `nba-tui watch` and the dashboard."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from test_alerts import HOOK, pipeline

from nba_tui.jobs import alerts, events


def test_publish_records_the_event_then_delivers_it(tmp_path: Path) -> None:
    out = tmp_path / "hook.out"
    pipe = pipeline(tmp_path, [sys.executable, "-c", HOOK, str(out)])
    ev = events.new_event("coverage_dropped", table="t", dates=["2024-01-05"])
    assert alerts.publish(pipe, ev) is None
    assert [e.id for e in events.read(Path(pipe.state_dir))] == [ev.id]
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [ev.id]


def test_publish_hands_the_event_on_even_when_it_cannot_be_recorded(tmp_path: Path) -> None:
    pipe = pipeline(tmp_path, ["true"])
    state = Path(pipe.state_dir)
    state.mkdir(parents=True)
    (state / events.FILE_NAME).symlink_to(tmp_path / "elsewhere")
    sent: list[events.Event] = []
    ev = events.new_event("plan_failed", plan="p1")
    why = alerts.publish(pipe, ev, sent.append)
    assert why is not None and why.startswith("cannot record event plan_failed: ")
    assert sent == [ev]
    assert not (tmp_path / "elsewhere").exists()


def test_a_stale_episode_alerts_once_from_the_last_good_poll() -> None:
    rule = alerts.StaleEpisode(after=60.0)
    assert rule.failed(100.0, last_good=50.0) is None  # 50 s since the last good poll
    assert rule.failed(110.0, last_good=50.0) == 60.0
    assert rule.failed(500.0, last_good=50.0) is None  # once per episode
    rule.good()
    assert rule.since is None
    assert rule.failed(600.0) is None  # a new episode from its first failed poll
    assert rule.failed(660.0) == 60.0
