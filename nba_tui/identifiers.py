"""The one identifier validator.

Table names come from `pipeline.yaml`, so they are user input: they are checked here, once, at
config load, and every backend quotes the validated parts itself. Nothing else in the code
base turns a name into SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: BigQuery project ids: 6-30 chars, lowercase letters, digits, hyphens; start with a letter.
PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
#: Datasets: letters, digits, underscores (BigQuery allows up to 1024).
DATASET_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")
#: Tables and columns: we accept the portable subset shared by BigQuery and SQLite.
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")

_FORBIDDEN = ("`", "\\", "\n", "\r", ";", '"', "'", "\x00")


class IdentifierError(ValueError):
    """A name that cannot be used safely as a warehouse identifier."""


def _explain(kind: str, value: str) -> str:
    bad = [c for c in _FORBIDDEN if c in value]
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        return f"unsafe {kind} {value!r}: contains {shown}"
    return f"invalid {kind} {value!r}: use letters, digits and underscores, starting with a letter"


def check_project(value: str) -> str:
    if not PROJECT_RE.match(value):
        bad = [c for c in _FORBIDDEN if c in value]
        if bad:
            raise IdentifierError(_explain("project id", value))
        raise IdentifierError(
            f"invalid project id {value!r}: 6-30 lowercase letters, digits or hyphens, "
            "starting with a letter"
        )
    return value


def check_name(value: str, kind: str = "name") -> str:
    regex = DATASET_RE if kind == "dataset" else NAME_RE
    if not isinstance(value, str) or not regex.match(value):
        raise IdentifierError(_explain(kind, str(value)))
    return value


@dataclass(frozen=True, order=True)
class TableRef:
    """A validated `dataset.table` reference (the project, if any, comes from the backend)."""

    dataset: str
    table: str

    def __post_init__(self) -> None:
        # Built directly or via parse(), a TableRef always holds validated parts.
        check_name(self.dataset, "dataset")
        check_name(self.table, "table")

    @classmethod
    def parse(cls, text: str) -> TableRef:
        if not isinstance(text, str):
            raise IdentifierError(f"table reference must be a string, got {text!r}")
        parts = text.split(".")
        if len(parts) != 2:
            if any(c in text for c in _FORBIDDEN):
                raise IdentifierError(_explain("table reference", text))
            raise IdentifierError(f"invalid table reference {text!r}: write it as dataset.table")
        return cls(check_name(parts[0], "dataset"), check_name(parts[1], "table"))

    def __str__(self) -> str:
        return f"{self.dataset}.{self.table}"

    def sqlite_sql(self) -> str:
        """Quoted for SQLite (the dataset is an ATTACHed schema)."""
        return f'"{self.dataset}"."{self.table}"'

    def bigquery_sql(self, project: str) -> str:
        """Quoted part by part for BigQuery standard SQL."""
        check_project(project)
        return f"`{project}`.`{self.dataset}`.`{self.table}`"


def quote_column(name: str, dialect: str) -> str:
    check_name(name, "column")
    return f"`{name}`" if dialect == "bigquery" else f'"{name}"'
