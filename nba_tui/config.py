"""`pipeline.yaml` -> a typed, validated `Pipeline`.

Every field carries a docstring (it becomes the JSON Schema description, see `json_schema()`), and
every error is turned into one line naming the file, the line and the key, with a hint for the fix:
`pipeline.yaml:42: phases[1].tables[0].min_coverage: must be between 0 and 1 (got 1.5)`.
The dependency graph is checked with the standard library's `graphlib`.
"""

from __future__ import annotations

import datetime as dt
import graphlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from nba_tui.warehouse.identifiers import IdentifierError, TableRef, check_name, check_project

DEFAULT_CONFIG = "pipeline.yaml"
PLACEHOLDERS = {"python", "start", "end", "dates", "table", "warehouse", "checkpoint", "config"}


class ConfigError(Exception):
    """Bad configuration. `str()` is the one line shown to the user (exit code 2)."""


def _duration_seconds(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", str(value))
    if not m:
        raise ValueError(f"not a duration: {value!r} (write e.g. 30s, 2m, 500ms)")
    n = float(m.group(1))
    return n * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


Duration = Annotated[
    float,
    BeforeValidator(_duration_seconds),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h)?\s*$"},
            ],
            "description": "seconds, or a duration such as 30s, 2m, 500ms",
        }
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class DateRange(_Model):
    start: dt.date
    """First game date of the range (inclusive), YYYY-MM-DD."""
    end: dt.date
    """Last game date of the range (inclusive), YYYY-MM-DD."""

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


def _table_ref(value: str) -> str:
    TableRef.parse(value)
    return value


TableRefText = Annotated[str, AfterValidator(_table_ref)]
"""`dataset.table`, validated by the one identifier validator."""
ColumnName = Annotated[str, AfterValidator(lambda v: check_name(v, "column"))]


class ExpectedDates(_Model):
    table: TableRefText
    """The schedule table whose dates are the expected game dates, as dataset.table."""
    column: ColumnName = "game_date"
    """Its date column."""
    season_gap_days: int = Field(60, ge=1)
    """A gap of at least this many days between game dates starts a new season."""

    @property
    def ref(self) -> TableRef:
        return TableRef.parse(self.table)


class SqliteSettings(_Model):
    path: str = ".nba_tui/warehouse"
    """Directory of the embedded warehouse: one SQLite file per dataset (relative to this file)."""
    busy_timeout_ms: int = Field(10_000, ge=0)
    """How long a writer waits for a lock before failing."""
    sample: bool = False
    """Build the embedded NBA sample warehouse into `path` when it does not exist yet (the
    shipped demo). False: a missing `path` is an error, never silently filled with made-up data."""


class BigQuerySettings(_Model):
    project: str = "nba-props-platform"
    """Google Cloud project id that holds the datasets."""
    location: str = "US"
    """Dataset location (US, EU, ...)."""
    endpoint: str | None = None
    """API endpoint override, for emulators (BIGQUERY_EMULATOR_HOST also works)."""
    strategy: Literal["query", "partitions"] = "query"
    """`query`: one UNION ALL coverage query; `partitions`: INFORMATION_SCHEMA.PARTITIONS per
    dataset (metadata only, for date-partitioned tables), falling back to `query`."""
    max_bytes_billed: int = Field(1_000_000_000, ge=10 * 1024 * 1024)
    """Cap on bytes billed per query (BigQuery's minimum is 10 MB)."""
    max_queries_per_minute: int = Field(30, ge=1)
    """Throttle for polls."""
    timeout: Duration = 30.0
    """Seconds one query may take before the poll is marked failed (data shown as stale)."""
    retry_deadline: Duration = 60.0
    """Total seconds the client may spend retrying transient errors."""

    @field_validator("project")
    @classmethod
    def _project(cls, v: str) -> str:
        return check_project(v)


