"""The sample warehouse's tables: names, schemas and dependencies, in one place.

The backfill program receives only `--warehouse DIR`, not pipeline.yaml, so the table graph it
obeys lives here; it mirrors the repository's pipeline.yaml (a test checks they agree). Every
identifier used in SQL comes from these constants, never from user input.
"""

from __future__ import annotations

from dataclasses import dataclass

from nba_tui.identifiers import TableRef
from nba_tui.warehouse.sqlite_changes import change_ddl

BOOTSTRAP_DAYS = 14  # rolling windows need two weeks of a season before they mean anything
SEASON_GAP_DAYS = 60  # as pipeline.yaml's expected_dates.season_gap_days
WINDOW = 10  # rolling windows: the last 10 game dates of the season, up to the date itself

INT, REAL, TEXT = "INTEGER", "REAL", "TEXT"


@dataclass(frozen=True)
class TableDef:
    """One warehouse table as the sample programs know it."""

    name: str
    table: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    depends_on: tuple[str, ...] = ()
    soft_depends_on: tuple[str, ...] = ()
    skip_without: tuple[str, ...] = ()
    """Inputs whose absence on a date is expected (no betting lines): skip, do not fail."""
    bootstrap: bool = False
    pace: float = 0.3
    """Default simulated seconds of work per processed date."""

    @property
    def ref(self) -> TableRef:
        return TableRef.parse(self.table)

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]

    def ddl(self, counters: bool = True) -> list[str]:
        """CREATE statements (table, unique key, date index, change triggers) from the constants
        above."""
        ref = self.ref
        cols = ", ".join(f'"{c}" {t}' for c, t in self.columns)
        key = ", ".join(f'"{c}"' for c in self.key)
        src = ref.sqlite_sql()
        return [
            f"CREATE TABLE IF NOT EXISTS {src} ({cols})",
            f'CREATE UNIQUE INDEX IF NOT EXISTS "{ref.dataset}"."uq_{ref.table}" '
            f'ON "{ref.table}" ({key})',
            f'CREATE INDEX IF NOT EXISTS "{ref.dataset}"."ix_{ref.table}_game_date" '
            f'ON "{ref.table}" ("game_date")',
            # Change counters: a poll counts again only the dates written since the last one.
            *(change_ddl(ref.dataset, ref.table, "game_date") if counters else []),
        ]

    def insert_sql(self) -> str:
        marks = ", ".join("?" for _ in self.columns)
        names = ", ".join(f'"{c}"' for c in self.column_names)
        return f"INSERT INTO {self.ref.sqlite_sql()} ({names}) VALUES ({marks})"  # noqa: S608


def _cols(spec: str) -> tuple[tuple[str, str], ...]:
    """`"a:T b:I"` -> (("a", "TEXT"), ("b", "INTEGER")): keeps the schemas below readable."""
    kinds = {"T": TEXT, "I": INT, "R": REAL}
    return tuple((n, kinds[k]) for n, k in (item.split(":") for item in spec.split()))


PLAYER_KEY = ("game_date", "game_id", "player_id")
TEAM_KEY = ("game_date", "game_id", "team")

