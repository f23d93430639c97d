"""alerts.deliver: each alerting event to the hook once, as JSON on stdin; failures and hangs
are recorded as `alert_failed` events and never raised."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nba_tui import alerts, config
from nba_tui.jobs import events

HOOK = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read())"


def pipeline(tmp_path: Path, argv: list[str], timeout: str = "10s") -> config.Pipeline:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        f"""\
pipeline: alerts
range: {{start: 2024-01-01, end: 2024-01-31}}
expected_dates: {{table: raw.schedule}}
warehouse: {{backend: sqlite, sqlite: {{path: wh}}}}
jobs: {{state_dir: state, log_dir: logs}}
alerts: {{on_event: {json.dumps(argv)}, timeout: {timeout}}}
phases:
  - name: p
    tables:
      - {{name: t, table: ana.t}}
"""
    )
    return config.load(path)


def failures(pipe: config.Pipeline) -> list[str]:
    return [e.detail for e in events.read(Path(pipe.state_dir)) if e.kind == "alert_failed"]


def test_each_event_reaches_the_hook_once_as_json(tmp_path: Path) -> None:
    out = tmp_path / "hook.out"
    pipe = pipeline(tmp_path, [sys.executable, "-c", HOOK, str(out)])
    ev = events.new_event("job_failed", plan="p123456", table="t", dates=["2024-01-05"])
    alerts.deliver(pipe, ev)
    alerts.deliver(pipe, ev)  # the same id again (e.g. an adopted runner): not delivered twice
    alerts.deliver(pipe, events.new_event("job_started", plan="p123456", table="t"))  # no alert
    lines = out.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [ev.id]
    assert json.loads(lines[0])["kind"] == "job_failed"
    assert json.loads(lines[0])["dates"] == ["2024-01-05"]
    assert failures(pipe) == []


def test_a_hanging_hook_is_cut_at_its_timeout_and_recorded(tmp_path: Path) -> None:
    pipe = pipeline(tmp_path, [sys.executable, "-c", "import time; time.sleep(60)"], "1s")
    ev = events.new_event("plan_failed", plan="p123456")
    alerts.deliver(pipe, ev)  # returns (the hook is killed at 1 s), never raises
    assert failures(pipe) == [f"plan_failed {ev.id}: hook timed out after 1s"]


def test_a_failing_or_missing_hook_is_recorded_not_raised(tmp_path: Path) -> None:
    pipe = pipeline(tmp_path, [sys.executable, "-c", "raise SystemExit(3)"])
    ev = events.new_event("date_quarantined", plan="p123456", table="t", dates=["2024-01-05"])
    alerts.deliver(pipe, ev)
    assert failures(pipe) == [f"date_quarantined {ev.id}: hook exited 3"]
    missing = pipeline(tmp_path / "m", [str(tmp_path / "no-such-hook")])
    ev2 = events.new_event("plan_done", plan="p123456")
    alerts.deliver(missing, ev2)
    assert len(failures(missing)) == 1 and ev2.id in failures(missing)[0]
