"""The one soft-input rule: a soft input's missing date holds a reader's date only while
something can still fill it; where nothing can, the reader runs on its fallback, degraded by
necessity. Exact dates on a small chain pipeline (raw lines -> mid -> ctx, soft input of pcf)."""

from __future__ import annotations

import datetime as dt

import pytest

from nba_tui import config, coverage, readiness
from nba_tui.warehouse import Counts

D = dt.date
BF = '{command: [run, "{table}"], dates_args: [--dates, "{dates}"]}'
CONFIG = f"""\
pipeline: r
range: {{start: 2024-01-01, end: 2024-01-31}}
expected_dates: {{table: raw.schedule}}
phases:
  - name: raw
    tables:
      - {{name: schedule, table: raw.schedule}}
      - {{name: lines, table: raw.lines}}
      - {{name: box, table: raw.box}}
  - name: p3
    tables:
      - {{name: mid, table: ana.mid, depends_on: [lines], backfill: {BF}}}
      - {{name: ctx, table: ana.ctx, depends_on: [mid], backfill: {BF}}}
      - {{name: summ, table: ana.summ, depends_on: [box], backfill: {BF}}}
  - name: p4
    tables:
      - name: pcf
        table: pre.pcf
        depends_on: [summ]
        soft_depends_on: [{{table: ctx, lookback_days: 1}}]
        degraded_column: synthetic
        backfill: {BF}
      - {{name: mlfs, table: pre.mlfs, depends_on: [pcf], degraded_column: synthetic,
          backfill: {BF}}}
"""
DATES = [D(2024, 1, d) for d in range(1, 11)]


def _jan(*days: int) -> list[dt.date]:
    return [D(2024, 1, d) for d in days]


def _rows(days: list[dt.date]) -> dict[dt.date, int]:
    return dict.fromkeys(days, 5)


@pytest.fixture(scope="module")
def chain() -> tuple[config.Pipeline, coverage.Snapshot]:
    """lines exist from Jan 4 on, except Jan 8 (an outage); box is complete but for Jan 10.
    mid has Jan 4..6; ctx has Jan 4 and 5; summ lacks Jan 10 only; pcf and mlfs are empty,
    except pcf's Jan 1..2, built earlier on fallbacks, and Jan 5 and mlfs' Jan 2, flagged."""
    pipe = config.loads(CONFIG, "p.yaml")
    lines = [d for d in DATES if d >= D(2024, 1, 4) and d != D(2024, 1, 8)]
    counts = Counts(
        expected=DATES,
        rows={
            "schedule": _rows(DATES),
            "lines": _rows(lines),
            "box": _rows(DATES[:-1]),
            "mid": _rows(_jan(4, 5, 6)),
            "ctx": _rows(_jan(4, 5)),
            "summ": _rows(DATES[:-1]),
            "pcf": _rows(_jan(1, 2, 5)),
            "mlfs": _rows(_jan(2)),
        },
        expected_rows=_rows(DATES),
        degraded={"pcf": _rows(_jan(1, 2, 5)), "mlfs": _rows(_jan(2))},
    )
    return pipe, coverage.snapshot(pipe, counts)


def test_unfillable_walks_hard_inputs_down_to_a_table_without_backfill(chain) -> None:
    pipe, snap = chain
    # mid lacks Jan 1..3, 7..10; lines lack Jan 1..3 and 8 for good (raw: nothing backfills it)
    assert readiness.unfillable(pipe, snap, "mid") == dict.fromkeys(_jan(1, 2, 3, 8), "lines")
    # ctx lacks what mid lacks plus Jan 6; the chain's root is still lines
    assert readiness.unfillable(pipe, snap, "ctx") == dict.fromkeys(_jan(1, 2, 3, 8), "lines")
    assert readiness.fillable_missing(pipe, snap, "ctx") == _jan(6, 7, 9, 10)
    # summ lacks Jan 10, and box (raw) has no rows there
    assert readiness.unfillable(pipe, snap, "summ") == {D(2024, 1, 10): "box"}
    assert readiness.unfillable(pipe, snap, "lines") == dict.fromkeys(_jan(1, 2, 3, 8), "lines")


def test_a_soft_date_nothing_fills_lets_the_reader_run_on_its_fallback(chain) -> None:
    pipe, snap = chain
    # pcf misses Jan 3, 4, 6..10. With a 1-day look-back on ctx:
    # Jan 3: ctx lacks Jan 2, 3 (nothing fills them)  -> runs, degraded by necessity
    # Jan 4: ctx lacks Jan 3 (unfillable), has Jan 4   -> runs, degraded by necessity
    # Jan 6: ctx lacks Jan 6, which mid's Jan 6 fills  -> held
    # Jan 7: ctx lacks Jan 6, 7 (fillable: lines there) -> held
    # Jan 8: ctx lacks Jan 7 (fillable)                -> held
    # Jan 9: ctx lacks Jan 8 (never) and Jan 9 (fillable) -> held
    # Jan 10: summ (hard) lacks Jan 10                 -> not runnable at all
    assert readiness.runnable(pipe, snap, "pcf") == _jan(3, 4)
    assert readiness.degraded_by_necessity(pipe, snap, "pcf") == _jan(3, 4)
    # --skip-preflight adds the held dates: degraded by choice
    assert readiness.runnable(pipe, snap, "pcf", skip_preflight=True) == _jan(3, 4, 6, 7, 8, 9)
    assert readiness.degraded_by_choice(pipe, snap, "pcf") == _jan(6, 7, 8, 9)
    # blocked_by still names every lacking input (the reason a held date waits)
    assert readiness.blocked_by(pipe, snap, "pcf", D(2024, 1, 9)) == [("ctx", _jan(8, 9))]


