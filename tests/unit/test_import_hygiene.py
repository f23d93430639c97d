"""Only nba_tui/tui imports Textual, and the dashboard does no IO of its own.

The rules are docs/ARCHITECTURE.md's "Rules of the house". Every module outside nba_tui/tui is
imported in a fresh interpreter (so nothing this test session loaded counts): each must import
(a broken import fails here, it is never skipped) and none may pull in textual. The tui package
is checked statically: no sqlite3, subprocess, google (BigQuery) or os.system-style process
spawning; everything goes through the monitor and the supervisor. Import cycles and module and
function sizes are checked in test_house.py.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "nba_tui"
TUI = PACKAGE / "tui"
FORBIDDEN_IN_TUI = {"sqlite3", "subprocess", "google", "multiprocessing", "pty"}


def headless_modules() -> list[str]:
    """Every module of nba_tui outside tui/, except `__main__` (importing it runs the program)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if TUI in path.parents or path.name == "__main__.py":
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_headless_modules_import_and_do_not_import_textual() -> None:
    modules = headless_modules()
    assert "nba_tui.config" in modules and "nba_tui.cli" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "    assert 'textual' not in sys.modules, m\n"
        "import nba_tui.cli as cli\n"
        "cli.build_parser()\n"
        "assert 'textual' not in sys.modules, 'build_parser'\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


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
