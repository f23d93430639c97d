"""One coverage suite, every backend: the embedded SQLite warehouse and BigQuery (on the emulator,
with both strategies). Each test states its data once; `Backend.load()` writes it into the backend
with that backend's own writer, and the same assertions run against every backend.
"""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "bigquery"))

import bqemu  # noqa: E402

from nba_tui.config import BigQuerySettings  # noqa: E402
from nba_tui.warehouse.base import Warehouse  # noqa: E402
from nba_tui.warehouse.sqlite import SqliteWarehouse, connect  # noqa: E402

#: `dataset.table` -> rows per date (None as a key: rows with a NULL date).
Data = Mapping[str, Mapping[dt.date | None, int]]


class Backend:
    name: str

    def load(self, data: Data) -> None:
        raise NotImplementedError

    def warehouse(self, datasets: list[str]) -> Warehouse:
        raise NotImplementedError


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, root: Path) -> None:
        self.root = root

    def load(self, data: Data) -> None:
        conn = connect(self.root, {ref.split(".")[0] for ref in data})
        for ref, rows in data.items():
            ds, table = ref.split(".")
            conn.execute(f'CREATE TABLE "{ds}"."{table}" (game_date TEXT, v INTEGER)')
            conn.executemany(
                f'INSERT INTO "{ds}"."{table}" VALUES (?, ?)',
                [(d.isoformat() if d else None, i) for d, n in rows.items() for i in range(n)],
            )
        conn.close()

    def warehouse(self, datasets: list[str]) -> Warehouse:
        return SqliteWarehouse(self.root, datasets)


class BigQueryBackend(Backend):
    def __init__(self, emu: bqemu.Emulator, strategy: str) -> None:
        self.emu = emu
        self.strategy = strategy
        self.name = f"bigquery-{strategy}"
        self.client = emu.client()

    def load(self, data: Data) -> None:
        for ref, rows in data.items():
            dated = {d: n for d, n in rows.items() if d is not None}
            nulls = [{"game_date": None, "v": i} for i in range(rows.get(None, 0))]
            bqemu.create_table(self.client, ref, dated, extra_rows=nulls)

    def warehouse(self, datasets: list[str]) -> Warehouse:
        from nba_tui.warehouse.bigquery import BigQueryWarehouse

        settings = BigQuerySettings(endpoint=self.emu.endpoint, strategy=self.strategy)
        return BigQueryWarehouse(settings)


BACKENDS = [
    "sqlite",
    pytest.param("bigquery-query", marks=pytest.mark.bigquery),
    pytest.param("bigquery-partitions", marks=pytest.mark.bigquery),
]


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[bqemu.Emulator]:
    """The same session emulator as tests/bigquery (reference-counted in `bqemu`)."""
    yield from bqemu.session_fixture()


def make_backend(
    kind: str, request: pytest.FixtureRequest, tmp: Path
) -> Backend:  # pragma: no cover - glue
    if kind == "sqlite":
        return SqliteBackend(tmp / "wh")
    emu = request.getfixturevalue("shared_emulator")
    return BigQueryBackend(emu, kind.split("-", 1)[1])


def unique_suffix() -> str:
    return uuid.uuid4().hex[:8]
