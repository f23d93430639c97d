"""Phase 3 derivations: one date's analytics rows from that date's raw rows.

Each function returns the complete row set for the date, in the table's column order and in a
stable order, so that the initial warehouse build and any later backfill write identical rows.
"""

from __future__ import annotations

from collections import defaultdict

from nba_tui.sample.context import Context, r4, ratio
from nba_tui.sample.tables import BY_NAME

_BOX = BY_NAME["bdl_box_scores"].ref.sqlite_sql()
_PROPS = BY_NAME["bettingpros_player_props"].ref.sqlite_sql()


def player_game_summary(ctx: Context, day: str) -> list[tuple]:
    """Box scores plus shooting efficiency and usage rate (which needs the team's totals)."""
    rows = ctx.conn.execute(
        "SELECT game_id, player_id, player_name, team, opponent, is_home, starter, minutes, "  # noqa: S608
        "points, rebounds, assists, steals, blocks, turnovers, fgm, fga, fg3m, fg3a, paint_fgm, "
        f"paint_fga, ftm, fta FROM {_BOX} WHERE game_date = ? "  # noqa: S608
        "ORDER BY game_id, team, player_id",
        (day,),
    ).fetchall()
    team: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in rows:
        t = team[(r[0], r[3])]
        t[0] += r[7]
        t[1] += r[15] + 0.44 * r[21] + r[13]
    out = []
    for r in rows:
        (gid, pid, name, tm, opp, home, starter, mins, pts, reb, ast, stl, blk, tov) = r[:14]
        fgm, fga, fg3m, fg3a, pfgm, pfga, ftm, fta = r[14:]
        team_min, team_plays = team[(gid, tm)]
        plays = fga + 0.44 * fta + tov
        usage = 100 * plays * (team_min / 5) / (mins * team_plays) if mins and team_plays else None
        out.append(
            (
                day, gid, pid, name, tm, opp, home, starter, mins, pts, reb, ast, stl, blk, tov,
                fgm, fga, fg3m, fg3a, pfgm, pfga, ftm, fta,
                ratio(fgm, fga), ratio(fg3m, fg3a), ratio(pts, 2 * (fga + 0.44 * fta)), r4(usage),
            )
        )  # fmt: skip
    return out


def _team_totals(ctx: Context, day: str) -> list[tuple]:
    return ctx.conn.execute(
        "SELECT game_id, team, opponent, is_home, SUM(points), SUM(fgm), SUM(fga), SUM(fg3m), "  # noqa: S608
        "SUM(fg3a), SUM(ftm), SUM(fta), SUM(oreb), SUM(dreb), SUM(rebounds), SUM(assists), "
        "SUM(turnovers), SUM(paint_fgm), SUM(steals), SUM(blocks), SUM(minutes) "
        f"FROM {_BOX} WHERE game_date = ? GROUP BY game_id, team ORDER BY game_id, team",  # noqa: S608
        (day,),
    ).fetchall()


def _possessions(t: tuple) -> float:
    """fga - oreb + tov + 0.44 fta (the standard estimate) for a `_team_totals` row."""
    return t[6] - t[11] + t[15] + 0.44 * t[10]


def team_offense_game_summary(ctx: Context, day: str) -> list[tuple]:
    out = []
    for t in _team_totals(ctx, day):
        poss = _possessions(t)
        game_minutes = t[19] / 5 if t[19] else 48.0
        out.append(
            (day, *t[:4], *t[4:16], 2 * t[16], r4(poss), ratio(100 * t[4], poss),
             r4(poss * 48 / game_minutes))
        )  # fmt: skip
    return out


def team_defense_game_summary(ctx: Context, day: str) -> list[tuple]:
    """Each team's defence is its opponent's offence in the same game."""
    totals = _team_totals(ctx, day)
    by_key = {(t[0], t[1]): t for t in totals}
    out = []
    for t in totals:
        o = by_key.get((t[0], t[2]))
        if o is None:  # a game with one side's box score only: nothing to say about defence
            continue
        out.append(
            (day, t[0], t[1], t[2], t[3], o[4], o[5], o[6], o[7], o[8], 2 * o[16], o[15],
             t[17], t[18], t[12], ratio(o[5], o[6]), ratio(o[7], o[8]),
             ratio(100 * o[4], _possessions(o)))
        )  # fmt: skip
    return out


def _game_of(ctx: Context, day: str) -> dict[str, tuple[str, str, int]]:
    """team -> (game_id, opponent, is_home) for the day's schedule."""
    out: dict[str, tuple[str, str, int]] = {}
    for g in ctx.games.get(day, []):
        out[g.home_team] = (g.game_id, g.away_team, 1)
        out[g.away_team] = (g.game_id, g.home_team, 0)
    return out


def upcoming_player_game_context(ctx: Context, day: str) -> list[tuple]:
    """Pregame context for each player with a line: rest from the schedule, line from props."""
    games = _game_of(ctx, day)
    rows = ctx.conn.execute(
        "SELECT game_id, player_id, player_name, team, points_line, rebounds_line, assists_line, "  # noqa: S608
        f"over_odds, under_odds FROM {_PROPS} WHERE game_date = ? "  # noqa: S608
        "ORDER BY game_id, team, player_id",
        (day,),
    ).fetchall()
    out = []
    for gid, pid, name, team, pts, reb, ast, over, under in rows:
        if team not in games:
            continue
        _, opp, home = games[team]
        rest, last7 = ctx.team_rest(team, day)
        implied = -over / (-over + 100) if over < 0 else 100 / (over + 100)
        out.append(
            (day, gid, pid, name, team, opp, home, rest, int(rest == 1), last7, pts, reb, ast,
             over, under, r4(implied))
        )  # fmt: skip
    return out


def upcoming_team_game_context(ctx: Context, day: str) -> list[tuple]:
    """Rest and schedule density per team, plus how much of the roster the market priced."""
    lines: dict[str, tuple[int, float]] = {
        team: (n, total)
        for team, n, total in ctx.conn.execute(
            f"SELECT team, COUNT(*), SUM(points_line) FROM {_PROPS} "  # noqa: S608
            "WHERE game_date = ? GROUP BY team",
            (day,),
        )
    }
    out = []
    for team, (gid, opp, home) in sorted(_game_of(ctx, day).items(), key=lambda x: (x[1][0], x[0])):
        rest, last7 = ctx.team_rest(team, day)
        opp_rest, _ = ctx.team_rest(opp, day)
        adv = rest - opp_rest if rest is not None and opp_rest is not None else None
        n, total = lines.get(team, (0, 0.0))
        out.append(
            (day, gid, team, opp, home, rest, int(rest == 1), last7, opp_rest, adv, n, r4(total))
        )
    return out
