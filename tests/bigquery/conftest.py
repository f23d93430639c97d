"""Fixtures for the BigQuery backend: a real emulator per session, a fault proxy per test.

A missing emulator is a failure, not a skip: CI installs it with the `test` extra, and a silently
skipped backend is how regressions ship.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import bqemu  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402


@pytest.fixture(scope="session")
def bq_emulator() -> Iterator[bqemu.Emulator]:
    yield from bqemu.session_fixture()


@pytest.fixture(scope="session")
def bq_client(bq_emulator: bqemu.Emulator):
    client = bq_emulator.client()
    yield client
    client.close()


@pytest.fixture
def suffix() -> str:
    """A unique dataset suffix: the emulator lives for the whole session."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def fault_proxy(bq_emulator: bqemu.Emulator) -> Iterator[FaultProxy]:
    """A proxy per test, stopped at its end; its own lifetime and its wait for the emulator are
    safety nets, long enough for a loaded machine's emulator (a test's table load runs while
    the proxy lives)."""
    proxy = FaultProxy(
        bq_emulator.endpoint, blackhole_s=60.0, lifetime_s=900.0, upstream_s=300.0
    ).start()
    try:
        yield proxy
    finally:
        proxy.stop()
