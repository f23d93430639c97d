"""Degraded dates are visible: rows flagged synthetic in the sample's
ml_feature_store show as a degraded share in `status` (80 columns), as dates in
`status --json` and `gaps`, and `preflight phase5` names the input and what it costs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from cli_helpers import run_cli, sample_built_fixture, sample_fixture  # noqa: F401 (fixtures)

DATES = ["2023-01-10", "2023-01-11", "2023-01-12", "2023-01-13"]


def _rows(proj: Path) -> None:
    """Four dates of ml_feature_store, three of them flagged synthetic."""
    conn = sqlite3.connect(proj / ".nba_tui" / "warehouse" / "nba_predictions.db")
    try:
        with conn:
            conn.executemany(
                "INSERT INTO ml_feature_store_v2 (game_date, player_id, synthetic) "
                "VALUES (?, ?, ?)",
                [(d, p, int(d != DATES[0] and p == 1)) for d in DATES for p in (1, 2)],
            )
    finally:
        conn.close()


def test_degraded_dates_in_status_json_gaps_and_preflight(sample: Path) -> None:
    before = run_cli(sample, "status")
    assert "degr." not in before.stdout  # nothing flagged: no column, no note
    _rows(sample)
    text = run_cli(sample, "status")
    assert text.returncode == 0, text.stderr
    assert max(len(line) for line in text.stdout.splitlines()) <= 80
    (line,) = [ln for ln in text.stdout.splitlines() if "ml_feature_store  " in ln]
    assert line.rstrip().endswith("75.0%")  # 3 of the 4 dates with rows are degraded
    assert "degraded dates (rows flagged synthetic" in text.stdout
    data = json.loads(run_cli(sample, "status", "--json").stdout)
    (pcf,) = [t for p in data["phases"] for t in p["tables"] if t["name"] == "ml_feature_store"]
    assert pcf["degraded_dates"] == DATES[1:]
    gaps = run_cli(sample, "gaps", "ml_feature_store")
    assert "degraded (rows on synthetic fallbacks): 3 dates, 75.0%" in gaps.stdout
    pre = run_cli(sample, "preflight", "phase5")
    assert "Degraded inputs (rows on synthetic fallbacks):" in pre.stdout
    assert "ml_feature_store: 3 dates (75.0%) built on synthetic" in pre.stdout
    flat = " ".join(pre.stdout.split())
    # 2023-01-11 can never be whole (no betting lines before 2023-01-12): no re-run is advised
    assert "1 on fallbacks by necessity: an input nothing fills lacks them" in flat
    assert "re-run ml_feature_store on the other 2 once its inputs are complete" in flat
    pre_json = json.loads(run_cli(sample, "preflight", "phase5", "--json").stdout)
    assert pre_json["degraded_inputs"] == ["ml_feature_store"]
    (inp,) = [i for i in pre_json["inputs"] if i["table"] == "ml_feature_store"]
    assert inp["degraded_dates"] == DATES[1:] and inp["degraded_by_necessity"] == 1


def test_preflight_advises_no_rerun_for_dates_on_fallbacks_by_necessity(sample: Path) -> None:
    conn = sqlite3.connect(sample / ".nba_tui" / "warehouse" / "nba_predictions.db")
    try:
        with conn:
            conn.execute(
                "INSERT INTO ml_feature_store_v2 (game_date, player_id, synthetic) VALUES (?, 1, 1)",
                (DATES[1],),
            )
    finally:
        conn.close()
    pre = run_cli(sample, "preflight", "phase5")
    flat = " ".join(pre.stdout.split())
    assert "ml_feature_store: 1 date (100.0%) built on synthetic" in flat, pre.stdout
    assert "they run on fallbacks by necessity: an input nothing fills lacks them" in flat
    assert "once its inputs are complete" not in flat