class WarehouseSettings(_Model):
    backend: Literal["sqlite", "bigquery"] = "sqlite"
    """`sqlite` (embedded default) or `bigquery` (production)."""
    sqlite: SqliteSettings = SqliteSettings()
    """Embedded warehouse settings."""
    bigquery: BigQuerySettings = BigQuerySettings()
    """BigQuery settings."""


class PollSettings(_Model):
    interval: Duration = 30.0
    """Seconds between coverage polls (accepts 30s, 2m)."""

    @field_validator("interval")
    @classmethod
    def _min(cls, v: float) -> float:
        if v < 0.5:
            raise ValueError("poll interval must be at least 0.5s")
        return v


class JobSettings(_Model):
    max_parallel: int = Field(3, ge=1, le=64)
    """How many backfill jobs may run at once (phase launches respect it)."""
    log_dir: str = "logs"
    """Where job logs go (relative to this file)."""
    state_dir: str = ".nba_tui"
    """Job records, checkpoints, locks and the action log (relative to this file)."""
    stop_grace: Duration = 10.0
    """Seconds between SIGTERM and SIGKILL when stopping a job."""


class Backfill(_Model):
    command: list[str] = Field(min_length=1)
    """Argument list without the date arguments (never a shell string). Placeholders: {python}
    {table} {warehouse} {checkpoint} {config}."""
    range_args: list[str] = ["--start-date", "{start}", "--end-date", "{end}"]
    """Appended to `command` to backfill a date range."""
    dates_args: list[str] = ["--dates", "{dates}"]
    """Appended to `command` to re-run only some dates ({dates}: comma-separated YYYY-MM-DD)."""
    checkpoint: str | None = None
    """Checkpoint file the program resumes from (relative to this file; {table} allowed)."""
    progress: str = r"Processing (?P<date>\d{4}-\d{2}-\d{2})"
    """Regex over log lines; the named group `date` is the date being processed."""

    @field_validator("command", "range_args", "dates_args")
    @classmethod
    def _placeholders(cls, v: list[str] | None) -> list[str] | None:
        for arg in v or []:
            for name in re.findall(r"\{(\w*)\}", arg):
                if name not in PLACEHOLDERS:
                    raise ValueError(
                        f"unknown placeholder {{{name}}} in {arg!r}; "
                        f"use one of {', '.join(sorted(PLACEHOLDERS))}"
                    )
        return v

    @field_validator("progress")
    @classmethod
    def _regex(cls, v: str) -> str:
        try:
            rx = re.compile(v)
        except re.error as e:
            raise ValueError(f"bad regex: {e}") from None
        if "date" not in rx.groupindex:
            raise ValueError("progress regex needs a named group (?P<date>...)")
        return v


