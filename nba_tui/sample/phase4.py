"""Phase 4 (precompute cascade) and phase 5 (predictions, grading) derivations.

Rolling windows cover the last `WINDOW` game dates of the season up to the date itself. The
composite factors fall back to *synthetic* context computed from player_game_summary when the
betting-derived upcoming context is missing for the date, and say so: `synthetic = 2` where the
date has no betting lines at all (degraded by necessity: nothing can ever fill the context),
`synthetic = 1` where the lines exist but the context was not built yet (degraded by choice,
`--skip-preflight`). That is the degraded-but-running path the incident write-up warns about.
"""

from __future__ import annotations

import datetime as dt
import json

from nba_tui.sample.context import Context, r4, ratio
from nba_tui.sample.tables import BY_NAME


def _src(name: str) -> str:
    return BY_NAME[name].ref.sqlite_sql()


PGS, TOS = _src("player_game_summary"), _src("team_offense_game_summary")
TDS = _src("team_defense_game_summary")
UPC, UTC = _src("upcoming_player_game_context"), _src("upcoming_team_game_context")
TDZA, PSZA = _src("team_defense_zone_analysis"), _src("player_shot_zone_analysis")
PDC, PCF = _src("player_daily_cache"), _src("player_composite_factors")
MLFS, PRED = _src("ml_feature_store"), _src("predictions")
SYNTHETIC_BY_CHOICE, SYNTHETIC_BY_NECESSITY = 1, 2
"""The `synthetic` flag's values: context not built yet / no betting lines on the date at all."""


def _teams_today(ctx: Context, day: str) -> dict[int, str]:
    sql = f"SELECT player_id, team FROM {PGS} WHERE game_date = ?"  # noqa: S608
    return dict(ctx.conn.execute(sql, (day,)).fetchall())


def team_defense_zone_analysis(ctx: Context, day: str) -> list[tuple]:
    first, last = ctx.window(day)
    rows = ctx.conn.execute(
        "SELECT team, COUNT(*), AVG(opp_points), SUM(opp_fgm) * 1.0 / SUM(opp_fga), "  # noqa: S608
        "SUM(opp_fg3m) * 1.0 / SUM(opp_fg3a), AVG(opp_paint_points), AVG(defensive_rating) "
        f"FROM {TDS} WHERE game_date BETWEEN ? AND ? "  # noqa: S608
        f"AND team IN (SELECT team FROM {TDS} WHERE game_date = ?) GROUP BY team ORDER BY team",
        (first, last, day),
    ).fetchall()
    (league,) = ctx.conn.execute(
        f"SELECT AVG(opp_paint_points) FROM {TDS} WHERE game_date BETWEEN ? AND ?",  # noqa: S608
        (first, last),
    ).fetchone()
    return [
        (day, team, n, r4(pts), r4(fg), r4(fg3), r4(paint), r4(drtg), ratio(paint - league, league))
        for team, n, pts, fg, fg3, paint, drtg in rows
    ]


def _player_window(ctx: Context, day: str, aggregates: str) -> list[tuple]:
    """(player_id, games, *aggregates) over the rolling window before `day`, for the players who
    play on `day`. `aggregates` is one of this module's constant column lists, never input."""
    first, last = ctx.window(day)
    sql = (
        f"SELECT player_id, COUNT(*), {aggregates} FROM {PGS} "  # noqa: S608
        "WHERE game_date BETWEEN ? AND ? "
        f"AND player_id IN (SELECT player_id FROM {PGS} WHERE game_date = ?) "
        "GROUP BY player_id ORDER BY player_id"
    )
    return ctx.conn.execute(sql, (first, last, day)).fetchall()


def player_shot_zone_analysis(ctx: Context, day: str) -> list[tuple]:
    rows = _player_window(
        ctx, day, "SUM(fga), SUM(paint_fga), SUM(fg3a), SUM(paint_fgm), SUM(fgm), SUM(fg3m)"
    )
    teams = _teams_today(ctx, day)
    out = []
    for pid, n, fga, pfga, fg3a, pfgm, fgm, fg3m in rows:
        team = teams[pid]
        mid_a, mid_m = fga - pfga - fg3a, fgm - pfgm - fg3m
        shares = {"paint": pfga, "mid": mid_a, "three": fg3a}
        zone = max(shares, key=lambda k: (shares[k], k)) if fga else None
        out.append(
            (day, pid, team, n, fga, ratio(pfga, fga), ratio(mid_a, fga), ratio(fg3a, fga),
             ratio(pfgm, pfga), ratio(mid_m, mid_a), ratio(fg3m, fg3a), zone)
        )  # fmt: skip
    return out


