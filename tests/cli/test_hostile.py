"""The hostile corpus: configs and command-line arguments a careless or malicious hand could
give `nba-tui`. Each runs the real CLI in a new process (no shell) and must give exit 2 and
exactly one line on stderr, no traceback, within 2 s of CPU and 200 MB of address space, and
execute nothing: the test pipeline's backfill command would create a canary file, and
no job record may appear.

The config-side corpus (alias bomb, binary and Latin-1 bytes, 20,000 nested `[`, oversize, ...)
is `HOSTILE` of tests/unit/test_config.py, which checks the loader in process; here each of them
goes through the CLI as well, without repeating its body.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MEMORY = 200 * 1024 * 1024
CPU_S = 2.0


def _config_corpus() -> list[tuple[str, bytes, str]]:
    """tests/unit/test_config.py's HOSTILE files: (name, content, expected message part)."""
    spec = importlib.util.spec_from_file_location(
        "hostile_config_corpus", ROOT / "tests" / "unit" / "test_config.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.HOSTILE)


GOOD = """\
pipeline: hostile
range: {{start: 2024-01-01, end: 2024-03-31}}
expected_dates: {{table: raw.schedule, column: game_date}}
warehouse: {{sqlite: {{path: wh, sample: false}}}}
jobs: {{state_dir: {state}, log_dir: logs, stop_grace: 1s}}
phases:
  - name: p2
    tables:
      - name: schedule
        table: raw.schedule
      - name: team_box
        table: raw.team_box
        backfill:
          command: ["{{python}}", "-c", "import pathlib; pathlib.Path({canary!r}).touch()"]
  - name: p3
    tables:
      - name: summary
        table: analytics.summary
        depends_on: [team_box]
        backfill:
          command: ["{{python}}", "-c", "import pathlib; pathlib.Path({canary!r}).touch()"]
"""


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    config: bytes | None = None
    """The pipeline file's content; None: the good pipeline (whose backfill makes the canary)."""
    expect: str = ""
    """A part of the one line on stderr."""
    state_dir: str = "state"


LONG = "a" * 5_000
CASES: list[Case] = [
    Case(f"config: {name}", ("status",), content, expect)
    for name, content, expect in _config_corpus()
] + [
    Case("config: stop_grace 1e23 s", ("status",), b"", "jobs.stop_grace: must be"),
    Case("config: NUL in the pipeline name", ("status",), b"", "holds the control character"),
    Case("config: state_dir /proc/x", ("launch", "team_box"), None, "/proc/x", "/proc/x"),
    Case("config: a directory", ("status", "--config", "."), None, "is a directory"),
    Case("config: /dev/zero", ("status", "--config", "/dev/zero"), None, "not a regular file"),
    Case("config: 5000-char path", ("status", "--config", LONG), None, "File name too long"),
    Case("config: missing", ("status", "--config", "nope.yaml"), None, "file not found"),
    Case("launch --dates ''", ("launch", "team_box", "--dates", ""), expect="--dates is empty"),
    Case("launch --dates ','", ("launch", "team_box", "--dates", ",,"), expect="--dates is empty"),
    Case(
        "launch --dates out of range",
        ("launch", "team_box", "--dates", "2024-01-05,1999-01-01"),
        expect="--dates 1999-01-01 is outside the pipeline's range 2024-01-01..2024-03-31",
    ),
    Case(
        "launch --start out of range",
        ("launch", "team_box", "--start", "2030-01-01"),
        expect="--start 2030-01-01 is outside",
    ),
    Case("launch --end out of range", ("launch", "summary", "--end", "2023-12-31"), expect="--end"),
    Case("launch bad date", ("launch", "team_box", "--dates", "2024-02-30"), expect="not a date"),
    Case("launch huge date", ("launch", "team_box", "--dates", "9" * 100_000), expect="not a date"),
    Case("launch compact date", ("launch", "team_box", "--start", "20240101"), expect="not a date"),
    Case(
        "launch --dates with --missing",
        ("launch", "team_box", "--dates", "2024-01-05", "--missing"),
        expect="cannot be combined",
    ),
    Case("launch typo'd table", ("launch", "team_bx"), expect="did you mean team_box?"),
    Case("launch path table", ("launch", "../../etc"), expect="only letters, digits"),
    Case("launch 5000-char table", ("launch", LONG), expect="is 5,000 characters"),
    Case("stop 5000-char id", ("stop", LONG), expect="is 5,000 characters (at most 64)"),
    Case("stop path id", ("stop", "../../etc/passwd"), expect="only letters, digits"),
    Case("stop empty id", ("stop", ""), expect="job is empty"),
    Case("stop --grace nan", ("stop", "abc123", "--grace", "nan"), expect="'nan' is not a number"),
    Case("stop --grace inf", ("stop", "abc123", "--grace", "inf"), expect="'inf' is not"),
    Case("stop --grace 1e308", ("stop", "abc123", "--grace", "1e308"), expect="0 to 86400"),
    Case("stop --grace -1", ("stop", "abc123", "--grace=-1"), expect="'-1' is not a number"),
    Case("stop --grace 2 days", ("stop", "abc123", "--grace", "172800"), expect="0 to 86400"),
    Case("pause escape id", ("pause", "\x1b[2J\x1b]0;pwned\x07"), expect="'\\x1b[2J\\x1b]0;pwned"),
    Case("resume NUL-free slash id", ("resume", "a/b"), expect="only letters, digits"),
    Case("restart unknown id", ("restart", "zz9999"), expect="no job or table 'zz9999'"),
    Case("pause typo'd table", ("pause", "team_bax"), expect="; did you mean team_box?"),
    Case("cancel 5000-char plan", ("cancel", LONG), expect="plan 'aaaa"),
    Case("cancel path plan", ("cancel", "p/../x"), expect="only letters, digits"),
    Case("cancel unknown plan", ("cancel", "p000000"), expect="no plan 'p000000'"),
    Case("gaps typo'd table", ("gaps", "sumary"), expect="unknown table sumary; did you mean"),
    Case("gaps 5000-char table", ("gaps", LONG), expect="is 5,000 characters"),
    Case("preflight unknown phase", ("preflight", "p9"), expect="unknown phase p9"),
    Case("run unknown phase", ("run", "p2", "nope"), expect="unknown phase nope"),
    Case(
        "launch-phase out of range",
        ("launch-phase", "p3", "--start", "2099-01-01"),
        expect="outside the pipeline's range",
    ),
    Case("status bad month", ("status", "--start", "2024-13-01"), expect="not a date"),
    Case(
        "status end before start",
        ("status", "--start", "2024-03-01", "--end", "2024-02-01"),
        expect="is before --start",
    ),
    Case("status escape date", ("status", "--end", "\x1b]0;x\x07"), expect="'\\x1b]0;x\\x07'"),
    Case("history --limit -1", ("history", "--limit=-1"), expect="not a whole number 1..100000"),
    Case("history --limit huge", ("history", "--limit", "9" * 30), expect="not a whole number"),
    Case("unknown command", ("bogus",), expect="invalid choice: 'bogus'"),
    Case("unknown option", ("status", "--bogus"), expect="unrecognized arguments: --bogus"),
    Case("option not read", ("jobs", "--start", "2024-01-01"), expect="unrecognized arguments"),
]
# The two config cases written out here (the others come from test_config's corpus).
_TEXT = {
    "config: stop_grace 1e23 s": "jobs: {{state_dir: {state}, stop_grace: 99999999999999999999999s}}",
    "config: NUL in the pipeline name": 'pipeline: "host\\0ile"',
}


def _limit() -> None:
    """In the child before exec: the address-space cap (the alias bomb, unbounded, takes gigabytes)."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _config(case: Case, tmp: Path, canary: Path) -> bytes:
    state = case.state_dir if case.state_dir.startswith("/") else str(tmp / case.state_dir)
    good = GOOD.format(state=state, canary=str(canary))
    if case.name in _TEXT:
        line = _TEXT[case.name].format(state=state)
        key = line.split(":", 1)[0]
        return "\n".join(
            line if old.startswith(f"{key}:") else old for old in good.splitlines()
        ).encode()
    return good.encode() if case.config is None else case.config


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_is_one_line_exit_2_and_runs_nothing(tmp_path: Path, case: Case) -> None:
    canary = tmp_path / "canary"
    path = tmp_path / "pipeline.yaml"
    path.write_bytes(_config(case, tmp_path, canary))
    argv = list(case.argv)
    if "--config" not in argv:
        argv += ["--config", str(path)]
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "nba_tui", *argv],
        capture_output=True,
        timeout=60,
        preexec_fn=_limit,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, (proc.returncode, err[-2000:])
    assert "Traceback" not in err and err.endswith("\n") and err.count("\n") == 1, err[-2000:]
    assert err[:-1].isprintable(), repr(err)  # no escape sequence reaches the terminal
    assert case.expect in err, err
    assert proc.stdout == b""
    assert cpu < CPU_S, f"{cpu:.2f} s of CPU ({wall:.2f} s wall)"
    assert not canary.exists(), "the backfill command ran"
    jobs = tmp_path / "state" / "jobs"
    assert not jobs.is_dir() or not any(jobs.iterdir()), sorted(os.listdir(jobs))


def test_the_corpus_is_big_and_covers_the_issue() -> None:
    """The kinds of hostile input the corpus must keep (and stay at 40 cases or more)."""
    names = " ".join(c.name for c in CASES)
    assert len(CASES) >= 40
    for wanted in (
        "alias bomb",
        "binary",
        "latin-1",
        "nested [",
        "oversize",
        "stop 5000-char id",
        "state_dir /proc/x",
        "launch --dates ''",
        "out of range",
        "--grace nan",
        "--grace inf",
        "--grace 1e308",
        "stop_grace 1e23",
        "NUL in the pipeline name",
    ):
        assert wanted in names, wanted
