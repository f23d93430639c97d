"""JSON text written into a larger document as it is, without parsing it and encoding it again.

Why: `status --json` over 1,000 tables writes ~9 MB, almost all of it each table's coverage,
which a run over an unchanged warehouse reads back from `coverage_store` as text. Parsing that
text into dicts and encoding them again would be a large share of the command's CPU.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any


class RawJson:
    """A JSON value held as its text, as `json.dumps(value)` (default separators) writes it: in
    a document encoded by `dumps` it comes out byte for byte as the value itself would."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def value(self) -> Any:
        return json.loads(self.text)


def dumps(data: Any, indent: int | None = None) -> str:
    """`json.dumps(data, indent=indent, default=str)` where every `RawJson` is its value.

    Compact (no indent): each `RawJson` is encoded as a placeholder string naming it, and the
    placeholders are replaced by the texts in one pass over the (small) skeleton. The
    placeholder holds a NUL and a random token, so no string of the document can be taken for
    one. Indented: the values are parsed, so they are indented like the rest."""
    if indent is not None:
        return json.dumps(data, indent=indent, default=_parsed)
    token = secrets.token_hex(8)
    texts: list[str] = []

    def placeholder(o: object) -> object:
        if isinstance(o, RawJson):
            texts.append(o.text)
            return f"\x00{token}:{len(texts) - 1}"
        return str(o)

    skeleton = json.dumps(data, default=placeholder)
    if not texts:
        return skeleton
    pattern = re.compile(r'"\\u0000' + token + r':(\d+)"')
    return pattern.sub(lambda m: texts[int(m.group(1))], skeleton)


def _parsed(o: object) -> object:
    return o.value() if isinstance(o, RawJson) else str(o)
