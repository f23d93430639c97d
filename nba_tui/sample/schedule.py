"""A realistic, deterministic NBA schedule for 2021-22 .. 2025-26 (cut at 2026-01-02).

The schedule *is* the list of expected dates, so its shape matters more than its exact games: the
dashboard must show the off-season as "no expected dates", not as a gap, and rolling windows must
restart at each opening night. Everything comes from one seeded `random.Random`, never the network,
so every machine builds the same 917 game dates.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

EAST = ("ATL", "BOS", "BKN", "CHA", "CHI", "CLE", "DET", "IND", "MIA", "MIL", "NYK", "ORL", "PHI")
EAST = (*EAST, "TOR", "WAS")
WEST = ("DAL", "DEN", "GSW", "HOU", "LAC", "LAL", "MEM", "MIN", "NOP", "OKC", "PHX", "POR", "SAC")
WEST = (*WEST, "SAS", "UTA")
TEAMS: tuple[str, ...] = EAST + WEST

SCHEDULE_START = dt.date(2021, 10, 19)
SCHEDULE_END = dt.date(2026, 1, 2)
SEED = 20260105  # the day of the incident write-up

# Weekday weights (Mon..Sun): Wednesday and Friday are the big NBA nights, Thursday is TV-light.
_WEEKDAY_WEIGHT = (0.8, 1.0, 1.25, 0.65, 1.3, 1.15, 0.95)
_RANDOM_OFF_DAYS = 1  # per season, besides Thanksgiving, Christmas Eve and the All-Star break


@dataclass(frozen=True)
class Season:
    """One season's fixed calendar facts (real opening nights and regular-season finales)."""

    label: str
    opening: dt.date
    regular_end: dt.date
    all_star_sunday: dt.date


SEASONS: tuple[Season, ...] = (
    Season("2021-22", dt.date(2021, 10, 19), dt.date(2022, 4, 10), dt.date(2022, 2, 20)),
    Season("2022-23", dt.date(2022, 10, 18), dt.date(2023, 4, 9), dt.date(2023, 2, 19)),
    Season("2023-24", dt.date(2023, 10, 24), dt.date(2024, 4, 14), dt.date(2024, 2, 18)),
    Season("2024-25", dt.date(2024, 10, 22), dt.date(2025, 4, 13), dt.date(2025, 2, 16)),
    Season("2025-26", dt.date(2025, 10, 21), dt.date(2026, 4, 12), dt.date(2026, 2, 15)),
)


@dataclass(frozen=True)
class Game:
    game_date: dt.date
    game_id: str
    season: str
    game_type: str  # regular | play_in | playoffs
    home_team: str
    away_team: str


def thanksgiving(year: int) -> dt.date:
    """Fourth Thursday of November (no NBA games that day)."""
    first = dt.date(year, 11, 1)
    return first + dt.timedelta(days=(3 - first.weekday()) % 7 + 21)


def all_star_break(season: Season) -> set[dt.date]:
    """Friday before the All-Star game through the Wednesday after: six days without games."""
    sunday = season.all_star_sunday
    return {sunday + dt.timedelta(days=k) for k in range(-2, 4)}


