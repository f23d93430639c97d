"""`pipeline.yaml` -> a typed, validated `Pipeline`.

Every field carries a docstring (it becomes the JSON Schema description, see `json_schema()`), and
every error is turned into one line naming the file, the line and the key, with a hint for the fix:
`pipeline.yaml:42: phases[1].tables[0].min_coverage: must be between 0 and 1 (got 1.5)`.

The rooms: `yamlsafe` reads the file within bounds (size, encoding, aliases, nesting) and maps keys
to lines; `sections` and `pipeline` are the pydantic models; this module loads, validates and turns
every problem into the one line (ConfigError, exit code 2).
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nba_tui.config import yamlsafe
from nba_tui.config.pipeline import (
    DEFAULT_CONFIG,
    MAX_LOOKBACK_DAYS,
    Input,
    InputRef,
    Phase,
    Pipeline,
    Table,
)
from nba_tui.config.sections import (
    MAX_DURATION_S,
    PLACEHOLDERS,
    AlertSettings,
    Backfill,
    BigQuerySettings,
    CloudRunSettings,
    ColumnName,
    DateRange,
    Duration,
    EngineName,
    ExpectedDates,
    JobSettings,
    PathText,
    PollSettings,
    RaySettings,
    Section,
    SqliteSettings,
    TableRefText,
    Text,
    WarehouseSettings,
)
from nba_tui.fmt import one_line, printable
from nba_tui.identifiers import IdentifierError

__all__ = [
    "DEFAULT_CONFIG",
    "MAX_DURATION_S",
    "MAX_LOOKBACK_DAYS",
    "PLACEHOLDERS",
    "AlertSettings",
    "Backfill",
    "BigQuerySettings",
    "CloudRunSettings",
    "ColumnName",
    "ConfigError",
    "DateRange",
    "Duration",
    "EngineName",
    "ExpectedDates",
    "Input",
    "InputRef",
    "JobSettings",
    "RaySettings",
    "PathText",
    "Phase",
    "Pipeline",
    "PollSettings",
    "SqliteSettings",
    "Table",
    "TableRefText",
    "Text",
    "WarehouseSettings",
    "json_schema",
    "load",
    "loads",
]


class ConfigError(Exception):
    """Bad configuration. `str()` is the one line shown to the user (exit code 2)."""


def _format_loc(loc: tuple) -> str:
    s = ""
    for part in loc:
        s += f"[{part}]" if isinstance(part, int) else (f".{part}" if s else str(part))
    return s


def _locate(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> tuple[int | None, str]:
    """Best line for a pydantic error location, and a readable key path using table names."""
    loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
    line = None
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            line = lines[loc[:n]]
            break
    return line, _format_loc(loc) or "(top level)"


def _graph_error_loc(msg: str, data: Any) -> tuple:
    """For cross-table errors, find the table the message is about."""
    m = re.search(r"table '([^']+)'|table name '([^']+)'|table (\S+\.\S+) listed|cycle: (\w+)", msg)
    if not m or not isinstance(data, dict):
        return ()
    wanted = next(g for g in m.groups() if g)
    found = [
        (pi, ti)
        for pi, ph in enumerate(data.get("phases") or [])
        for ti, t in enumerate((ph or {}).get("tables") or [])
        if isinstance(t, dict) and wanted in (t.get("name"), t.get("table"))
    ]
    if not found:
        return ()
    # a duplicate is reported where it is written the second time
    pi, ti = found[-1] if "duplicate" in msg or "listed twice" in msg else found[0]
    if not ("depends on" in msg or "cycle" in msg):
        return ("phases", pi, "tables", ti, "name")
    return ("phases", pi, "tables", ti, *_input_loc(msg, data["phases"][pi]["tables"][ti]))


def _input_loc(msg: str, table: dict) -> tuple:
    """The entry of depends_on/soft_depends_on an unknown-table error names (its own line when
    the list is written one entry per line), else the depends_on key."""
    m = re.search(r"unknown table '([^']+)'", msg)
    for key in ("depends_on", "soft_depends_on"):
        entries = table.get(key)
        if m is None or not isinstance(entries, list):
            continue
        for i, e in enumerate(entries):
            if m.group(1) in (e, e.get("table") if isinstance(e, dict) else None):
                return (key, i)
    return ("depends_on",)


def load(path: str | Path = DEFAULT_CONFIG) -> Pipeline:
    """Read and validate a pipeline file; raise ConfigError with one line on any problem.

    The read is bounded before anything else (size, encoding, aliases, nesting: see yamlsafe)."""
    path = Path(path)
    try:
        text = yamlsafe.read_text(path)
    except FileNotFoundError:
        raise _error(path, None, "file not found (pass --config PATH)") from None
    except OSError as e:
        raise _error(path, None, f"cannot read: {e.strerror or e}") from None
    except ValueError:  # os.open refuses a NUL byte in the path
        raise _error(path, None, "cannot read: the path holds a NUL byte") from None
    except yamlsafe.YamlError as e:
        raise _error(path, e.line, e.problem) from None
    return loads(text, path)


def loads(text: str, path: str | Path = DEFAULT_CONFIG) -> Pipeline:
    """Validate pipeline YAML `text`; `path` names it in errors and anchors relative paths."""
    path = Path(path)
    try:
        doc = yamlsafe.parse(text)
    except yamlsafe.YamlError as e:
        raise _error(path, e.line, e.problem) from None
    if not isinstance(doc.data, dict):
        raise _error(path, 1, "expected a mapping with keys pipeline, range, phases, ...")
    try:
        pipe = Pipeline.model_validate(doc.data)
    except ValidationError as e:
        line, message = _explain(e, doc)
        raise _error(path, line, message) from None
    except IdentifierError as e:  # pragma: no cover - validators wrap these
        raise _error(path, None, str(e)) from None
    return pipe.model_copy(update={"source": path.resolve()})


_BOUND = "use a value within that bound"
FIXES = {
    "list_type": "write a YAML list, e.g. [a, b]: an argument list, never a shell string",
    "dict_type": "write a mapping, e.g. {key: value}",
    "int_parsing": "write a whole number",
    "int_type": "write a whole number",
    "int_from_float": "write a whole number",
    "float_parsing": "write a number",
    "float_type": "write a number",
    "bool_parsing": "write true or false",
    "bool_type": "write true or false",
    "string_type": "write text (quote it)",
    "literal_error": "use one of the values named",
    "greater_than": _BOUND,
    "greater_than_equal": _BOUND,
    "less_than": _BOUND,
    "less_than_equal": _BOUND,
}
"""The fix said after pydantic's message, by its error type."""