TABLES: tuple[TableDef, ...] = (
    TableDef(
        "nbac_schedule",
        "nba_raw.nbac_schedule",
        _cols("game_date:T game_id:T season:T game_type:T home_team:T away_team:T"),
        ("game_date", "game_id"),
    ),
    TableDef(
        "bdl_box_scores",
        "nba_raw.bdl_box_scores",
        _cols(
            "game_date:T game_id:T player_id:I player_name:T team:T opponent:T is_home:I "
            "starter:I minutes:R points:I fgm:I fga:I fg3m:I fg3a:I paint_fgm:I paint_fga:I "
            "ftm:I fta:I oreb:I dreb:I rebounds:I assists:I steals:I blocks:I turnovers:I fouls:I"
        ),
        PLAYER_KEY,
    ),
    TableDef(
        "bettingpros_player_props",
        "nba_raw.bettingpros_player_props",
        _cols(
            "game_date:T game_id:T player_id:I player_name:T team:T opponent:T bookmaker:T "
            "points_line:R rebounds_line:R assists_line:R over_odds:I under_odds:I"
        ),
        PLAYER_KEY,
    ),
    TableDef(
        "player_game_summary",
        "nba_analytics.player_game_summary",
        _cols(
            "game_date:T game_id:T player_id:I player_name:T team:T opponent:T is_home:I "
            "starter:I minutes:R points:I rebounds:I assists:I steals:I blocks:I turnovers:I "
            "fgm:I fga:I fg3m:I fg3a:I paint_fgm:I paint_fga:I ftm:I fta:I fg_pct:R fg3_pct:R "
            "ts_pct:R usage_rate:R"
        ),
        PLAYER_KEY,
        depends_on=("bdl_box_scores",),
        pace=0.35,
    ),
    TableDef(
        "team_offense_game_summary",
        "nba_analytics.team_offense_game_summary",
        _cols(
            "game_date:T game_id:T team:T opponent:T is_home:I points:I fgm:I fga:I fg3m:I "
            "fg3a:I ftm:I fta:I oreb:I dreb:I rebounds:I assists:I turnovers:I paint_points:I "
            "possessions:R offensive_rating:R pace:R"
        ),
        TEAM_KEY,
        depends_on=("bdl_box_scores",),
        pace=0.25,
    ),
    TableDef(
        "team_defense_game_summary",
        "nba_analytics.team_defense_game_summary",
        _cols(
            "game_date:T game_id:T team:T opponent:T is_home:I opp_points:I opp_fgm:I opp_fga:I "
            "opp_fg3m:I opp_fg3a:I opp_paint_points:I opp_turnovers:I steals:I blocks:I "
            "def_rebounds:I opp_fg_pct:R opp_fg3_pct:R defensive_rating:R"
        ),
        TEAM_KEY,
        depends_on=("bdl_box_scores",),
        pace=0.25,
    ),
    TableDef(
        "upcoming_player_game_context",
        "nba_analytics.upcoming_player_game_context",
        _cols(
            "game_date:T game_id:T player_id:I player_name:T team:T opponent:T is_home:I "
            "days_rest:I back_to_back:I games_last_7:I points_line:R rebounds_line:R "
            "assists_line:R over_odds:I under_odds:I implied_over_prob:R"
        ),
        PLAYER_KEY,
        depends_on=("bettingpros_player_props",),
        skip_without=("bettingpros_player_props",),
        pace=0.4,
    ),
    TableDef(
        "upcoming_team_game_context",
        "nba_analytics.upcoming_team_game_context",
        _cols(
            "game_date:T game_id:T team:T opponent:T is_home:I days_rest:I back_to_back:I "
            "games_last_7:I opponent_days_rest:I rest_advantage:I players_with_lines:I "
            "team_points_line:R"
        ),
        TEAM_KEY,
        depends_on=("bettingpros_player_props",),
        skip_without=("bettingpros_player_props",),
        pace=0.3,
    ),
    TableDef(
        "team_defense_zone_analysis",
        "nba_precompute.team_defense_zone_analysis",
        _cols(
            "game_date:T team:T games:I opp_points_avg:R opp_fg_pct:R opp_fg3_pct:R "
            "opp_paint_points_avg:R defensive_rating_avg:R paint_weakness:R"
        ),
        ("game_date", "team"),
        depends_on=("team_defense_game_summary",),
        bootstrap=True,
    ),
    TableDef(
        "player_shot_zone_analysis",
        "nba_precompute.player_shot_zone_analysis",
        _cols(
            "game_date:T player_id:I team:T games:I fga:I paint_rate:R mid_rate:R three_rate:R "
            "paint_fg_pct:R mid_fg_pct:R three_pct:R primary_zone:T"
        ),
        ("game_date", "player_id"),
        depends_on=("player_game_summary",),
        bootstrap=True,
    ),
    TableDef(
        "player_daily_cache",
        "nba_precompute.player_daily_cache",
        _cols(
            "game_date:T player_id:I team:T games:I points_avg:R rebounds_avg:R assists_avg:R "
            "minutes_avg:R usage_avg:R ts_avg:R team_pace_avg:R"
        ),
        ("game_date", "player_id"),
        depends_on=("team_offense_game_summary", "player_game_summary"),
        bootstrap=True,
    ),
    TableDef(
        "player_composite_factors",
        "nba_precompute.player_composite_factors",
        _cols(
            "game_date:T game_id:T player_id:I team:T opponent:T days_rest:I back_to_back:I "
            "points_line:R fatigue_factor:R shot_zone_factor:R pace_factor:R usage_factor:R "
            "composite_adjustment:R synthetic:I context_source:T"
        ),
        PLAYER_KEY,
        depends_on=(
            "team_defense_zone_analysis",
            "player_shot_zone_analysis",
            "player_game_summary",
            "team_offense_game_summary",
            "team_defense_game_summary",
        ),
        soft_depends_on=("upcoming_player_game_context", "upcoming_team_game_context"),
        bootstrap=True,
        pace=0.4,
    ),
    TableDef(
        "ml_feature_store",
        "nba_predictions.ml_feature_store_v2",
        _cols("game_date:T game_id:T player_id:I features:T feature_count:I synthetic:I"),
        PLAYER_KEY,
        depends_on=("player_composite_factors", "player_daily_cache", "player_game_summary"),
        bootstrap=True,
    ),
    TableDef(
        "predictions",
        "nba_predictions.player_prop_predictions",
        _cols(
            "game_date:T game_id:T player_id:I model_version:T predicted_points:R "
            "points_line:R recommendation:T confidence:R"
        ),
        PLAYER_KEY,
        depends_on=("ml_feature_store",),
        bootstrap=True,
        pace=0.2,
    ),
    TableDef(
        "prediction_accuracy",
        "nba_predictions.prediction_accuracy",
        _cols(
            "game_date:T game_id:T player_id:I predicted_points:R actual_points:I "
            "points_line:R abs_error:R signed_error:R outcome:T correct:I"
        ),
        PLAYER_KEY,
        depends_on=("predictions", "player_game_summary"),
        bootstrap=True,
        pace=0.2,
    ),
)

BY_NAME: dict[str, TableDef] = {t.name: t for t in TABLES}
RAW = ("nbac_schedule", "bdl_box_scores", "bettingpros_player_props")
BACKFILLABLE = tuple(t.name for t in TABLES if t.name not in RAW)
DATASETS = tuple(sorted({t.ref.dataset for t in TABLES}))


def table(name: str) -> TableDef:
    return BY_NAME[name]


def datasets_for(name: str) -> list[str]:
    """Datasets a backfill of `name` must attach: its own, its inputs', and the schedule's."""
    t = BY_NAME[name]
    names = {t.ref.dataset, "nba_raw"}
    names |= {BY_NAME[d].ref.dataset for d in (*t.depends_on, *t.soft_depends_on)}
    return sorted(names)
