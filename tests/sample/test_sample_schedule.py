"""The schedule is the expected-date list: its shape must look like the NBA's."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from nba_tui.sample.schedule import (
    SCHEDULE_END,
    SCHEDULE_START,
    SEASONS,
    TEAMS,
    all_star_break,
    build_schedule,
    game_dates,
    thanksgiving,
)

GAMES = build_schedule()
DATES = game_dates(GAMES)


def test_date_count_and_bounds() -> None:
    assert 880 <= len(DATES) <= 930
    assert DATES[0] == SCHEDULE_START == dt.date(2021, 10, 19)
    assert DATES[-1] <= SCHEDULE_END


def test_thirty_real_teams_and_82_games() -> None:
    assert len(set(TEAMS)) == 30
    assert {"BOS", "LAL", "GSW", "OKC", "SAS"} <= set(TEAMS)
    for season in SEASONS[:4]:
        per_team: Counter[str] = Counter()
        for g in GAMES:
            if g.season == season.label and g.game_type == "regular":
                per_team.update((g.home_team, g.away_team))
        assert set(per_team) == set(TEAMS)
        assert set(per_team.values()) == {82}


def test_games_per_day_and_one_game_per_team_per_day() -> None:
    per_day = Counter(g.game_date for g in GAMES)
    assert min(per_day.values()) >= 1 and max(per_day.values()) <= 15
    for day in DATES:
        teams = [t for g in GAMES if g.game_date == day for t in (g.home_team, g.away_team)]
        assert len(teams) == len(set(teams)), day
    weekend = [n for d, n in per_day.items() if d.weekday() in (4, 5) and d.month in (11, 12, 1)]
    weekday = [n for d, n in per_day.items() if d.weekday() == 3 and d.month in (11, 12, 1)]
    assert sum(weekend) / len(weekend) > sum(weekday) / len(weekday)


def test_no_off_season_games() -> None:
    for d in DATES:
        assert not (dt.date(d.year, 6, 25) <= d <= dt.date(d.year, 10, 15)), d


def test_holidays_and_all_star_break() -> None:
    dates = set(DATES)
    for season in SEASONS:
        assert thanksgiving(season.opening.year) not in dates
        assert dt.date(season.opening.year, 12, 24) not in dates
    for season in SEASONS[:4]:
        brk = all_star_break(season)
        assert len(brk) == 6 and not brk & dates
        feb = sorted(d for d in dates if d.month == 2 and d.year == season.regular_end.year)
        longest = max((b - a).days for a, b in zip(feb, feb[1:], strict=False))
        assert longest >= 6


def test_postseason_shape() -> None:
    for season in SEASONS[:4]:
        post = [g for g in GAMES if g.season == season.label and g.game_type != "regular"]
        kinds = Counter(g.game_type for g in post)
        assert kinds["play_in"] == 6
        assert 60 <= kinds["playoffs"] <= 105
        assert min(g.game_date for g in post) > season.regular_end
        assert max(g.game_date for g in post).month == 6
        per_day = Counter(g.game_date for g in post)
        regular = Counter(g.game_date for g in GAMES if g.season == season.label) - per_day
        assert max(per_day.values()) <= 8
        assert len(post) / len(per_day) < 0.5 * sum(regular.values()) / len(regular)


def test_deterministic() -> None:
    assert build_schedule() == GAMES
    assert build_schedule(seed=1) != GAMES