def test_a_chain_the_plan_fills_releases_the_held_dates(chain) -> None:
    """Once the plan fills mid and ctx wherever lines exist, pcf's held dates run with their
    context, and only the dates beside lines' outage run on the fallback."""
    pipe, snap = chain
    have = [d for d in DATES if d >= D(2024, 1, 4) and d != D(2024, 1, 8)]
    counts = Counts(
        expected=DATES,
        rows={
            "schedule": _rows(DATES), "lines": _rows(have), "box": _rows(DATES[:-1]),
            "mid": _rows(have), "ctx": _rows(have), "summ": _rows(DATES[:-1]),
            "pcf": _rows(_jan(1, 2, 5)), "mlfs": {},
        },
        expected_rows=_rows(DATES),
    )  # fmt: skip
    after = coverage.snapshot(pipe, counts)
    assert readiness.unfillable(pipe, after, "ctx") == dict.fromkeys(_jan(1, 2, 3, 8), "lines")
    assert readiness.fillable_missing(pipe, after, "ctx") == []
    assert readiness.runnable(pipe, after, "pcf") == _jan(3, 4, 6, 7, 8, 9)
    # Jan 8 lacks ctx itself, Jan 9 reads Jan 8 in its look-back; 3 and 4 read Jan 3 / Jan 2
    assert readiness.degraded_by_necessity(pipe, after, "pcf") == _jan(3, 4, 8, 9)
    assert readiness.degraded_by_choice(pipe, after, "pcf") == []


def test_degraded_rows_split_by_necessity_and_by_choice(chain) -> None:
    pipe, snap = chain
    # pcf's Jan 1, 2 read ctx dates nothing fills; Jan 5 reads ctx's Jan 4, 5, both there: its
    # flagged rows were a choice (or ctx was filled since)
    assert readiness.degraded_split(pipe, snap, "pcf") == (_jan(1, 2), _jan(5))
    # mlfs carries pcf's flags through its hard input
    assert readiness.degraded_split(pipe, snap, "mlfs") == (_jan(2), [])


def test_a_table_without_soft_inputs_is_unchanged_by_the_rule(chain) -> None:
    pipe, snap = chain
    assert readiness.runnable(pipe, snap, "mid") == _jan(7, 9, 10)
    assert readiness.degraded_by_necessity(pipe, snap, "mid") == []
    assert readiness.degraded_by_choice(pipe, snap, "mid") == []


def test_outlook_words_for_launches_and_heals(chain) -> None:
    """What `m`, `launch --missing` and `watch --heal` say, from the same rule."""
    from nba_tui.cli.watch import _fallback_note

    pipe, snap = chain
    o = readiness.outlook(pipe, snap, "ctx")
    assert (o.fill, o.fallback, o.soft) == (_jan(6, 7, 9, 10), [], [])
    assert readiness.missing_note(pipe, snap, "ctx") == (
        "4 missing dates; 4 cannot be filled: no rows in lines there, which nothing backfills"
    )
    assert readiness.missing_note(pipe, snap, "pcf") == (
        "6 missing dates; 4 on fallbacks by necessity (ctx); "
        "1 cannot be filled: no rows in box there, which nothing backfills"
    )
    assert readiness.fallbacks_ahead(pipe, snap, ["mid", "ctx", "pcf"]) == {"pcf": _jan(3, 4, 8, 9)}
    assert _fallback_note(pipe, snap, "pcf", _jan(3, 4), "launched") == (
        "; 2 on fallbacks by necessity (ctx)"
    )
    assert _fallback_note(pipe, snap, "pcf", _jan(3, 4), "too_big") == ""
    assert readiness.phase_note(pipe, snap, "p4") == " (4 dates of pcf on fallbacks by necessity)"
    assert readiness.phase_note(pipe, snap, "p3") == ""


def test_preflight_fill_command_names_only_fillable_dates(chain) -> None:
    from nba_tui import preflight

    pipe, snap = chain
    checks = {c.coverage.name: c for c in preflight.check(pipe, snap, "p4").checks}
    assert checks["ctx"].fill_command == ["run", "ctx", "--dates", *_iso(6, 7, 9, 10)]
    # summ is short by one date that has no box score: nothing can fill it, nothing to launch
    assert not checks["summ"].coverage.ok and checks["summ"].fill_command is None


def _iso(*days: int) -> list[str]:
    return [",".join(d.isoformat() for d in _jan(*days))]
