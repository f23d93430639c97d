"""The pipeline, its phases and tables: the typed result of `nba_tui.config.load`.

The cross-table rules live on `Pipeline` (unique names, known inputs, no cycle, no input from a
later phase); the dependency graph is built once, with the standard library's `graphlib`.
"""

from __future__ import annotations

import difflib
import graphlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from nba_tui.config.sections import (
    AlertSettings,
    Backfill,
    ColumnName,
    DateRange,
    ExpectedDates,
    JobSettings,
    PollSettings,
    Section,
    TableRefText,
    Text,
    WarehouseSettings,
)
from nba_tui.identifiers import TableRef, check_name

DEFAULT_CONFIG = "pipeline.yaml"
MAX_LOOKBACK_DAYS = 366
"""A look-back longer than a season and its off-season is a typo (and would make every date of
the next season wait for the whole previous one)."""


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    """'; did you mean 'X'?' for the closest table name, else where the names are (a typo
    must not list every table of a large pipeline)."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return "; check the spelling (nba-tui status lists the tables)"


@dataclass(frozen=True)
class Input:
    """One input of a table, as readiness uses it: date d of the reader needs the input's rows on
    every date the input expects in [d - lookback_days, d] (calendar days)."""

    name: str
    lookback_days: int
    soft: bool
    """A `soft_depends_on` input: the reader falls back to synthetic rows without it."""


class InputRef(Section):
    table: str
    """The input table, by name."""
    lookback_days: int = Field(0, ge=0, le=MAX_LOOKBACK_DAYS)
    """Calendar days before the reader's date whose input rows the reader also needs (its rolling
    windows); 0: only the same date."""


def _input_entry(value: Any) -> Any:
    """A bare name is the same as `{table: NAME}` (look-back 0)."""
    if isinstance(value, str):
        return {"table": value}
    if not isinstance(value, dict):
        raise ValueError(
            f"not an input: {str(value)[:40]!r} (write a table name or "
            "{table: NAME, lookback_days: N})"
        )
    return value


InputEntry = Annotated[
    InputRef,
    BeforeValidator(_input_entry),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "description": "a table name (look-back 0: the same date)"},
                {
                    "type": "object",
                    "properties": {
                        "table": {"type": "string", "description": "the input table, by name"},
                        "lookback_days": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": MAX_LOOKBACK_DAYS,
                            "default": 0,
                            "description": "calendar days before the date that are read too",
                        },
                    },
                    "required": ["table"],
                    "additionalProperties": False,
                },
            ]
        }
    ),
]
"""A `depends_on` entry: a table name, or `{table: NAME, lookback_days: N}`."""


class Table(Section):
    name: str
    """Short unique name used on the command line and in the dashboard."""
    table: TableRefText
    """Warehouse table as dataset.table."""
    date_column: ColumnName = "game_date"
    """The date (partition) column."""
    depends_on_entries: list[InputEntry] = Field([], alias="depends_on")
    """Tables this table is derived from; a missing input fails that date. Each entry is a table
    name or `{table: NAME, lookback_days: N}` (the date also needs the input's N days before)."""
    soft_depends_on_entries: list[InputEntry] = Field([], alias="soft_depends_on")
    """Inputs with a fallback: missing data degrades rows (synthetic) instead of failing. Same
    entries as depends_on."""
    degraded_column: ColumnName | None = None
    """Column flagging degraded rows (non-zero/true: e.g. built on synthetic fallbacks); polls
    count them per date so degraded dates are shown. Omitted: no row is degraded."""
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

    @field_validator("depends_on_entries", "soft_depends_on_entries")
    @classmethod
    def _unique_inputs(cls, v: list[InputRef]) -> list[InputRef]:
        seen: set[str] = set()
        for entry in v:
            if entry.table in seen:
                raise ValueError(f"lists {entry.table!r} twice")
            seen.add(entry.table)
        return v

    @field_validator("degraded_column")
    @classmethod
    def _degraded_not_date(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None and v == info.data.get("date_column"):
            raise ValueError(f"{v!r} is the date column; name the column that flags rows")
        return v

    @property
    def depends_on(self) -> list[str]:
        """Names of the hard inputs (look-backs: see `inputs`)."""
        return [e.table for e in self.depends_on_entries]

    @property
    def soft_depends_on(self) -> list[str]:
        """Names of the soft inputs (look-backs: see `inputs`)."""
        return [e.table for e in self.soft_depends_on_entries]

    @property
    def all_inputs(self) -> list[str]:
        """Names of every input, hard ones first."""
        return [*self.depends_on, *self.soft_depends_on]

    @property
    def inputs(self) -> list[Input]:
        """Every input with its look-back and whether it is soft, hard ones first."""
        return [
            *(Input(e.table, e.lookback_days, False) for e in self.depends_on_entries),
            *(Input(e.table, e.lookback_days, True) for e in self.soft_depends_on_entries),
        ]


class Phase(Section):
    name: str
    """Phase name, e.g. phase3."""
    description: Text = ""
    """One line shown in the dashboard."""
    parallel: bool = True
    """Whether the phase's tables may be backfilled at the same time (false: cascade order)."""
    tables: list[Table] = Field(min_length=1)
    """The phase's tables, in processing order."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_name(v, "phase name")


class Pipeline(Section):
    pipeline: Text
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
    alerts: AlertSettings = AlertSettings()
    """Events sent to a hook program (the dashboard also shows them)."""
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
        """Names unique, every input known, no cycle, no input from a later phase."""
        phase_of = self._check_names()
        for t in self.tables():
            both = set(t.depends_on) & set(t.soft_depends_on)
            if both:
                raise ValueError(
                    f"table {t.name!r} depends on {sorted(both)[0]!r} both hard and soft"
                )
            for dep in t.all_inputs:
                if dep not in phase_of:
                    raise ValueError(
                        f"table {t.name!r} depends on unknown table {dep!r}"
                        + _did_you_mean(dep, phase_of)
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
        self._check_engines()
        phase_index = {p.name: i for i, p in enumerate(self.phases)}
        for t in self.tables():
            for dep in t.all_inputs:
                if phase_index[phase_of[dep]] > phase_index[phase_of[t.name]]:
                    raise ValueError(
                        f"table {t.name!r} ({phase_of[t.name]}) depends on {dep!r} from a later "
                        f"phase ({phase_of[dep]}); move one of them"
                    )
        return self

    def _check_engines(self) -> None:
        """Each engine in use has its settings (`jobs.cloudrun`, `jobs.ray`)."""
        for t in self.tables():
            name = self._engine(t)
            if name != "local" and getattr(self.jobs, name) is None:
                where = f"table {t.name!r}" if t.backfill and t.backfill.engine else "jobs.engine"
                raise ValueError(
                    f"{where} is {name!r} but jobs.{name} is not set; add a jobs.{name} section"
                )

    def engine_of(self, table: str) -> str:
        """Where `table`'s jobs run: its `backfill.engine`, else `jobs.engine`."""
        return self._engine(self.table(table))

    def _engine(self, t: Table) -> str:
        return (t.backfill.engine if t.backfill else None) or self.jobs.engine

    def _check_names(self) -> dict[str, str]:
        """Table name -> its phase name, refusing a table name, a warehouse table or a phase name
        written twice."""
        phase_of: dict[str, str] = {}
        refs: dict[str, str] = {}
        for p in self.phases:
            for t in p.tables:
                if t.name in phase_of:
                    raise ValueError(f"duplicate table name {t.name!r}")
                if t.table in refs:
                    raise ValueError(f"table {t.table} listed twice ({refs[t.table]}, {t.name})")
                phase_of[t.name] = p.name
                refs[t.table] = t.name
        if len({p.name for p in self.phases}) != len(self.phases):
            raise ValueError("duplicate phase name")
        return phase_of

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
        """Table names, inputs before the tables derived from them; among the tables ready at the
        same time, file order (graphlib alone gives a valid but arbitrary order).

        Raises graphlib.CycleError on a cycle (the validator turns it into the error line)."""
        ts: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for t in self.tables():
            ts.add(t.name, *t.all_inputs)
        ts.prepare()
        position = {t.name: i for i, t in enumerate(self.tables())}
        result: list[str] = []
        while ts.is_active():
            ready = sorted(ts.get_ready(), key=position.__getitem__)
            result.extend(ready)
            ts.done(*ready)
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