def _round_robin(teams: list[str]) -> list[list[tuple[str, str]]]:
    """Circle method: 29 rounds of 15 games, every pair meeting once."""
    n = len(teams)
    fixed, rest = teams[0], teams[1:]
    rounds = []
    for _ in range(n - 1):
        line = [fixed, *rest]
        rounds.append([(line[i], line[n - 1 - i]) for i in range(n // 2)])
        rest = rest[-1:] + rest[:-1]
    return rounds


def _regular_matchups(rng: random.Random) -> list[tuple[str, str]]:
    """1230 (home, away) games, exactly 82 per team: two full round robins plus 24 rounds."""
    teams = list(TEAMS)
    rng.shuffle(teams)
    rounds = _round_robin(teams)
    games = [g for r in rounds for g in r]
    games += [(b, a) for r in rounds for (a, b) in r]
    third = _round_robin(teams[::-1])
    for r in third[:24]:
        games += [(a, b) if rng.random() < 0.5 else (b, a) for a, b in r]
    rng.shuffle(games)
    return games


def _regular_days(season: Season, rng: random.Random) -> list[dt.date]:
    off = all_star_break(season) | {thanksgiving(season.opening.year)}
    off.add(dt.date(season.opening.year, 12, 24))
    days = []
    d = season.opening
    while d <= season.regular_end:
        if d not in off:
            days.append(d)
        d += dt.timedelta(days=1)
    # A few quiet weekdays (election day, travel days) away from opening night and the finale.
    candidates = [x for x in days[5:-5] if x.weekday() in (0, 1, 3)]
    for x in rng.sample(candidates, _RANDOM_OFF_DAYS):
        days.remove(x)
    return days


def _targets(days: list[dt.date], total: int, rng: random.Random) -> list[int]:
    """Games per day summing to `total`: 2 on opening night, 5 on Christmas, 1..15 otherwise."""
    fixed = {days[0]: 2}
    for d in days:
        if d.month == 12 and d.day == 25:
            fixed[d] = 5
    free = [d for d in days if d not in fixed]
    weights = [_WEEKDAY_WEIGHT[d.weekday()] * rng.uniform(0.55, 1.45) for d in free]
    budget = total - sum(fixed.values())
    scale = budget / sum(weights)
    raw = [w * scale for w in weights]
    counts = [max(1, min(15, int(x))) for x in raw]
    order = sorted(range(len(free)), key=lambda i: raw[i] - int(raw[i]), reverse=True)
    i = 0
    while sum(counts) < budget:
        j = order[i % len(order)]
        if counts[j] < 15:
            counts[j] += 1
        i += 1
    per = dict(zip(free, counts, strict=True)) | fixed
    return [per[d] for d in days]


def _assign(
    days: list[dt.date], targets: list[int], pool: list[tuple[str, str]]
) -> list[tuple[dt.date, str, str]]:
    """Greedy day filling; prefers teams that did not play yesterday (few back-to-backs)."""
    out: list[tuple[dt.date, str, str]] = []
    yesterday: set[str] = set()
    prev_day: dt.date | None = None
    carry = 0
    for day, target in zip(days, targets, strict=True):
        if prev_day is None or (day - prev_day).days > 1:
            yesterday = set()
        want = min(15, target + carry)
        busy: set[str] = set()
        chosen: list[int] = []
        for rested in (True, False):
            for i, (h, a) in enumerate(pool):
                if len(chosen) >= want:
                    break
                if h in busy or a in busy or i in chosen:
                    continue
                if rested and (h in yesterday or a in yesterday):
                    continue
                chosen.append(i)
                busy.update((h, a))
        carry = target + carry - len(chosen)
        for i in sorted(chosen, reverse=True):
            h, a = pool.pop(i)
            out.append((day, h, a))
        yesterday, prev_day = busy, day
    for day in reversed(days):  # leftovers (rare): squeeze into the last days with room
        busy = {t for d, h, a in out if d == day for t in (h, a)}
        for h, a in list(pool):
            if h not in busy and a not in busy and len(busy) < 30:
                pool.remove((h, a))
                out.append((day, h, a))
                busy.update((h, a))
        if not pool:
            break
    return out


def _series_dates(start: dt.date, games: int, rng: random.Random, gap: int) -> list[dt.date]:
    dates = [start]
    for _ in range(games - 1):
        dates.append(dates[-1] + dt.timedelta(days=gap + (1 if rng.random() < 0.45 else 0)))
    return dates


def _series(
    high: str, low: str, start: dt.date, rng: random.Random, gap: int = 2
) -> tuple[list[tuple[dt.date, str, str]], str, dt.date]:
    """A best-of-seven: (games as (date, home, away), winner, last date). Home: 2-2-1-1-1."""
    wins = {high: 0, low: 0}
    n = 0
    while max(wins.values()) < 4:
        winner = high if rng.random() < 0.6 else low
        wins[winner] += 1
        n += 1
    dates = _series_dates(start, n, rng, gap)
    homes = [high, high, low, low, high, low, high]
    games = [(d, homes[i], low if homes[i] == high else high) for i, d in enumerate(dates)]
    return games, max(wins, key=wins.__getitem__), dates[-1]


def _postseason(season: Season, rng: random.Random) -> list[tuple[dt.date, str, str, str]]:
    """Play-in (Tue/Wed/Fri after the finale) and four playoff rounds into mid-June."""
    out: list[tuple[dt.date, str, str, str]] = []
    end = season.regular_end
    champions: list[tuple[str, dt.date]] = []
    for k, conf in enumerate((EAST, WEST)):
        seeds = rng.sample(list(conf), len(conf))
        d1 = end + dt.timedelta(days=2 + k)
        out += [(d1, seeds[6], seeds[7], "play_in"), (d1, seeds[8], seeds[9], "play_in")]
        w78, l78 = (seeds[6], seeds[7]) if rng.random() < 0.6 else (seeds[7], seeds[6])
        w910 = seeds[8] if rng.random() < 0.55 else seeds[9]
        out.append((end + dt.timedelta(days=5), l78, w910, "play_in"))
        eighth = l78 if rng.random() < 0.6 else w910
        field = [*seeds[:6], w78, eighth]
        bracket = [(0, 7), (3, 4), (1, 6), (2, 5)]
        starts = [end + dt.timedelta(days=6 + (i % 2) + k) for i in range(4)]
        alive: list[tuple[str, dt.date]] = []
        for (hi, lo), start in zip(bracket, starts, strict=True):
            games, winner, last = _series(field[hi], field[lo], start, rng)
            out += [(d, h, a, "playoffs") for d, h, a in games]
            alive.append((winner, last))
        while len(alive) > 1:
            nxt = []
            for i in range(0, len(alive), 2):
                (a, da), (b, db) = alive[i], alive[i + 1]
                start = max(da, db) + dt.timedelta(days=1 + (i // 2))
                games, winner, last = _series(a, b, start, rng)
                out += [(d, h, x, "playoffs") for d, h, x in games]
                nxt.append((winner, last))
            alive = nxt
        champions.append(alive[0])
    (a, da), (b, db) = champions
    games, _, _ = _series(a, b, max(da, db) + dt.timedelta(days=4), rng, gap=2)
    out += [(d, h, x, "playoffs") for d, h, x in games]
    return out


def build_schedule(seed: int = SEED) -> list[Game]:
    """Every game from 2021-10-19 to 2026-01-02, ordered by date then game id."""
    rng = random.Random(seed)
    games: list[Game] = []
    for season in SEASONS:
        yy = season.opening.year % 100
        days = _regular_days(season, rng)
        pool = _regular_matchups(rng)
        targets = _targets(days, len(pool), rng)
        placed = sorted(_assign(days, targets, pool))
        post = sorted(_postseason(season, rng))
        seq = {"regular": 0, "play_in": 0, "playoffs": 0}
        code = {"regular": 2, "play_in": 5, "playoffs": 4}
        rows = [(d, h, a, "regular") for d, h, a in placed] + post
        for d, h, a, kind in rows:
            seq[kind] += 1
            gid = f"00{code[kind]}{yy:02d}{seq[kind]:05d}"
            if SCHEDULE_START <= d <= SCHEDULE_END:
                games.append(Game(d, gid, season.label, kind, h, a))
    games.sort(key=lambda g: (g.game_date, g.game_id))
    return games


def game_dates(games: list[Game]) -> list[dt.date]:
    return sorted({g.game_date for g in games})