def player_daily_cache(ctx: Context, day: str) -> list[tuple]:
    first, last = ctx.window(day)
    pace = dict(
        ctx.conn.execute(
            f"SELECT team, AVG(pace) FROM {TOS} WHERE game_date BETWEEN ? AND ? "  # noqa: S608
            "GROUP BY team",
            (first, last),
        ).fetchall()
    )
    rows = _player_window(
        ctx,
        day,
        "AVG(points), AVG(rebounds), AVG(assists), AVG(minutes), AVG(usage_rate), AVG(ts_pct)",
    )
    teams = _teams_today(ctx, day)
    return [
        (day, pid, teams[pid], n, r4(p), r4(rb), r4(a), r4(m), r4(u), r4(ts),
         r4(pace.get(teams[pid])))
        for pid, n, p, rb, a, m, u, ts in rows
    ]  # fmt: skip


def _synthetic_rest(ctx: Context, day: str) -> dict[int, int | None]:
    """Days since each player's previous game this season, from player_game_summary alone."""
    season = ctx.season_of[day]
    return {
        pid: None if prev is None else _days(prev, day)
        for pid, prev in ctx.conn.execute(
            f"SELECT d.player_id, p.last FROM {PGS} AS d LEFT JOIN "  # noqa: S608
            f"(SELECT player_id, MAX(game_date) AS last FROM {PGS} "
            "WHERE game_date >= ? AND game_date < ? GROUP BY player_id) AS p "
            "ON p.player_id = d.player_id WHERE d.game_date = ?",
            (season, day, day),
        )
    }