class Table(_Model):
    name: str
    """Short unique name used on the command line and in the dashboard."""
    table: TableRefText
    """Warehouse table as dataset.table."""
    date_column: ColumnName = "game_date"
    """The date (partition) column."""
    depends_on: list[str] = []
    """Tables (by name) this table is derived from; a missing input fails that date."""
    soft_depends_on: list[str] = []
    """Inputs with a fallback: missing data degrades rows (synthetic) instead of failing."""
    min_coverage: float = 0.998
    """Share of expected dates that must be present (0..1) for downstream preflight."""
    bootstrap_days: int = Field(0, ge=0)
    """Days at each season start not counted as missing (rolling windows need history)."""
    thin_ratio: float = Field(0.5, gt=0, le=1)
    """A date with fewer rows than this share of the table's median rows-per-date is `thin`."""
    backfill: Backfill | None = None
    """How to (re)build the table; omitted for sources that are loaded elsewhere."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_name(v, "table name")

    @field_validator("min_coverage")
    @classmethod
    def _share(cls, v: float) -> float:
        if not 0 <= v <= 1:
            raise ValueError(f"must be between 0 and 1 (got {v}); write 99.8% as 0.998")
        return v

    @property
    def ref(self) -> TableRef:
        return TableRef.parse(self.table)

    @property
    def all_inputs(self) -> list[str]:
        return [*self.depends_on, *self.soft_depends_on]


class Phase(_Model):
    name: str
    """Phase name, e.g. phase3."""
    description: str = ""
    """One line shown in the dashboard."""
    parallel: bool = True
    """Whether the phase's tables may be backfilled at the same time (false: cascade order)."""
    tables: list[Table] = Field(min_length=1)
    """The phase's tables, in processing order."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_name(v, "phase name")


class Pipeline(_Model):
    pipeline: str
    """Name of the pipeline (shown in the title)."""
    range: DateRange
    """The backfill date range."""
    expected_dates: ExpectedDates
    """Where the expected game dates come from."""
    warehouse: WarehouseSettings = WarehouseSettings()
    """Backend and connection."""
    poll: PollSettings = PollSettings()
    """Coverage polling."""
    jobs: JobSettings = JobSettings()
    """Backfill job supervision."""
    phases: list[Phase] = Field(min_length=1)
    """Phases in order; each holds tables."""

    # Set by load(); not part of the file.
    source: Path = Field(default=Path(DEFAULT_CONFIG), exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: Any) -> Any:
        """Top-level keys starting with `x-` hold YAML anchors to reuse (as in compose files)."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not str(k).startswith("x-")}
        return data

    @model_validator(mode="after")
    def _graph(self) -> Pipeline:
        seen: dict[str, str] = {}
        refs: dict[str, str] = {}
        for p in self.phases:
            for t in p.tables:
                if t.name in seen:
                    raise ValueError(f"duplicate table name {t.name!r}")
                if t.table in refs:
                    raise ValueError(f"table {t.table} listed twice ({refs[t.table]}, {t.name})")
                seen[t.name] = p.name
                refs[t.table] = t.name
        if len({p.name for p in self.phases}) != len(self.phases):
            raise ValueError("duplicate phase name")
        for t in self.tables():
            for dep in t.all_inputs:
                if dep not in seen:
                    raise ValueError(
                        f"table {t.name!r} depends on unknown table {dep!r} "
                        f"(known: {', '.join(sorted(seen))})"
                    )
                if dep == t.name:
                    raise ValueError(f"table {t.name!r} depends on itself")
        try:
            self.topological_order()
        except graphlib.CycleError as e:
            cycle = " -> ".join(reversed(e.args[1]))
            raise ValueError(
                f"dependency cycle: {cycle}; remove one of these dependencies"
            ) from None
        phase_index = {p.name: i for i, p in enumerate(self.phases)}
        for t in self.tables():
            for dep in t.all_inputs:
                if phase_index[seen[dep]] > phase_index[seen[t.name]]:
                    raise ValueError(
                        f"table {t.name!r} ({seen[t.name]}) depends on {dep!r} from a later "
                        f"phase ({seen[dep]}); move one of them"
                    )
        return self

    # -- queries -------------------------------------------------------------------------------
    def tables(self) -> Iterator[Table]:
        for p in self.phases:
            yield from p.tables

    def table(self, name: str) -> Table:
        for t in self.tables():
            if t.name == name or t.table == name:
                return t
        raise KeyError(name)

    def phase(self, name: str) -> Phase:
        for p in self.phases:
            if p.name == name:
                return p
        raise KeyError(name)

    def phase_of(self, table: str) -> Phase:
        for p in self.phases:
            if any(t.name == table for t in p.tables):
                return p
        raise KeyError(table)

    def topological_order(self) -> list[str]:
        """Table names, inputs before the tables derived from them (stable within a phase)."""
        ts: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for t in self.tables():
            ts.add(t.name, *t.all_inputs)
        order = list(ts.static_order())
        position = {t.name: i for i, t in enumerate(self.tables())}
        # static_order is a valid order; make it deterministic by file position within each level
        ts2: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for t in self.tables():
            ts2.add(t.name, *t.all_inputs)
        ts2.prepare()
        result: list[str] = []
        while ts2.is_active():
            ready = sorted(ts2.get_ready(), key=position.__getitem__)
            result.extend(ready)
            ts2.done(*ready)
        assert set(result) == set(order)
        return result

    def phase_inputs(self, phase: str) -> list[Table]:
        """Tables outside `phase` that its tables read (directly), in pipeline order."""
        ph = self.phase(phase)
        own = {t.name for t in ph.tables}
        needed = {d for t in ph.tables for d in t.all_inputs if d not in own}
        return [t for t in self.tables() if t.name in needed]

    def next_phase(self, phase: str) -> Phase | None:
        names = [p.name for p in self.phases]
        i = names.index(phase)
        return self.phases[i + 1] if i + 1 < len(self.phases) else None

    def resolve(self, path: str) -> Path:
        """A path from the file, relative to the file's directory."""
        p = Path(path)
        return p if p.is_absolute() else (self.source.parent / p)

    @property
    def base_dir(self) -> Path:
        return self.source.parent

    @property
    def state_dir(self) -> Path:
        return self.resolve(self.jobs.state_dir)

    @property
    def log_dir(self) -> Path:
        return self.resolve(self.jobs.log_dir)

    @property
    def sqlite_dir(self) -> Path:
        return self.resolve(self.warehouse.sqlite.path)

    def datasets(self) -> list[str]:
        names = {self.expected_dates.ref.dataset} | {t.ref.dataset for t in self.tables()}
        return sorted(names)


