"""The sections of `pipeline.yaml` below the table level: dates, warehouse, polling, jobs, backfill.

Each field's docstring becomes its JSON Schema description (`nba-tui schema`), so it is written for
the person editing the file. `Section` forbids unknown keys: a misspelt key is an error, not a
silently ignored setting.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from nba_tui.identifiers import TableRef, check_name, check_project

PLACEHOLDERS = {"python", "start", "end", "dates", "table", "warehouse", "checkpoint", "config"}
MAX_DURATION_S = 86_400.0
"""No duration in the file (poll, timeout, stop grace) is longer than a day: a bigger one is a typo
that would, e.g., make `stop` wait forever before SIGKILL."""


def _plain_text(value: str) -> str:
    """No control character (NUL, ESC, newline, ...): these strings reach terminals, file names and
    titles, where an escape sequence would be obeyed and a NUL would fail the system call."""
    bad = next((ch for ch in value if unicodedata.category(ch) == "Cc"), None)
    if bad is not None:
        raise ValueError(f"holds the control character U+{ord(bad):04X}; write plain text")
    return value


Text = Annotated[str, Field(max_length=200), AfterValidator(_plain_text)]
"""A name or a description shown on screen: one line of plain text."""
PathText = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_plain_text)]
"""A path, a regex or an endpoint: plain text, not empty."""


def _duration_seconds(value: Any) -> float:
    """Seconds from a number or `30s`/`2m`/`500ms`/`1h`: finite, not negative, at most a day."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r} (write e.g. 30s, 2m, 500ms)")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value)
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text) if len(text) < 40 else None
        if not m:
            raise ValueError(f"not a duration: {text[:40]!r} (write e.g. 30s, 2m, 500ms)")
        seconds = float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_DURATION_S):
        raise ValueError(f"must be between 0 and 24h (got {str(value)[:40]})")
    return seconds


Duration = Annotated[
    float,
    BeforeValidator(_duration_seconds),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": MAX_DURATION_S},
                {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h)?\s*$"},
            ],
            "description": "seconds, or a duration such as 30s, 2m, 500ms",
        }
    ),
]


class Section(BaseModel):
    """A part of the file: unknown keys are errors (a misspelt key must not be ignored), values
    are frozen once loaded.

    The docstring under each field is its JSON Schema description, filled in by
    `config.json_schema()` rather than by pydantic's `use_attribute_docstrings`, which reads and
    parses the source of every model at import (a quarter of the CLI's start-up)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DateRange(Section):
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


class ExpectedDates(Section):
    table: TableRefText
    """The schedule table whose dates are the expected game dates, as dataset.table."""
    column: ColumnName = "game_date"
    """Its date column."""
    season_gap_days: int = Field(60, ge=1)
    """A gap of at least this many days between game dates starts a new season."""

    @property
    def ref(self) -> TableRef:
        return TableRef.parse(self.table)


class SqliteSettings(Section):
    path: PathText = ".nba_tui/warehouse"
    """Directory of the embedded warehouse: one SQLite file per dataset (relative to this file)."""
    busy_timeout_ms: int = Field(10_000, ge=0)
    """How long a writer waits for a lock before failing."""
    sample: bool = False
    """Build the embedded NBA sample warehouse into `path` when it does not exist yet (the
    shipped demo). False: a missing `path` is an error, never silently filled with made-up data."""


class BigQuerySettings(Section):
    project: str = "nba-props-platform"
    """Google Cloud project id that holds the datasets."""
    location: Text = "US"
    """Dataset location (US, EU, ...)."""
    endpoint: PathText | None = None
    """API endpoint override, for emulators (BIGQUERY_EMULATOR_HOST also works)."""
    strategy: Literal["query", "partitions"] = "query"
    """`query`: one UNION ALL coverage query; `partitions`: INFORMATION_SCHEMA.PARTITIONS per
    dataset (metadata only, for date-partitioned tables), falling back to `query`. Tables with a
    `degraded_column` are always counted by the query (metadata cannot count flagged rows)."""
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


class WarehouseSettings(Section):
    backend: Literal["sqlite", "bigquery"] = "sqlite"
    """`sqlite` (embedded default) or `bigquery` (production)."""
    sqlite: SqliteSettings = SqliteSettings()
    """Embedded warehouse settings."""
    bigquery: BigQuerySettings = BigQuerySettings()
    """BigQuery settings."""


class PollSettings(Section):
    interval: Duration = 30.0
    """Seconds between coverage polls (accepts 30s, 2m)."""

    @field_validator("interval")
    @classmethod
    def _min(cls, v: float) -> float:
        if v < 0.5:
            raise ValueError("poll interval must be at least 0.5s")
        return v


EngineName = Literal["local", "cloudrun", "ray"]


class CloudRunSettings(Section):
    project: str
    """Google Cloud project of the Cloud Run job (credentials: Application Default Credentials)."""
    region: Text
    """Region of the job, e.g. us-west2."""
    job: Text
    """Name of an existing Cloud Run job whose image has nba_tui and the backfill programs
    installed; each run overrides its container's args with `-m nba_tui.task -- <argv>`."""
    python: PathText = "python"
    """The image's Python: rendered as {python} in the backfill command."""
    tasks: int = Field(8, ge=1, le=10_000)
    """Tasks per execution (each takes its slice of the job's dates from its task index)."""
    price_per_task_second: float = Field(0.000024, ge=0)
    """USD per task-second (vCPU + memory at the job's size), for the cost shown."""
    endpoint: PathText | None = None
    """API endpoint override (e.g. http://127.0.0.1:PORT for a contract server); with it, the
    clients use anonymous credentials."""
    logging_endpoint: PathText | None = None
    """Cloud Logging endpoint override (defaults to `endpoint`)."""
    max_requests_per_minute: int = Field(60, ge=1)
    """Throttle for the Admin API (its default quota is low)."""

    @field_validator("project")
    @classmethod
    def _project(cls, v: str) -> str:
        return check_project(v)


