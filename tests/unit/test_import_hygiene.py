"""Only nba_tui/tui imports Textual, and the dashboard does no IO of its own (DESIGN.md rules).

The headless side is imported in a fresh interpreter (so nothing this test session loaded counts)
and must not pull in textual. The tui package is checked statically: no sqlite3, subprocess,
google (BigQuery) or os.system-style process spawning; everything goes through Monitor/Supervisor.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TUI = ROOT / "nba_tui" / "tui"
HEADLESS = [
    "nba_tui.cli",
    "nba_tui.config",
    "nba_tui.coverage",
    "nba_tui.monitor",
    "nba_tui.preflight",
    "nba_tui.report",
    "nba_tui.jobs.model",
    "nba_tui.jobs.supervisor",
    "nba_tui.sample",
    "nba_tui.warehouse.sqlite",
]
FORBIDDEN_IN_TUI = {"sqlite3", "subprocess", "google", "multiprocessing", "pty"}


def test_headless_modules_do_not_import_textual() -> None:
    code = (
        "import importlib, sys\n"
        f"for m in {HEADLESS!r}:\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except ModuleNotFoundError as e:\n"
        "        if not e.name or not e.name.startswith('nba_tui'):\n"
        "            raise\n"
        "    assert 'textual' not in sys.modules, m\n"
        "import nba_tui.cli as cli\n"
        "cli.build_parser()\n"
        "assert 'textual' not in sys.modules, 'build_parser'\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_tui_does_no_sql_and_spawns_no_process() -> None:
    files = sorted(TUI.rglob("*.py"))
    assert files
    for path in files:
        bad = _imports(path) & FORBIDDEN_IN_TUI
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
        text = path.read_text()
        for call in ("os.system(", "os.popen(", "os.fork(", "os.exec", "os.spawn", "os.kill"):
            assert call not in text, f"{path.relative_to(ROOT)} calls {call}"


def test_only_tui_imports_textual() -> None:
    for path in sorted((ROOT / "nba_tui").rglob("*.py")):
        if TUI in path.parents:
            continue
        assert "textual" not in _imports(path), f"{path.relative_to(ROOT)} imports textual"