# -- loading with line numbers ----------------------------------------------------------------


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (a silent overwrite loses a setting)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    """A mapping that refuses a key written twice, but keeps YAML merge keys (`<<: *anchor`),
    whose keys the mapping's own keys may override."""
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    loader.flatten_mapping(node)  # merged keys first, own keys after: own keys win
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay strings until pydantic parses them, so a bad date is reported with its key and line.
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _line_index(node: yaml.Node | None, path: tuple = (), out: dict | None = None) -> dict:
    """Map each key path (as in pydantic's `loc`) to its 1-based line in the file."""
    out = {} if out is None else out
    if node is None:
        return out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            out[(*path, key)] = k.start_mark.line + 1
            _line_index(v, (*path, key), out)
            out[(*path, key)] = k.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*path, i), out)
    return out


def _format_loc(loc: tuple) -> str:
    s = ""
    for part in loc:
        s += f"[{part}]" if isinstance(part, int) else (f".{part}" if s else str(part))
    return s


def _locate(lines: dict, loc: tuple, data: Any) -> tuple[int | None, str]:
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
    key = "depends_on" if ("depends on" in msg or "cycle" in msg) else "name"
    return ("phases", pi, "tables", ti, key)


def load(path: str | Path = DEFAULT_CONFIG) -> Pipeline:
    """Read and validate a pipeline file; raise ConfigError with one line on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (pass --config PATH)") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    return loads(text, path)


def loads(text: str, path: str | Path = DEFAULT_CONFIG) -> Pipeline:
    path = Path(path)
    try:
        node = yaml.compose(text, Loader=_LineLoader)
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = e.problem or e.context or "invalid YAML"
        raise ConfigError(f"{where}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: YAML error: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected a mapping with keys pipeline, range, phases, ...")
    lines = _line_index(node)
    try:
        pipe = Pipeline.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r} (check the spelling; see the README config reference)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif "date" in err["type"]:
            msg = f"bad date {err.get('input')!r}: write YYYY-MM-DD"
        if not loc:
            loc = _graph_error_loc(msg, data)
        line, key = _locate(lines, loc, data)
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(f"{where}: {key}: {msg}") from None
    except IdentifierError as e:  # pragma: no cover - validators wrap these
        raise ConfigError(f"{path}: {e}") from None
    return pipe.model_copy(update={"source": path.resolve()})


def json_schema() -> dict[str, Any]:
    """JSON Schema for pipeline.yaml (editors use it for completion and checks)."""
    schema = Pipeline.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "nba-tui pipeline.yaml"
    schema.get("properties", {}).pop("source", None)
    return schema