class RaySettings(Section):
    address: PathText = "http://127.0.0.1:8265"
    """The Ray cluster's dashboard (Jobs API) address."""
    num_cpus: float = Field(1.0, gt=0, le=1024)
    """CPUs each submitted job reserves on the cluster."""


class JobSettings(Section):
    engine: EngineName = "local"
    """Where backfill jobs run: `local` (detached processes on this machine), `cloudrun` (Cloud
    Run Jobs) or `ray` (a Ray cluster's Jobs API). A table's `backfill.engine` overrides it."""
    cloudrun: CloudRunSettings | None = None
    """Cloud Run Jobs settings (required when an engine is `cloudrun`)."""
    ray: RaySettings | None = None
    """Ray settings (required when an engine is `ray`)."""
    max_parallel: int = Field(3, ge=1, le=64)
    """How many backfill jobs may run at once (phase launches respect it)."""
    log_dir: PathText = "logs"
    """Where job logs go (relative to this file)."""
    state_dir: PathText = ".nba_tui"
    """Job records, checkpoints, locks and the action log (relative to this file)."""
    stop_grace: Duration = 10.0
    """Seconds between SIGTERM and SIGKILL when stopping a job."""
    retries: int = Field(2, ge=0, le=10)
    """How many times a failed shard is run again (only for the dates still missing in the
    warehouse) before its failing date is quarantined; 0: never retried."""
    retry_backoff: Duration = 30.0
    """Seconds before the first retry of a failed shard (doubled for each further retry)."""


class AlertSettings(Section):
    on_event: list[PathText] | None = Field(None, min_length=1, max_length=64)
    """Program run once per event (job_failed, date_quarantined, phase_ready, plan_done,
    plan_short, plan_failed, coverage_dropped, warehouse_stale, plan_late) with the event as one
    JSON object on stdin: an argument list, never a shell string. Null: no hook. Its failure is
    logged, never fatal."""
    timeout: Duration = 10.0
    """Seconds the hook may run before it is killed (and the failure logged)."""
    stale_after: Duration = 600.0
    """Seconds without a successful coverage poll before `warehouse_stale` is raised."""

    @field_validator("timeout")
    @classmethod
    def _some_time(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be more than 0s: the hook is killed at once (write e.g. 10s)")
        return v

    @field_validator("on_event", mode="before")
    @classmethod
    def _not_a_string(cls, v: Any) -> Any:
        if isinstance(v, str):
            raise ValueError("write an argument list such as [prog, --flag], never a shell string")
        return v

    @field_validator("on_event")
    @classmethod
    def _argv(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and not v[0].strip():
            raise ValueError("the program (first argument) is empty")
        return v


class Backfill(Section):
    command: list[str] = Field(min_length=1)
    """Argument list without the date arguments (never a shell string). Placeholders: {python}
    {table} {warehouse} {checkpoint} {config}."""
    range_args: list[str] = ["--start-date", "{start}", "--end-date", "{end}"]
    """Appended to `command` to backfill a date range."""
    dates_args: list[str] = ["--dates", "{dates}"]
    """Appended to `command` to re-run only some dates ({dates}: comma-separated YYYY-MM-DD)."""
    checkpoint: PathText | None = None
    """Checkpoint file the program resumes from (relative to this file; {table} allowed)."""
    progress: PathText = r"Processing (?P<date>\d{4}-\d{2}-\d{2})"
    """Regex over log lines; the named group `date` is the date being processed."""
    engine: EngineName | None = None
    """Where this table's jobs run (default: `jobs.engine`)."""
    shardable: bool = False
    """May the table's remaining dates be split into shards run in parallel, each with its own
    checkpoint? Only true when the program's checkpoint is per date range (the {checkpoint}
    placeholder is rendered per shard) and concurrent writers of different dates are safe."""

    @field_validator("command", "range_args", "dates_args")
    @classmethod
    def _placeholders(cls, v: list[str] | None) -> list[str] | None:
        for arg in v or []:
            if "\0" in arg:
                raise ValueError(f"argument {arg!r} holds a NUL byte, which no program can receive")
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
