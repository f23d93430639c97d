"""alerts.deliver: each alerting event to the hook once, as JSON on stdin; failures and hangs
are recorded as `alert_failed` events and never raised."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from jobs_helpers import wait_for

from nba_tui import config
from nba_tui.jobs import alerts, events

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


SPAWNS = """import subprocess, sys, time
p = subprocess.Popen(["sleep", "300"])
open(sys.argv[1], "w").write(str(p.pid))
if sys.argv[2] == "hang":
    time.sleep(300)
"""


def _gone(pid: int) -> bool:
    from nba_tui.jobs.procs import proc_stat

    st = proc_stat(pid)
    return st is None or st.state in ("Z", "X")


@pytest.mark.parametrize("how", ["hang", "exit"])
def test_a_hook_that_spawns_sleep_leaves_no_orphan(tmp_path: Path, how: str) -> None:
    pidfile, script = tmp_path / "child.pid", tmp_path / "spawns.py"
    script.write_text(SPAWNS)
    pipe = pipeline(tmp_path, [sys.executable, str(script), str(pidfile), how], "2s")
    ev = events.new_event("plan_failed", plan="p123456")
    alerts.deliver(pipe, ev)
    child = int(pidfile.read_text())
    wait_for(lambda: _gone(child), 10, "the hook's child killed with its group")
    if how == "hang":
        assert failures(pipe) == [f"plan_failed {ev.id}: hook timed out after 2s"]
    else:
        assert failures(pipe) == []


GATED = """import os, sys, time
data = sys.stdin.read()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.01)
open(sys.argv[1], "a").write(data)
"""


def test_deliverer_queues_and_a_slow_hook_never_blocks_the_caller(tmp_path: Path) -> None:
    out, gate, script = tmp_path / "hook.out", tmp_path / "gate", tmp_path / "gated.py"
    script.write_text(GATED)
    pipe = pipeline(tmp_path, [sys.executable, str(script), str(out), str(gate)], "60s")
    d = alerts.Deliverer(pipe)
    evs = [events.new_event("job_failed", plan="p123456", table="t") for _ in range(3)]
    for ev in evs:
        d.put(ev)  # returns at once: the hook waits for the gate
    assert not out.exists()
    assert not d.drain(0.2)  # (bounded wait: still queued)
    gate.touch()
    assert d.drain(60)
    got = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert got == [e.id for e in evs]  # once each, in order


def test_a_restarted_runner_delivers_what_the_dead_one_left_in_order(tmp_path: Path) -> None:
    out = tmp_path / "hook.out"
    pipe = pipeline(tmp_path, [sys.executable, "-c", HOOK, str(out)])
    state = Path(pipe.state_dir)
    mine = [events.new_event(k, plan="p123456") for k in ("job_failed", "phase_ready", "plan_done")]
    other = events.new_event("job_failed", plan="p999999")
    for ev in [mine[0], other, mine[1], mine[2]]:
        events.append(state, ev)
    events.append(state, events.new_event("job_started", plan="p123456"))  # not an alert
    alerts.deliver(pipe, mine[0])  # the dead runner delivered the first one
    d = alerts.Deliverer(pipe, "p123456")  # the new runner's
    assert d.drain(60)
    got = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert got == [e.id for e in mine]  # the first once, then the two it left, in order
    assert alerts.Deliverer(pipe, "p123456").drain(60)  # a third runner: nothing again
    assert len(out.read_text().splitlines()) == 3


def test_alerts_timeout_zero_is_refused_in_one_line_exit_2(tmp_path: Path) -> None:
    pipeline(tmp_path / "ok", [sys.executable, "-c", HOOK, "x"])  # a good one loads
    path = tmp_path / "ok" / "pipeline.yaml"
    path.write_text(path.read_text().replace("timeout: 10s", "timeout: 0s"))
    proc = subprocess.run(
        [sys.executable, "-m", "nba_tui", "status", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "alerts.timeout" in proc.stderr and "more than 0s" in proc.stderr, proc.stderr


def test_a_slow_hook_does_not_delay_a_shard_start(make_pipeline, tmp_path: Path) -> None:  # noqa: ANN001
    from nba_tui.jobs.model import PlanState
    from nba_tui.jobs.supervisor import Supervisor

    pipe = make_pipeline({"alpha": ["--fail-at", "1"], "beta": ["--delay", "0.3"]}, max_parallel=2)
    out, gate, script = tmp_path / "hook.out", tmp_path / "gate", tmp_path / "gated.py"
    script.write_text(GATED)
    argv = [sys.executable, str(script), str(out), str(gate)]
    text = pipe.source.read_text().replace(
        "stop_grace: 1s}", "stop_grace: 1s, retry_backoff: 0.1s}"
    )
    pipe.source.write_text(text + f"alerts: {{on_event: {json.dumps(argv)}, timeout: 120s}}\n")
    pipe = config.load(pipe.source)
    sup = Supervisor(pipe)
    plan = sup.run_phases(["p1"])
    try:
        wait_for(
            lambda: any(e.kind == "job_failed" for e in sup.events()), 60, "a job_failed alert"
        )
        failed_at = min(e.at for e in sup.events() if e.kind == "job_failed")
        # the hook of that alert waits for the gate; the runner still starts the next shard
        wait_for(
            lambda: any((v.record.started_at or 0) > failed_at for v in sup.jobs()),
            60,
            "a shard started while the hook hangs",
        )
        assert not out.exists()
    finally:
        gate.touch()
        if sup.plan(plan.id).state in (PlanState.RUNNING, PlanState.LOST):
            sup.cancel_plan(plan.id)
