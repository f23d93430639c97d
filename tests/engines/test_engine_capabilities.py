"""Engines by capability: a driver added to the registry's table (here from the test) with its
own capabilities — a list of dates instead of a range, its own {python}, a price, a grid mark —
is used by the argv builder, the grid, the cost and `jobs --json` without a change to any of
them; and the two real drivers declare what the code asked of their names before."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from nba_tui import config
from nba_tui.cli.listings import remote_line, view_json
from nba_tui.config import Pipeline
from nba_tui.jobs import facts, schedule
from nba_tui.jobs.engines import registry
from nba_tui.jobs.engines.capability import LOCAL, Capabilities
from nba_tui.jobs.engines.drivers import EngineError, RemoteRun, RemoteState
from nba_tui.jobs.model import JobRecord, JobState, JobView, Progress
from nba_tui.jobs.words import is_remote, remote_state_text
from nba_tui.tui.cells import job_cells, remote_word

REPO = Path(__file__).resolve().parents[2]
TABLE = "team_defense_game_summary"
FAKE_PYTHON = "/opt/fake/bin/python3"


class FakeDriver:
    """An engine that runs nothing; only its declared capabilities matter here."""

    name = "fake"
    capabilities = Capabilities(
        name,
        mark="fk",
        date_list=True,
        python=lambda pipeline: FAKE_PYTHON,
        price_per_task_second=lambda pipeline: 0.5,
    )

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline) -> FakeDriver:
        return cls(pipeline)

    def check(self) -> None:
        return None

    def submit(self, argv: list[str], env: dict[str, str], labels: dict[str, str]) -> str:
        return "fake-1"

    def get(self, run_id: str) -> RemoteRun:
        return RemoteRun(run_id, RemoteState.RUNNING)

    def logs(self, run_id: str, cursor: str | None) -> tuple[list[str], str | None]:
        return [], cursor

    def cancel(self, run_id: str) -> None:
        return None

    def find(self, labels: dict[str, str]) -> list[RemoteRun]:
        return []


@pytest.fixture
def fake_pipe(monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    """The repository's pipeline with every table on engine `fake`, registered for the test."""
    monkeypatch.setitem(registry.DRIVERS, FakeDriver.name, FakeDriver)
    pipe = config.load(REPO / "pipeline.yaml")
    jobs = pipe.jobs.model_copy(update={"engine": FakeDriver.name})
    return pipe.model_copy(update={"jobs": jobs})


def record(**fields: object) -> JobRecord:
    base = JobRecord(
        "f1", TABLE, ["x"], "", 1.0, "u", state=JobState.RUNNING, started_at=1.0,
        engine=FakeDriver.name, remote_id="fake-1", remote_state="running",
    )  # fmt: skip
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def test_the_argv_builder_launches_a_range_as_a_list_with_the_engines_python(
    fake_pipe: Pipeline,
) -> None:
    days = [dt.date(2022, 1, 3), dt.date(2022, 1, 4), dt.date(2022, 1, 5)]
    shard = schedule.Shard(TABLE, days, 0, 1)
    assert shard.contiguous  # a range on any engine that takes one
    argv = schedule.shard_argv(fake_pipe, shard)
    assert argv[0] == FAKE_PYTHON
    assert "2022-01-03,2022-01-04,2022-01-05" in argv
    assert "--start-date" not in argv
    assert registry.driver_for(fake_pipe, "fake").pipeline is fake_pipe


def test_the_grid_and_the_words_use_the_engines_mark(fake_pipe: Pipeline) -> None:
    view = JobView(record(), Progress())
    assert job_cells(view, 61.0)["job"][0] == "run@fk"
    assert remote_word(record(state=JobState.PAUSED), (2, 4), room=10) == "pau@fk 2/4"
    assert remote_state_text(record()) == "running on fake"
    assert is_remote(record())


def test_the_cost_uses_the_engines_price(fake_pipe: Pipeline) -> None:
    rec = record(task_seconds=100.0)
    assert facts.cost_usd(rec, fake_pipe) == 50.0
    assert view_json(JobView(rec, Progress()), 61.0, fake_pipe)["cost_usd"] == 50.0
    assert remote_line(rec, fake_pipe) == "  fake: running on fake · $50.00 (100 task-s)"


def test_the_real_drivers_declare_what_differs() -> None:
    pipe = config.load(REPO / "pipeline.yaml")
    cloud, ray = registry.capabilities("cloudrun"), registry.capabilities("ray")
    assert (cloud.mark, cloud.date_list, ray.mark, ray.date_list) == ("cr", True, "ray", False)
    assert cloud.price_per_task_second(pipe) == 0.000024 and ray.price_per_task_second(pipe) is None
    assert registry.capabilities(LOCAL.name) is LOCAL and not LOCAL.remote
    assert registry.capabilities("batch").mark == "bat"  # a record of an engine unknown here
    with pytest.raises(EngineError, match="unknown engine 'batch'; use local, cloudrun or ray"):
        registry.driver_for(pipe, "batch")
    with pytest.raises(EngineError, match="jobs.ray is not set"):
        registry.driver_for(pipe, "ray")
