"""Phase 2 raw data: rosters, box scores and betting lines for the sample schedule.

Numbers only need to be plausible (a 30-minute starter scores 10-25, teams score ~110), but they
must be *deterministic*: the initial warehouse and a later backfill have to agree row for row.
Betting lines exist only from mid 2022-23 on, with holes, because the real bettingpros scraper
only ever captured lines ~24 h before tip-off: history has none, which is why the upcoming-context
tables can never reach 100 %.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from nba_tui.sample.schedule import TEAMS, Game

FIRST = (  # noqa: SIM905 - a readable list of names
    "Jalen Tyrese Marcus Devin Jaylen Darius Miles Andre Malik Trae Jamal Zion Luka "
    "Nikola Bam Kyle Cade Evan Paolo Scottie Franz Anthony Dejounte Desmond Keegan Tyler "
    "Brandon Aaron Josh Mikal Cam Derrick Jordan Kevin Gary Alperen Walker Immanuel "
    "Jabari Shai"
).split()
LAST = (  # noqa: SIM905 - a readable list of names
    "Brooks Carter Dawson Ellis Fields Graham Harper Irving Jackson Kendrick Lawson "
    "Mitchell Nash Owens Porter Quinn Reed Simmons Turner Vaughn Walsh Young Banks "
    "Coleman Dorsey Edwards Foster Grant Hayes Ingram Jones Knox Lowry Mason Norris "
    "Oliver Price Ross Sutton"
).split()

# Per roster slot: mean minutes and the chance of playing in a given game.
SLOT_MINUTES = (34, 33, 31, 29, 27, 24, 22, 20, 17, 14, 11, 9, 7, 5, 4)
SLOT_PLAYS = (0.93, 0.93, 0.94, 0.94, 0.95, 0.93, 0.92, 0.9, 0.85, 0.75, 0.6, 0.45, 0.35, 0.3, 0.25)
PROPS_FROM = dt.date(2023, 1, 12)  # "none for the first season and a half"
PROP_SLOTS = 8  # lines are posted for the rotation players


@dataclass(frozen=True)
class Player:
    player_id: int
    name: str
    team: str
    slot: int
    fga_rate: float  # field goal attempts per minute
    three_share: float
    paint_share: float  # share of two-point attempts taken in the paint
    fg_skill: float
    fta_rate: float
    reb_rate: float
    ast_rate: float


def rosters(seed: int) -> dict[str, list[Player]]:
    """Fifteen players per team, stable across seasons (ids 1..450)."""
    rng = random.Random(seed)
    out: dict[str, list[Player]] = {}
    names: set[str] = set()
    pid = 0
    for team in TEAMS:
        roster = []
        for slot in range(15):
            pid += 1
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            while name in names:
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            names.add(name)
            star = 1.0 + (0.35 if slot < 2 else 0.0)
            roster.append(
                Player(
                    player_id=pid,
                    name=name,
                    team=team,
                    slot=slot,
                    fga_rate=rng.uniform(0.26, 0.42) * star,
                    three_share=rng.uniform(0.15, 0.55),
                    paint_share=rng.uniform(0.35, 0.75),
                    fg_skill=rng.uniform(-0.03, 0.04),
                    fta_rate=rng.uniform(0.05, 0.14) * star,
                    reb_rate=rng.uniform(0.08, 0.3),
                    ast_rate=rng.uniform(0.04, 0.22),
                )
            )
        out[team] = roster
    return out


def _binom(rng: random.Random, n: int, p: float) -> int:
    """A fast binomial approximation (normal, clamped): exactness is not the point here."""
    if n <= 0:
        return 0
    x = round(n * p + rng.gauss(0.0, math.sqrt(n * p * (1 - p))))
    return max(0, min(n, x))


def _minutes(rng: random.Random, roster: list[Player]) -> list[tuple[Player, float]]:
    """Who plays and for how long; minutes are scaled so a team totals 240 (48 x 5)."""
    playing = [
        (p, max(1.0, rng.gauss(SLOT_MINUTES[p.slot], 4.0)))
        for p in roster
        if rng.random() < SLOT_PLAYS[p.slot]
    ]
    total = sum(m for _, m in playing)
    return [(p, round(m * 240.0 / total, 1)) for p, m in playing]


def box_rows(game: Game, teams: dict[str, list[Player]], rng: random.Random) -> Iterator[tuple]:
    """One row per player who played, in bdl_box_scores column order."""
    day = game.game_date.isoformat()
    sides = ((game.home_team, game.away_team, 1), (game.away_team, game.home_team, 0))
    for team, opp, home in sides:
        lineup = _minutes(rng, teams[team])
        starters = {p.player_id for p, _ in sorted(lineup, key=lambda x: -x[1])[:5]}
        for p, minutes in lineup:
            fga = max(0, round(minutes * p.fga_rate * rng.uniform(0.7, 1.3)))
            fg3a = _binom(rng, fga, p.three_share)
            twos = fga - fg3a
            paint_fga = _binom(rng, twos, p.paint_share)
            paint_fgm = _binom(rng, paint_fga, 0.58 + p.fg_skill)
            mid_fgm = _binom(rng, twos - paint_fga, 0.41 + p.fg_skill)
            fg3m = _binom(rng, fg3a, 0.355 + p.fg_skill / 2)
            fta = max(0, round(minutes * p.fta_rate * rng.uniform(0.3, 1.7)))
            ftm = _binom(rng, fta, 0.78)
            fgm = paint_fgm + mid_fgm + fg3m
            points = 2 * (paint_fgm + mid_fgm) + 3 * fg3m + ftm
            reb = max(0, round(minutes * p.reb_rate * rng.uniform(0.5, 1.5)))
            oreb = _binom(rng, reb, 0.22)
            yield (
                day,
                game.game_id,
                p.player_id,
                p.name,
                team,
                opp,
                home,
                int(p.player_id in starters),
                minutes,
                points,
                fgm,
                fga,
                fg3m,
                fg3a,
                paint_fgm,
                paint_fga,
                ftm,
                fta,
                oreb,
                reb - oreb,
                reb,
                max(0, round(minutes * p.ast_rate * rng.uniform(0.4, 1.6))),
                _binom(rng, round(minutes / 12), 0.35),
                _binom(rng, round(minutes / 15), 0.25),
                _binom(rng, round(minutes / 10), 0.3),
                _binom(rng, round(minutes / 8), 0.3),
            )


def props_dates(dates: list[dt.date], seed: int) -> set[dt.date]:
    """Dates with betting lines: none before PROPS_FROM, then a few scraper outages (short runs)."""
    rng = random.Random(seed)
    later = [d for d in dates if d >= PROPS_FROM]
    holes: set[dt.date] = set()
    while len(holes) < 14:
        i = rng.randrange(len(later))
        holes.update(later[i : i + rng.choice((1, 1, 1, 2, 3))])
    return set(later) - holes


def _half(x: float) -> float:
    return math.floor(x) + 0.5


def prop_rows(
    game: Game, box: list[tuple], teams: dict[str, list[Player]], rng: random.Random
) -> Iterator[tuple]:
    """Lines for the rotation players who took the floor (the market knew who was active)."""
    played = {row[2] for row in box}
    day = game.game_date.isoformat()
    for team, opp in ((game.home_team, game.away_team), (game.away_team, game.home_team)):
        for p in teams[team][:PROP_SLOTS]:
            if p.player_id not in played:
                continue
            mins = SLOT_MINUTES[p.slot]
            fga = mins * p.fga_rate
            exp_pts = (
                fga * (1 - p.three_share) * 2 * 0.5 + fga * p.three_share * 3 * 0.355
            ) + mins * p.fta_rate * 0.78
            shade = rng.randint(-8, 8)
            yield (
                day,
                game.game_id,
                p.player_id,
                p.name,
                team,
                opp,
                "bettingpros_consensus",
                _half(exp_pts * rng.uniform(0.92, 1.08)),
                _half(mins * p.reb_rate * rng.uniform(0.9, 1.1)),
                _half(mins * p.ast_rate * rng.uniform(0.9, 1.1)),
                -110 + shade,
                -110 - shade,
            )
