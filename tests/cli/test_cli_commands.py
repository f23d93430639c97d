"""The headless commands on the real embedded warehouse: exit codes, JSON, 80 columns, colour.

The seed's first question — "which tables are complete enough for Phase 4?" — in one command, and
the loop that answers it: fill team_defense's gaps with the real backfill program, ask again.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from nba_tui import config as cfg
from nba_tui.sample import build_warehouse

REPO = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-built")
    shutil.copy(REPO / "pipeline.yaml", root / "pipeline.yaml")
    build_warehouse(cfg.load(root / "pipeline.yaml"))
    return root


@pytest.fixture
def proj(built: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "proj"
    shutil.copytree(built, dst)
    return dst


def nba(proj: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nba_tui", *args, "--config", str(proj / "pipeline.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or clean_env(),
        cwd=proj,
        check=False,
    )


def distinct_dates(proj: Path, table: str) -> int:
    """Independent count straight from the warehouse file (not through nba_tui's code)."""
    dataset, name = table.split(".")
    conn = sqlite3.connect(proj / ".nba_tui" / "warehouse" / f"{dataset}.db")
    conn.execute("ATTACH DATABASE ? AS raw", (str(proj / ".nba_tui/warehouse/nba_raw.db"),))
    try:
        (n,) = conn.execute(
            f"SELECT COUNT(DISTINCT t.game_date) FROM main.{name} t "
            "WHERE t.game_date IN (SELECT game_date FROM raw.nbac_schedule) "
            "AND t.game_date BETWEEN ? AND ?",
            ("2021-10-19", "2026-01-02"),
        ).fetchone()
    finally:
        conn.close()
    return n


def test_status_shows_the_seed_picture(proj: Path) -> None:
    out = nba(proj, "status", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    tables = {t["name"]: t for p in data["phases"] for t in p["tables"]}
    assert 880 <= data["expected_dates"] <= 930
    exp = data["expected_dates"]
    for name in ("player_game_summary", "team_offense_game_summary"):
        assert tables[name]["present"] == exp and tables[name]["ok"]
    for name, share in (
        ("team_defense_game_summary", 0.915),
        ("upcoming_player_game_context", 0.526),
        ("upcoming_team_game_context", 0.585),
    ):
        t = tables[name]
        assert abs(t["share"] - share) < 0.01, (name, t["share"])
        assert not t["ok"]
        assert t["present"] == distinct_dates(proj, t["table"])
        assert t["missing"] == exp - t["present"]
    for p in data["phases"]:
        if p["name"] in ("phase4", "phase5"):
            assert all(t["present"] == 0 and t["share"] == 0 for t in p["tables"])
            assert all(t["bootstrap_dates"] > 0 for t in p["tables"])


def test_status_text_fits_80_columns_without_colour_when_piped(proj: Path) -> None:
    out = nba(proj, "status")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "\033[" not in out.stdout
    assert any(line.startswith("PHASE3") and "3 short" in line for line in lines)
    td = next(line for line in lines if "team_defense_game_summary" in line)
    assert "✘" in td and "91.5%" in td


def _run_in_pty(argv: list[str], env: dict[str, str]) -> str:
    """Run `argv` with stdout on a real terminal and return what it wrote."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvpe(argv[0], argv, env)
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


def test_colour_only_on_a_terminal_and_never_with_no_color(proj: Path) -> None:
    argv = [sys.executable, "-m", "nba_tui", "status", "--config", str(proj / "pipeline.yaml")]
    coloured = _run_in_pty(argv, clean_env(TERM="xterm"))
    assert "\033[32m" in coloured and "team_defense_game_summary" in coloured
    plain = _run_in_pty(argv, clean_env(TERM="xterm", NO_COLOR="1"))
    assert "\033[" not in plain and "team_defense_game_summary" in plain
    # no-color.org: an empty NO_COLOR is as if it were unset
    assert "\033[32m" in _run_in_pty(argv, clean_env(TERM="xterm", NO_COLOR=""))


def test_preflight_phase4_names_the_three_short_tables(proj: Path) -> None:
    out = nba(proj, "preflight", "phase4")
    assert out.returncode == 1
    assert "NOT READY (3 of 5 inputs short)" in out.stdout
    for name in ("team_defense_game_summary", "upcoming_player_game_context"):
        assert f"nba-tui launch {name} --missing" in out.stdout
    js = json.loads(nba(proj, "preflight", "phase4", "--json").stdout)
    assert js["ready"] is False
    assert js["failing"] == [
        "team_defense_game_summary",
        "upcoming_player_game_context",
        "upcoming_team_game_context",
    ]
    td = next(i for i in js["inputs"] if i["table"] == "team_defense_game_summary")
    assert sum(r["dates"] for r in td["missing_ranges"]) == td["missing"]
    assert td["fill_command"][-2] == "--dates"
    assert len(td["fill_command"][-1].split(",")) == td["missing"]


def test_filling_the_gaps_turns_preflight_green(proj: Path) -> None:
    """Run the real backfill commands that preflight prints; preflight then passes."""
    js = json.loads(nba(proj, "preflight", "phase4", "--json").stdout)
    env = clean_env(NBA_TUI_SAMPLE_PACE="0")
    results = {}
    for item in js["inputs"]:
        if item["fill_command"]:
            run = subprocess.run(
                item["fill_command"], capture_output=True, text=True, env=env, timeout=300
            )
            results[item["table"]] = run.returncode
        if item["table"] == "team_defense_game_summary":
            # After the first fill only the two upcoming tables are still short.
            mid = json.loads(nba(proj, "preflight", "phase4", "--json").stdout)
            assert mid["failing"] == ["upcoming_player_game_context", "upcoming_team_game_context"]
    assert results["team_defense_game_summary"] == 0
    after = nba(proj, "preflight", "phase4")
    assert after.returncode == 0, after.stdout
    assert "READY" in after.stdout and "NOT READY" not in after.stdout
    status = json.loads(nba(proj, "status", "--json").stdout)
    td = next(
        t for p in status["phases"] for t in p["tables"] if t["name"] == "team_defense_game_summary"
    )
    assert td["share"] == 1.0


def test_gaps_lists_ranges(proj: Path) -> None:
    out = nba(proj, "gaps", "team_defense_game_summary")
    assert out.returncode == 0
    js = json.loads(nba(proj, "gaps", "team_defense_game_summary", "--json").stdout)
    assert len(js["missing_dates"]) == js["missing"] > 0
    first = js["missing_ranges"][0]
    expected = first["start"] if first["dates"] == 1 else f"{first['start']}..{first['end']}"
    assert expected in out.stdout
    full = json.loads(nba(proj, "gaps", "nbac_schedule", "--json").stdout)
    assert (
        full["missing"] == 0
        and "0 missing in 0 ranges" in nba(proj, "gaps", "nbac_schedule").stdout
    )
    ranges = len(js["missing_ranges"])
    word = "range" if ranges == 1 else "ranges"
    assert f"{js['missing']} missing in {ranges} {word}" in out.stdout


def test_start_and_end_narrow_the_range(proj: Path) -> None:
    full = json.loads(nba(proj, "gaps", "upcoming_player_game_context", "--json").stdout)
    part = json.loads(
        nba(
            proj,
            "gaps",
            "upcoming_player_game_context",
            "--json",
            "--start",
            "2024-10-22",
            "--end",
            "2025-06-30",
        ).stdout
    )
    inside = [d for d in full["missing_dates"] if "2024-10-22" <= d <= "2025-06-30"]
    assert part["missing_dates"] == inside
    assert part["expected"] < full["expected"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gaps", "nope"], "unknown table nope (nba-tui status lists them)"),
        (
            ["gaps", "team_defense_game_sumary"],
            "unknown table team_defense_game_sumary; did you mean team_defense_game_summary?",
        ),
        (["launch", "player_game_sumary"], "did you mean player_game_summary?"),
        (["preflight", "phase9"], "unknown phase phase9; did you mean phase"),
        (["status", "--start", "2019-01-01"], "--start 2019-01-01 is outside the pipeline's range"),
        (["status", "--start", "2024-02-30"], "--start '2024-02-30': not a date"),
        (["status", "--start", "2025-01-02", "--end", "2024-01-01"], "is before --start"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(proj: Path, args: list[str], message: str) -> None:
    out = nba(proj, *args)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and message in out.stderr, out.stderr
    assert out.stdout == ""


def test_unreachable_warehouse_is_exit_2_and_nothing_lost(proj: Path) -> None:
    wh = proj / ".nba_tui" / "warehouse"
    (wh / "nba_raw.db").rename(proj / "nba_raw.db.aside")
    before = {p.name: p.stat().st_size for p in wh.glob("*.db")}
    out = nba(proj, "status")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert out.stderr.startswith("nba-tui: pipeline.yaml: warehouse: ")
    assert "schedule table nba_raw.nbac_schedule not found" in out.stderr
    assert "demo reset" in out.stderr
    # no dataset file created, removed or changed (readers may add WAL side files)
    assert {p.name: p.stat().st_size for p in wh.glob("*.db")} == before


def test_config_before_or_after_the_subcommand(proj: Path, tmp_path: Path) -> None:
    cfg_path = str(proj / "pipeline.yaml")
    for argv in (
        ["--config", cfg_path, "status", "--json"],
        ["status", "--json", "--config", cfg_path],
    ):
        out = subprocess.run(
            [sys.executable, "-m", "nba_tui", *argv],
            capture_output=True,
            text=True,
            timeout=120,
            env=clean_env(),
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["pipeline"] == "nba-props-platform"


def test_status_json_loads_neither_bigquery_nor_rich_nor_psutil(proj: Path) -> None:
    """On the embedded backend the answer needs the config, one poll and JSON: the BigQuery
    client, Rich and psutil stay unimported (the CLI answers at once)."""
    code = (
        "import io, sys\n"
        "from nba_tui.cli import main\n"
        "out, sys.stdout = sys.stdout, io.StringIO()\n"
        f"code = main(['status', '--json', '--config', {str(proj / 'pipeline.yaml')!r}])\n"
        "sys.stdout = out\n"
        "heavy = {'google', 'rich', 'psutil', 'textual', 'grpc'}\n"
        "print(code, sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=proj
    )
    assert out.stdout.strip() == "0 []", out.stdout + out.stderr[-2000:]
