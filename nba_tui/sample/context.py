"""What every derivation needs besides its input rows: the schedule, seasons and windows.

Loaded once per backfill run (the schedule is a few thousand rows), so per-date work is only the
date's own queries.
"""

from __future__ import annotations

import bisect
import datetime as dt
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field

from nba_tui.coverage import bootstrap_dates, season_starts
from nba_tui.sample.tables import BOOTSTRAP_DAYS, BY_NAME, SEASON_GAP_DAYS, WINDOW


@dataclass
class ScheduledGame:
    game_id: str
    home_team: str
    away_team: str


@dataclass
class Context:
    conn: sqlite3.Connection
    expected: list[str]
    games: dict[str, list[ScheduledGame]]
    team_dates: dict[str, list[str]]
    season_of: dict[str, str] = field(default_factory=dict)
    """Each game date -> the first game date of its season."""
    bootstrap: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> Context:
        src = BY_NAME["nbac_schedule"].ref.sqlite_sql()
        games: dict[str, list[ScheduledGame]] = defaultdict(list)
        team_dates: dict[str, list[str]] = defaultdict(list)
        sql = f"SELECT game_date, game_id, home_team, away_team FROM {src} ORDER BY 1, 2"  # noqa: S608
        for day, gid, home, away in conn.execute(sql):
            games[day].append(ScheduledGame(gid, home, away))
            team_dates[home].append(day)
            team_dates[away].append(day)
        expected = sorted(games)
        as_dates = [dt.date.fromisoformat(d) for d in expected]
        starts = season_starts(as_dates, SEASON_GAP_DAYS)
        season_of: dict[str, str] = {}
        for d in as_dates:
            season_of[d.isoformat()] = max(s for s in starts if s <= d).isoformat()
        boot = {d.isoformat() for d in bootstrap_dates(as_dates, starts, BOOTSTRAP_DAYS)}
        return cls(conn, expected, dict(games), dict(team_dates), season_of, boot)

    def window(self, day: str, size: int = WINDOW) -> tuple[str, str]:
        """First and last date of the rolling window ending at `day` (same season only)."""
        i = bisect.bisect_right(self.expected, day) - 1
        first = self.expected[max(0, i - size + 1)]
        return max(first, self.season_of[day]), day

    def team_rest(self, team: str, day: str) -> tuple[int | None, int]:
        """(days since the team's previous game this season or None, games in the prior 7 days)."""
        dates = self.team_dates.get(team, [])
        i = bisect.bisect_left(dates, day)
        prev = dates[i - 1] if i > 0 else None
        d = dt.date.fromisoformat(day)
        week = (d - dt.timedelta(days=7)).isoformat()
        last7 = i - bisect.bisect_left(dates, week)
        if prev is None or prev < self.season_of.get(day, day):
            return None, last7
        return (d - dt.date.fromisoformat(prev)).days, last7

    def has_rows(self, name: str, day: str) -> bool:
        src = BY_NAME[name].ref.sqlite_sql()
        sql = f"SELECT 1 FROM {src} WHERE game_date = ? LIMIT 1"  # noqa: S608
        return self.conn.execute(sql, (day,)).fetchone() is not None


def r4(x: float | None) -> float | None:
    """Round derived ratios so reruns compare equal regardless of float summation order."""
    return None if x is None else round(x, 4)


def ratio(num: float, den: float) -> float | None:
    return r4(num / den) if den else None
