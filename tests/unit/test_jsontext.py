"""`jsontext.dumps`: a document holding `RawJson` texts reads byte for byte as `json.dumps` of
the same document holding their values."""

from __future__ import annotations

import datetime as dt
import json

from nba_tui.jsontext import RawJson, dumps

VALUES = [
    {"name": "t0", "share": 0.1 + 0.2, "missing_ranges": [{"start": "2024-01-01", "dates": 3}]},
    {"name": '\x00 quoted " and \\u0000 and é', "ok": True, "n": None},
    [],
]


def _doc(tables: list) -> dict:
    return {"when": dt.date(2024, 1, 2), "note": '"\\u0000', "phases": [{"tables": tables}]}


def test_compact_output_equals_json_dumps_of_the_values() -> None:
    raw = [RawJson(json.dumps(v)) for v in VALUES]
    assert dumps(_doc(raw)) == json.dumps(_doc(VALUES), default=str)


def test_a_string_like_a_placeholder_stays_a_string() -> None:
    first = [RawJson(json.dumps(v)) for v in VALUES]
    text = dumps(_doc(first))
    # Whatever a placeholder of this run looked like, another run's is never taken for it.
    tricky = {"a": json.loads(text), "b": RawJson("[1, 2]")}
    assert json.loads(dumps(tricky)) == {"a": json.loads(text), "b": [1, 2]}


def test_indented_output_parses_the_texts() -> None:
    raw = [RawJson(json.dumps(v)) for v in VALUES]
    assert dumps(_doc(raw), indent=2) == json.dumps(_doc(VALUES), indent=2, default=str)


def test_no_raw_value_is_plain_json_dumps() -> None:
    assert dumps(_doc(VALUES)) == json.dumps(_doc(VALUES), default=str)
