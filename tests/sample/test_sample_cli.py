"""`nba-tui demo reset | info` through the real main CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sample_helpers import Project, RunBackfill

from nba_tui import cli


def test_demo_reset_rebuilds_and_removes_checkpoints(
    project: Project, run_backfill: RunBackfill, capsys: pytest.CaptureFixture[str]
) -> None:
    r = run_backfill("team_defense_game_summary", "--dates", "2025-12-30", "--pace", "0")
    assert r.returncode == 0
    assert project.checkpoint("team_defense_game_summary").exists()
    before = project.query(
        "SELECT COUNT(*) FROM nba_analytics.team_defense_game_summary WHERE game_date = ?",
        ("2025-12-30",),
    )
    assert before[0][0] > 0
    config = str(project.root / "pipeline.yaml")
    assert cli.main(["demo", "reset", "--config", config]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("demo reset: built ")
    assert "removed 1 checkpoint" in out[0]
    assert not project.checkpoint("team_defense_game_summary").exists()
    after = project.query(
        "SELECT COUNT(*) FROM nba_analytics.team_defense_game_summary WHERE game_date = ?",
        ("2025-12-30",),
    )
    assert after[0][0] == 0  # back to the incident's state
    assert not list(project.warehouse.parent.glob(".warehouse.*"))


def test_demo_reset_removes_the_checkpoints_the_pipeline_names_outside_its_state_dir(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """With `state_dir` moved, the checkpoints the backfill's `checkpoint:` names (and its
    shards' own files) still go: left, every shard of the next night would resume past dates
    the reset emptied and write nothing."""
    text = (project.root / "pipeline.yaml").read_text()
    assert "state_dir: .nba_tui," in text
    moved = project.root / "moved.yaml"
    moved.write_text(text.replace("state_dir: .nba_tui,", "state_dir: elsewhere,"))
    cps = project.root / ".nba_tui" / "checkpoints"
    cps.mkdir(parents=True, exist_ok=True)
    planted = [
        cps / "team_defense_game_summary.json",
        cps / "player_daily_cache.2024-01-02_2024-01-09.json",
    ]
    other = cps / "notes.txt"
    for f in [*planted, other]:
        f.write_text("{}")
    assert cli.main(["demo", "reset", "--config", str(moved)]) == 0
    assert "removed 2 checkpoints" in capsys.readouterr().out
    assert not any(f.exists() for f in planted) and other.exists()


def test_demo_info(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(project.root / "pipeline.yaml")
    assert cli.main(["demo", "info", "--config", config, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["exists"] is True
    tables = data["tables"]
    assert tables["nbac_schedule"]["dates"] == 917
    assert tables["player_composite_factors"]["rows"] == 0
    assert cli.main(["demo", "info", "--config", config]) == 0
    text = capsys.readouterr().out
    assert "team_defense_game_summary" in text and "(empty)" in text


def test_demo_info_before_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sample_helpers import REPO

    (tmp_path / "pipeline.yaml").write_text((REPO / "pipeline.yaml").read_text())
    assert cli.main(["demo", "info", "--config", str(tmp_path / "pipeline.yaml")]) == 0
    assert "not built" in capsys.readouterr().out


def test_demo_reset_refuses_without_sample_true(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """A warehouse that is not the demo's is never overwritten with made-up data."""
    yaml = project.root / "pipeline.yaml"
    yaml.write_text(yaml.read_text().replace("sample: true", "sample: false"))
    before = project.query("SELECT COUNT(*) FROM nba_analytics.team_defense_game_summary")
    assert cli.main(["demo", "reset", "--config", str(yaml)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "warehouse.sqlite.sample is not true" in err and str(project.warehouse) in err
    after = project.query("SELECT COUNT(*) FROM nba_analytics.team_defense_game_summary")
    assert after == before


def test_demo_reset_refuses_while_a_job_is_active(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nba_tui.jobs.supervisor import Supervisor

    monkeypatch.setenv("NBA_TUI_SAMPLE_PACE", "5")  # slow enough to still be running
    sup = Supervisor(project.pipeline)
    job = sup.launch("team_defense_game_summary")
    config = str(project.root / "pipeline.yaml")
    try:
        assert cli.main(["demo", "reset", "--config", config]) == 1
        err = capsys.readouterr().err
        assert f"team_defense_game_summary ({job.id})" in err and "--force" in err
    finally:
        sup.stop(job.id, grace=1)
    capsys.readouterr()
    assert cli.main(["demo", "reset", "--config", config]) == 0
    # the stopped job described the data just replaced: archived, the grid starts afresh
    assert "archived 1 ended job" in capsys.readouterr().out
    assert sup.jobs() == []
