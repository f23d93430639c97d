"""The CLI on remote engines: an engine that cannot take work, or a missing engine section, is one
line naming the fix and exit 2, with nothing recorded; a table's `backfill.engine` overrides the
pipeline's `jobs.engine`."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

from cloudrun_contract import ContractServer
from engine_helpers import RANGE, TABLE, remote_pipeline

from nba_tui import config
from nba_tui.jobs.store import Store


def nba(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nba_tui", "--config", str(cfg), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_ray_cluster_is_exit_2_one_line_nothing_recorded(tmp_path: Path) -> None:
    address = f"http://127.0.0.1:{closed_port()}"
    pipe = remote_pipeline(tmp_path, "ray", {"address": address}, **RANGE)
    out = nba(pipe.source, "launch", TABLE)
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert f"cannot reach the Ray cluster at {address}" in out.stderr
    assert "fix jobs.ray.address" in out.stderr
    assert Store(pipe.state_dir).job_ids() == []


def test_an_unknown_cloud_run_job_is_exit_2(
    tmp_path: Path,
    cloudrun_server: ContractServer,
) -> None:
    settings = {
        "project": cloudrun_server.project,
        "region": cloudrun_server.region,
        "job": "nightly-backfill-typo",
        "endpoint": cloudrun_server.endpoint,
    }
    pipe = remote_pipeline(tmp_path, "cloudrun", settings, **RANGE)
    out = nba(pipe.source, "launch", TABLE, "--dates", "2024-01-09")
    assert out.returncode == 2, out.stderr
    assert "nightly-backfill-typo not found" in out.stderr and "jobs.cloudrun.job" in out.stderr
    assert out.stderr.count("\n") == 1
    assert Store(pipe.state_dir).job_ids() == []


def test_an_engine_without_its_settings_is_a_config_error(tmp_path: Path) -> None:
    pipe = remote_pipeline(tmp_path, "ray", {"address": "http://127.0.0.1:1"}, **RANGE)
    text = pipe.source.read_text().replace('"ray": {"address": "http://127.0.0.1:1"}, ', "")
    pipe.source.write_text(text)
    out = nba(pipe.source, "status")
    assert out.returncode == 2
    assert re.search(
        r"pipeline\.yaml:\d+: .*jobs\.engine is 'ray' but jobs\.ray is not set", out.stderr
    )
    assert "add a jobs.ray section" in out.stderr


def test_a_table_can_run_on_another_engine_than_the_pipeline(tmp_path: Path) -> None:
    pipe = remote_pipeline(tmp_path, "ray", {"address": "http://x:1"}, **RANGE)
    text = pipe.source.read_text().replace('"engine": "ray"', '"engine": "local"')
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if f"name: {TABLE}" in line)
    indent = lines[at + 1][: len(lines[at + 1]) - len(lines[at + 1].lstrip())]
    backfill = next(i for i in range(at, len(lines)) if "backfill: *sample" in lines[i])
    lines[backfill] = f"{indent}backfill: {{<<: *sample, engine: ray}}"
    pipe.source.write_text("\n".join(lines) + "\n")
    loaded = config.load(pipe.source)
    assert loaded.engine_of(TABLE) == "ray"
    assert {loaded.engine_of(t.name) for t in loaded.tables() if t.name != TABLE} == {"local"}
