"""Start the local BigQuery emulator (`bqemulator`) for tests and the bench, and load data into it.

The emulator runs DuckDB and needs DuckDB's spatial extension, which it would otherwise try to
download (these machines cannot): the wheel `duckdb-extension-spatial` ships it, and we copy it
where DuckDB looks (`~/.duckdb/extensions/v<duckdb>/linux_amd64/`). The process gets free loopback
ports, an argument list (no shell), a log file (never a pipe nobody drains), and we wait for its
REST port with a deadline instead of a fixed sleep.

Both `tests/bigquery` and `tests/shared` use one emulator per session (`acquire`/`release` with a
reference count), and `bench/bench_poll.py` uses `Emulator` directly.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

PROJECT = "nba-props-platform"
START_DEADLINE = 90.0


class EmulatorMissing(RuntimeError):
    """bqemulator (or its spatial extension) is not installed."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def emulator_binary() -> str:
    beside = Path(sys.executable).with_name("bqemulator")
    found = str(beside) if beside.exists() else shutil.which("bqemulator")
    if not found:
        raise EmulatorMissing(
            "bqemulator not found: install the test extra (`pip install -e '.[test]'`, which pins "
            "bqemulator==1.4.0 duckdb==1.5.5 duckdb-extension-spatial==1.5.5 numpy)"
        )
    return found


def install_spatial_extension() -> Path:
    """Copy the spatial extension from the `duckdb-extension-spatial` wheel where DuckDB looks."""
    try:
        import duckdb
        import duckdb_extension_spatial
    except ImportError as e:
        raise EmulatorMissing(
            f"{e.name} not installed: install the test extra (`pip install -e '.[test]'`)"
        ) from None
    version = f"v{duckdb.__version__}"
    pkg = Path(duckdb_extension_spatial.__file__).parent
    src = pkg / "extensions" / version / "spatial.duckdb_extension"
    if not src.exists():
        raise EmulatorMissing(f"{src} missing: duckdb and duckdb-extension-spatial versions differ")
    arch = {"x86_64": "linux_amd64", "aarch64": "linux_arm64"}.get(platform.machine(), "")
    dest_dir = Path.home() / ".duckdb" / "extensions" / version / arch
    dest = dest_dir / src.name
    if not dest.exists() or dest.stat().st_size != src.stat().st_size:
        dest_dir.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(".tmp")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    return dest


def wait_for_port(port: int, deadline_s: float, proc: subprocess.Popen | None = None) -> None:
    """Until something accepts on 127.0.0.1:port, or raise (also if `proc` died)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"bqemulator exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"bqemulator did not listen on port {port} within {deadline_s:g}s")


class Emulator:
    """One `bqemulator start` process on free loopback ports."""

    def __init__(self, project: str = PROJECT) -> None:
        self.project = project
        self.rest_port = 0
        self.proc: subprocess.Popen | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix="bqemu-"))
        self.log = self.workdir / "bqemulator.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def start(self) -> Emulator:
        binary = emulator_binary()
        install_spatial_extension()
        self.rest_port, grpc_port = free_port(), free_port()
        argv = [
            binary,
            "start",
            "--rest-port",
            str(self.rest_port),
            "--grpc-port",
            str(grpc_port),
            "--project",
            self.project,
            "--log-level",
            "warning",
        ]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.workdir
            )
        try:
            wait_for_port(self.rest_port, START_DEADLINE, self.proc)
        except Exception as e:
            tail = self.log.read_text(errors="replace")[-2000:]
            self.stop()
            raise RuntimeError(f"{e}; log:\n{tail}") from e
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    def client(self, endpoint: str | None = None):  # -> bigquery.Client
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=endpoint or self.endpoint),
        )


_lock = threading.Lock()
_shared: Emulator | None = None
_refs = 0


def acquire() -> Emulator:
    """The session's emulator (started on first use)."""
    global _shared, _refs
    with _lock:
        if _shared is None:
            _shared = Emulator().start()
        _refs += 1
        return _shared


def release() -> None:
    global _shared, _refs
    with _lock:
        _refs -= 1
        if _refs <= 0 and _shared is not None:
            _shared.stop()
            _shared = None


def session_fixture() -> Iterator[Emulator]:
    """Body of a session fixture: the shared emulator, or a test failure (never a skip) naming
    what to install when it is missing."""
    import pytest

    try:
        emu = acquire()
    except EmulatorMissing as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield emu
    finally:
        release()


# -- data -------------------------------------------------------------------------------------


def create_table(
    client,
    ref: str,
    rows_per_date: Mapping[dt.date, int],
    *,
    partitioned: bool = True,
    date_column: str = "game_date",
    extra_rows: Iterable[dict] = (),
) -> None:
    """`dataset.table` with `n` rows on each date (dataset created if needed)."""
    from google.cloud import bigquery

    dataset = ref.split(".")[0]
    client.create_dataset(bigquery.Dataset(f"{client.project}.{dataset}"), exists_ok=True)
    table = bigquery.Table(
        f"{client.project}.{ref}",
        schema=[
            bigquery.SchemaField(date_column, "DATE"),
            bigquery.SchemaField("v", "INT64"),
        ],
    )
    if partitioned:
        table.time_partitioning = bigquery.TimePartitioning(field=date_column)
    client.create_table(table)
    rows = [
        {date_column: d.isoformat(), "v": i}
        for d, n in sorted(rows_per_date.items())
        for i in range(n)
    ]
    rows += list(extra_rows)
    for i in range(0, len(rows), 5000):
        errors = client.insert_rows_json(f"{client.project}.{ref}", rows[i : i + 5000])
        if errors:
            raise RuntimeError(f"insert into {ref} failed: {errors[:3]}")


def job_ids(client) -> set[str]:
    return {j.job_id for j in client.list_jobs(max_results=100_000)}
