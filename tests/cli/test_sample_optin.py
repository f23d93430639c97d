"""The embedded sample warehouse is built on first run only where the pipeline opts in
(`warehouse.sqlite.sample: true`, as the shipped pipeline.yaml does). A missing warehouse
anywhere else is a typo or a warehouse not made yet: exit 2, one line naming the path, and
nothing written to disk (no directory, no dataset files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = (REPO / "pipeline.yaml").read_text()
SHIPPED_SQLITE = "sqlite: {path: .nba_tui/warehouse, sample: true}"


def nba(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nba_tui", *args, "--config", str(root / "pipeline.yaml")],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=root,
        check=False,
    )


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_the_shipped_pipeline_opts_in() -> None:
    assert SHIPPED_SQLITE in SHIPPED


@pytest.mark.parametrize(
    "argv",
    [
        ["status"],
        ["status", "--json"],
        ["preflight", "phase4"],
        ["gaps", "team_defense_game_summary"],
        ["launch", "team_defense_game_summary", "--missing"],
        ["dashboard"],
    ],
)
def test_a_typo_in_the_path_is_exit_2_and_writes_nothing(tmp_path: Path, argv: list[str]) -> None:
    # A user's pipeline: the demo's tables, its own warehouse path (mistyped), no `sample`.
    typo = ".nba_tui/warehuose"
    (tmp_path / "pipeline.yaml").write_text(
        SHIPPED.replace(SHIPPED_SQLITE, f"sqlite: {{path: {typo}}}")
    )
    before = tree(tmp_path)
    out = nba(tmp_path, *argv)
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1, out.stderr
    assert str(tmp_path / typo) in out.stderr and "does not exist" in out.stderr
    assert tree(tmp_path) == before  # no .nba_tui/, no dataset files, no logs


def test_the_shipped_demo_builds_on_first_run(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(SHIPPED)
    out = nba(tmp_path, "status", "--json")
    assert out.returncode == 0, out.stderr
    assert "building the embedded warehouse" in out.stderr
    assert (tmp_path / ".nba_tui" / "warehouse" / "nba_raw.db").is_file()
    assert json.loads(out.stdout)["expected_dates"] > 800