def _days(a: str, b: str) -> int:
    return (dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days


def _fatigue(rest: int | None) -> float:
    return {None: 0.02, 1: -0.05, 2: 0.0}.get(rest, 0.02)


def _fallback_flag(ctx: Context, day: str) -> int:
    """Why the date runs on synthetic context: no betting lines at all, or not built yet."""
    if ctx.has_rows("bettingpros_player_props", day):
        return SYNTHETIC_BY_CHOICE
    return SYNTHETIC_BY_NECESSITY


def player_composite_factors(ctx: Context, day: str) -> list[tuple]:
    """Four factors per player; context from betting-derived tables, else synthetic."""
    has_context = ctx.has_rows("upcoming_player_game_context", day) and ctx.has_rows(
        "upcoming_team_game_context", day
    )
    flag = 0 if has_context else _fallback_flag(ctx, day)
    lines: dict[int, float] = {}
    team_rest: dict[str, int | None] = {}
    synth_rest: dict[int, int | None] = {}
    synth_line: dict[int, float] = {}
    if has_context:
        lines = dict(
            ctx.conn.execute(
                f"SELECT player_id, points_line FROM {UPC} WHERE game_date = ?",  # noqa: S608
                (day,),
            ).fetchall()
        )
        team_rest = dict(
            ctx.conn.execute(
                f"SELECT team, days_rest FROM {UTC} WHERE game_date = ?",  # noqa: S608
                (day,),
            ).fetchall()
        )
    else:
        synth_rest = _synthetic_rest(ctx, day)
        first, _ = ctx.window(day)
        synth_line = {
            pid: int(avg) + 0.5
            for pid, avg in ctx.conn.execute(
                f"SELECT player_id, AVG(points) FROM {PGS} WHERE game_date >= ? "  # noqa: S608
                "AND game_date < ? GROUP BY player_id",
                (first, day),
            )
        }
    rows = ctx.conn.execute(
        "SELECT g.game_id, g.player_id, g.team, g.opponent, g.usage_rate, z.paint_rate, "  # noqa: S608
        "z.three_rate, dz.paint_weakness, dz.opp_fg3_pct, o.pace "
        f"FROM {PGS} AS g "  # noqa: S608
        f"LEFT JOIN {PSZA} AS z ON z.game_date = g.game_date AND z.player_id = g.player_id "
        f"LEFT JOIN {TDZA} AS dz ON dz.game_date = g.game_date AND dz.team = g.opponent "
        f"LEFT JOIN {TOS} AS o ON o.game_date = g.game_date AND o.game_id = g.game_id "
        "AND o.team = g.team WHERE g.game_date = ? ORDER BY g.game_id, g.team, g.player_id",
        (day,),
    ).fetchall()
    out = []
    for gid, pid, team, opp, usage, paint, three, weak, opp3, pace in rows:
        if has_context:
            rest, line, source = team_rest.get(team), lines.get(pid), "betting"
        else:
            rest, line, source = synth_rest.get(pid), synth_line.get(pid), "synthetic"
        fatigue = _fatigue(rest)
        zone = (paint or 0) * (weak or 0) * 0.5 + (three or 0) * ((opp3 or 0.355) - 0.355)
        pace_f = ((pace or 100.0) / 100.0 - 1.0) * 0.5
        usage_f = ((usage or 20.0) - 20.0) / 200.0
        total = max(-0.25, min(0.25, fatigue + zone + pace_f + usage_f))
        out.append(
            (day, gid, pid, team, opp, rest, int(rest == 1), line, r4(fatigue), r4(zone),
             r4(pace_f), r4(usage_f), r4(total), flag, source)
        )  # fmt: skip
    return out


def ml_feature_store(ctx: Context, day: str) -> list[tuple]:
    rows = ctx.conn.execute(
        "SELECT f.game_id, f.player_id, c.points_avg, c.minutes_avg, c.usage_avg, c.ts_avg, "  # noqa: S608
        "f.fatigue_factor, f.shot_zone_factor, f.pace_factor, f.usage_factor, "
        "f.composite_adjustment, f.points_line, f.days_rest, f.synthetic "
        f"FROM {PCF} AS f JOIN {PDC} AS c "  # noqa: S608
        "ON c.game_date = f.game_date AND c.player_id = f.player_id "
        "WHERE f.game_date = ? ORDER BY f.game_id, f.player_id",
        (day,),
    ).fetchall()
    names = (
        "points_avg_10", "minutes_avg_10", "usage_avg_10", "ts_avg_10", "fatigue", "shot_zone",
        "pace", "usage", "composite", "points_line", "days_rest",
    )  # fmt: skip
    out = []
    for r in rows:
        features = dict(zip(names, r[2:13], strict=True))
        out.append((day, r[0], r[1], json.dumps(features, sort_keys=True), len(features), r[13]))
    return out


def predictions(ctx: Context, day: str) -> list[tuple]:
    out = []
    for gid, pid, blob in ctx.conn.execute(
        f"SELECT game_id, player_id, features FROM {MLFS} WHERE game_date = ? "  # noqa: S608
        "ORDER BY game_id, player_id",
        (day,),
    ):
        f = json.loads(blob)
        predicted = round((f["points_avg_10"] or 0.0) * (1 + (f["composite"] or 0.0)), 1)
        line = f["points_line"]
        if line is None:
            rec, conf = "NO_LINE", None
        else:
            rec = "OVER" if predicted > line + 1 else "UNDER" if predicted < line - 1 else "PASS"
            conf = r4(min(0.95, 0.5 + abs(predicted - line) / 20))
        out.append((day, gid, pid, "sample-v1", predicted, line, rec, conf))
    return out


def prediction_accuracy(ctx: Context, day: str) -> list[tuple]:
    out = []
    for gid, pid, predicted, line, rec, actual in ctx.conn.execute(
        "SELECT p.game_id, p.player_id, p.predicted_points, p.points_line, p.recommendation, "  # noqa: S608
        f"g.points FROM {PRED} AS p JOIN {PGS} AS g "  # noqa: S608
        "ON g.game_date = p.game_date AND g.player_id = p.player_id "
        "WHERE p.game_date = ? ORDER BY p.game_id, p.player_id",
        (day,),
    ):
        if line is None:
            outcome, correct = None, None
        else:
            outcome = "OVER" if actual > line else "UNDER" if actual < line else "PUSH"
            correct = int(rec == outcome) if rec in ("OVER", "UNDER") else None
        err = r4(predicted - actual)
        out.append((day, gid, pid, predicted, actual, line, abs(err or 0.0), err, outcome, correct))
    return out