def _explain(e: ValidationError, doc: yamlsafe.Document) -> tuple[int | None, str]:
    """The line and the `key: message` text of pydantic's first error."""
    err = e.errors()[0]
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        msg = f"unknown key {loc[-1]!r} (check the spelling; see the README config reference)"
    elif err["type"] == "missing":
        msg = "required key is missing"
    elif "date" in err["type"]:
        msg = f"bad date {err.get('input')!r}: write YYYY-MM-DD"
    elif err["type"] in FIXES:
        msg = f"{msg}: {FIXES[err['type']]}"
    if not loc:
        loc = _graph_error_loc(msg, doc.data)
    line, key = _locate(doc.lines, loc)
    return line, f"{key}: {msg}"


def _error(path: Path, line: int | None, message: str) -> ConfigError:
    """`FILE[:LINE]: message` on one printable line (a file name or a key may hold anything)."""
    where = f"{path}:{line}" if line else str(path)
    message = one_line(message, 500)  # pydantic and PyYAML quote the input, which may be huge
    return ConfigError(printable(f"{where}: {message}".replace("\n", " ")))


def json_schema() -> dict[str, Any]:
    """JSON Schema for pipeline.yaml (editors use it for completion and checks); each field's
    description is the docstring written under it."""
    schema = Pipeline.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "nba-tui pipeline.yaml"
    for cls in _sections(Section):
        model = schema if cls is Pipeline else schema.get("$defs", {}).get(cls.__name__, {})
        props = model.get("properties", {})
        fields = getattr(cls, "model_fields", {})
        for name, doc in field_docs(cls).items():
            info = fields.get(name)
            key = (info.alias if info is not None else None) or name  # depends_on_entries
            if key in props:
                props[key]["description"] = doc
    schema.get("properties", {}).pop("source", None)
    return schema


def _sections(cls: type) -> list[type]:
    subs = cls.__subclasses__()
    return subs + [s for sub in subs for s in _sections(sub)]


def field_docs(cls: type) -> dict[str, str]:
    """The string literal written right under each annotated field of `cls` (as pydantic's
    `use_attribute_docstrings` reads it, but only when a schema is asked for)."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    assert isinstance(body, ast.ClassDef)
    out = {}
    for node, after in zip(body.body, body.body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            out[node.target.id] = inspect.cleandoc(after.value.value)
    return out
