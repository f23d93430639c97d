"""The per-tick decision (jobs/decide.py) is pure: the same snapshot, plan, members, slots and
`now` give the same answer; back-off follows `now`, reserved jobs wait for their inputs' jobs,
and a reserved job that cannot be ready while nothing runs is released."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from autopilot_helpers import small_warehouse
from test_schedule import YAML

from nba_tui import config
from nba_tui.jobs.decide import Member, decide
from nba_tui.jobs.model import Plan
from nba_tui.monitor import snapshot_once

D = [dt.date(2024, 1, d) for d in range(1, 11)]


def _setup(tmp_path: Path, present: dict[str, int]) -> tuple[config.Pipeline, object]:
    (tmp_path / "pipeline.yaml").write_text(YAML)
    pipe = config.load(tmp_path / "pipeline.yaml")
    small_warehouse(pipe, [d.isoformat() for d in D], present)
    return pipe, snapshot_once(pipe)


def test_decide_is_a_function_of_its_inputs_and_now(tmp_path: Path) -> None:
    pipe, snap = _setup(tmp_path, {"a": 4, "b": 0})
    plan = Plan("p1", "run", ["p1"], "u", 0.0)
    first = decide(pipe, snap, plan, [], 2, now=100.0)
    assert [(s.table, s.start, s.end) for s in first.shards] == [
        ("a", D[4], D[7]),
        ("b", D[0], D[3]),
    ]
    assert decide(pipe, snap, plan, [], 2, now=100.0) == first  # same inputs, same answer
    assert not decide(pipe, snap, plan, [], 0, now=100.0)  # no free slot: nothing
    # a date in its back-off is held until `now` passes its retry time
    plan.retry_at = {"b": {d.isoformat(): 150.0 for d in D[:4]}}
    held = decide(pipe, snap, plan, [], 2, now=100.0)
    assert {s.table for s in held.shards} == {"a"}
    later = decide(pipe, snap, plan, [], 2, now=151.0)
    assert [s.table for s in later.shards] == ["a", "b"]
    # a running shard covers its dates: they are not offered again
    running = Member("j1", "a", frozenset(D[4:8]), active=True)
    more = decide(pipe, snap, plan, [running], 1, now=200.0)
    assert all(not set(s.dates) & set(D[4:8]) for s in more.shards)


def test_reserved_jobs_wait_for_their_inputs_then_start_or_are_released(tmp_path: Path) -> None:
    pipe, snap = _setup(tmp_path, {"a": 4, "b": 0})
    plan = Plan("p1", "phase", ["p1"], "u", 0.0)
    a = Member("ja", "a", frozenset(D[4:]), active=False, reserved=True)
    b = Member("jb", "b", frozenset(D), active=False, reserved=True)
    out = decide(pipe, snap, plan, [a, b], 2, now=0.0)
    assert (out.start, out.shards, out.release) == (["ja"], [], [])  # b waits for a's job
    a_runs = Member("ja", "a", a.dates, active=True)
    assert not decide(pipe, snap, plan, [a_runs, b], 1, now=0.0)
    # a ended without filling its dates and nothing runs: b can never be whole, it is released
    out = decide(pipe, snap, plan, [b], 2, now=0.0)
    assert (out.start, out.release) == ([], ["jb"])
    # released (ended), b's ready dates go to a shard like any other
    ended = Member("jb", "b", b.dates, active=False)
    out = decide(pipe, snap, plan, [ended], 2, now=0.0)
    assert [s.dates for s in out.shards if s.table == "b"] == [D[:4]]
