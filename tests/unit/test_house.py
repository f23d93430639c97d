"""The house rules of docs/ARCHITECTURE.md that a reader can check without running anything.

- No import cycle between files of nba_tui. Every import counts: at the top, inside a function
  (a lazy import hides a cycle from Python, not from the reader), under `if TYPE_CHECKING:` (a
  type that needs the other room is still an arrow back), and `importlib.import_module("nba_...")`
  with a literal name. `from x import y` counts as an import of the module `x.y` when that is a
  module, else of `x`. A package's `__init__` being run first when one of its modules is imported
  does not count: it is how packages work, not an arrow someone drew.
- No import cycle between rooms either: a room is a subpackage of nba_tui (`config`, `warehouse`,
  `jobs` with `jobs/engines`, `tui`, `cli`, `sample`) or a top-level module (`fmt`, `monitor`, ...).
  Files can avoid a cycle while their packages still import each other (config/pipeline.py
  importing a warehouse module while the warehouse imports config): the layers are packages.
- The CLI imports nothing from `tui/` but the one launcher of the dashboard (`cli/dashboard.py`
  imports `tui/app.py`, inside its handler): the facts the CLI prints live in the domain.
- No module over 500 lines; no function or method over 60 (decorators not counted).

The checkers take a package directory, so the tests at the bottom prove on small trees written to
tmp_path that each one catches what it is for.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "nba_tui"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def module_files(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of `package` (a package's `__init__.py` is
    the package's own name)."""
    out: dict[str, Path] = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute name of a relative import `from .{level}name import ...` in `module`."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([name] if name else [])])


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """`name` if it is a module of the package, else its longest prefix that is (x.y.Name -> x.y)."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in modules:
            return ".".join(parts[:n])
    return None


def _targets(node: ast.AST, module: str, modules: dict[str, Path]) -> set[str]:
    """The package modules one AST node imports."""
    found: set[str] = set()
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
        found.update(t for t in (_known(n, modules) for n in names) if t)
    elif isinstance(node, ast.ImportFrom):
        is_package = modules[module].name == "__init__.py"
        base = _absolute(module, is_package, node.level, node.module) if node.level else node.module
        for alias in node.names:
            target = _known(f"{base}.{alias.name}", modules) or _known(base or "", modules)
            if target:
                found.add(target)
    elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if called in {"import_module", "__import__"} and isinstance(node.args[0].value, str):
            target = _known(node.args[0].value, modules)
            if target:
                found.add(target)
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its file (itself left out)."""
    modules = module_files(package)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        edges: set[str] = set()
        for node in ast.walk(tree):
            edges |= _targets(node, module, modules)
        edges.discard(module)
        graph[module] = edges
    return graph


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components with more than one module: each holds at least one cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def _cycle_through(start: str, members: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest import path from `start` back to itself inside one component."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    return [*paths[v], start]
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{start} is in a component but on no cycle")  # pragma: no cover


def import_cycles(package: Path) -> list[str]:
    """One line per tangle of modules importing each other: `a -> b -> a (and c, d in it)`."""
    graph = import_graph(package)
    out = []
    for component in _strongly_connected(graph):
        cycle = _cycle_through(component[0], set(component), graph)
        rest = sorted(set(component) - set(cycle))
        out.append(" -> ".join(cycle) + (f" (with {', '.join(rest)})" if rest else ""))
    return out


def room(module: str) -> str:
    """The room of a module: its subpackage of the top package, or the top-level module itself."""
    return ".".join(module.split(".")[:2])


def room_graph(package: Path) -> tuple[dict[str, set[str]], dict[tuple[str, str], str]]:
    """Room -> the rooms it imports, and for each arrow one file-level import that draws it."""
    graph: dict[str, set[str]] = {}
    witness: dict[tuple[str, str], str] = {}
    for module, targets in sorted(import_graph(package).items()):
        graph.setdefault(room(module), set())
        for target in sorted(targets):
            arrow = (room(module), room(target))
            if arrow[0] != arrow[1]:
                graph[arrow[0]].add(arrow[1])
                witness.setdefault(arrow, f"{module} imports {target}")
    return graph, witness


def room_cycles(package: Path) -> list[str]:
    """One line per tangle of rooms importing each other, with a file-level import per arrow."""
    graph, witness = room_graph(package)
    out = []
    for component in _strongly_connected(graph):
        cycle = _cycle_through(component[0], set(component), graph)
        why = "; ".join(witness[(a, b)] for a, b in zip(cycle, cycle[1:], strict=False))
        out.append(" -> ".join(cycle) + f" ({why})")
    return out


def imports_into(
    package: Path, source: str, target: str, allowed: frozenset[tuple[str, str]] = frozenset()
) -> list[str]:
    """Imports by a module of room `source` of a module of room `target`, but the `allowed`
    (importer, imported) pairs."""
    out = []
    for module, targets in sorted(import_graph(package).items()):
        if room(module) != source:
            continue
        for t in sorted(targets):
            if room(t) == target and (module, t) not in allowed:
                out.append(f"{module} imports {t}")
    return out


def dynamic_imports(package: Path) -> list[str]:
    """`import_module(name)` / `__import__(name)` with a computed name: an arrow no reader (and no
    walker) can follow, and once a way to drop commands silently on an ImportError."""
    out = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            literal = bool(node.args) and isinstance(node.args[0], ast.Constant)
            if called in {"import_module", "__import__"} and not literal:
                out.append(f"{path.relative_to(package.parent)}:{node.lineno} {called}(...)")
    return out


def long_modules(package: Path, limit: int = MAX_MODULE_LINES) -> list[str]:
    out = []
    for path in sorted(package.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            out.append(f"{path.relative_to(package.parent)}: {lines} lines")
    return out


def long_functions(package: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    out = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    where = f"{path.relative_to(package.parent)}:{node.lineno}"
                    out.append(f"{where} {node.name}: {lines} lines")
    return out


# -- the rules, on the real tree ---------------------------------------------------------------


def test_no_import_cycle_between_modules() -> None:
    graph = import_graph(PACKAGE)
    assert "nba_tui.config" in graph["nba_tui.cli"], "the walker must see the CLI's imports"
    cycles = import_cycles(PACKAGE)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_import_cycle_between_rooms() -> None:
    graph, _ = room_graph(PACKAGE)
    assert {"nba_tui.config", "nba_tui.identifiers"} <= graph["nba_tui.warehouse"]
    cycles = room_cycles(PACKAGE)
    assert not cycles, "import cycles between rooms:\n" + "\n".join(cycles)


DASHBOARD_LAUNCHER = frozenset({("nba_tui.cli.dashboard", "nba_tui.tui.app")})


def test_the_cli_imports_no_tui_module_but_the_dashboard_launcher() -> None:
    assert imports_into(PACKAGE, "nba_tui.cli", "nba_tui.tui") == [
        "nba_tui.cli.dashboard imports nba_tui.tui.app"
    ]
    found = imports_into(PACKAGE, "nba_tui.cli", "nba_tui.tui", DASHBOARD_LAUNCHER)
    assert not found, "\n".join(found)


def test_no_import_by_computed_name() -> None:
    assert not (found := dynamic_imports(PACKAGE)), "\n".join(found)


def test_no_module_over_500_lines() -> None:
    assert not (found := long_modules(PACKAGE)), "\n".join(found)


def test_no_function_over_60_lines() -> None:
    assert not (found := long_functions(PACKAGE)), "\n".join(found)


# -- the checkers catch what they are for -------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_a_cycle_through_a_lazy_relative_import_is_named(tmp_path: Path) -> None:
    pkg = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.b import helper\n",
            "pkg/b.py": "def helper() -> None:\n    from . import c\n",
            "pkg/c.py": "import pkg.a\n",
            "pkg/d.py": "from pkg import a\n",  # imports into the cycle, is not on it
        },
    )
    assert import_cycles(pkg) == ["pkg.a -> pkg.b -> pkg.c -> pkg.a"]


def test_type_checking_and_import_module_count(tmp_path: Path) -> None:
    pkg = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/sub/__init__.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from ..top import Thing\n",
            "pkg/sub/leaf.py": "",
            "pkg/top.py": "import importlib\n"
            "def load():\n    return importlib.import_module('pkg.sub')\n",
        },
    )
    assert import_graph(pkg)["pkg.sub"] == {"pkg.top"}
    assert import_cycles(pkg) == ["pkg.sub -> pkg.top -> pkg.sub"]
    assert dynamic_imports(pkg) == []


def test_an_import_by_computed_name_is_found(tmp_path: Path) -> None:
    pkg = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/cli.py": "for m in ('pkg.a', 'pkg.b'):\n"
            "    try:\n        __import__(m)\n    except ImportError:\n        continue\n",
        },
    )
    assert dynamic_imports(pkg) == ["pkg/cli.py:3 __import__(...)"]


def test_a_package_importing_its_modules_is_no_cycle(tmp_path: Path) -> None:
    pkg = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.sub import leaf\n",
            "pkg/sub/__init__.py": "from .leaf import name\nfrom . import other\n",
            "pkg/sub/leaf.py": "import os\nname = os.sep\n",
            "pkg/sub/other.py": "from pkg.sub.leaf import name\nfrom ..sub import leaf\n",
        },
    )
    graph = import_graph(pkg)
    assert graph["pkg.sub"] == {"pkg.sub.leaf", "pkg.sub.other"}
    assert graph["pkg.sub.other"] == {"pkg.sub.leaf"}
    assert import_cycles(pkg) == []


def test_long_modules_and_functions_are_found(tmp_path: Path) -> None:
    def body(indent: str, n: int) -> str:
        return "".join(f"{indent}x{i} = {i}\n" for i in range(n))

    pkg = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/ok.py": f"def fits():\n{body('    ', 59)}",  # 60 lines
            "pkg/long.py": f"class C:\n    @property\n    def too_long(self):\n{body(' ' * 8, 60)}",
            "pkg/big.py": "x = 1\n" * 501,
        },
    )
    assert long_functions(pkg) == ["pkg/long.py:3 too_long: 61 lines"]
    assert long_modules(pkg) == ["pkg/big.py: 501 lines"]


def test_rooms_importing_each_other_are_named_though_no_file_cycle(tmp_path: Path) -> None:
    pkg = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/config/__init__.py": "",
            "pkg/config/model.py": "from pkg.store.names import check\n",
            "pkg/store/__init__.py": "",
            "pkg/store/names.py": "def check() -> None: ...\n",
            "pkg/store/backend.py": "def open():\n    from pkg.config import model\n",
            "pkg/fmt.py": "",
            "pkg/cli/__init__.py": "from pkg import fmt\nfrom pkg.store import backend\n",
        },
    )
    assert import_cycles(pkg) == []
    assert room_cycles(pkg) == [
        "pkg.config -> pkg.store -> pkg.config (pkg.config.model imports pkg.store.names; "
        "pkg.store.backend imports pkg.config.model)"
    ]


def test_an_import_from_one_room_into_another_is_found(tmp_path: Path) -> None:
    pkg = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/ui/__init__.py": "",
            "pkg/ui/app.py": "",
            "pkg/ui/cells.py": "",
            "pkg/cli/__init__.py": "",
            "pkg/cli/launch.py": "def run():\n    from pkg.ui.app import main\n",
            "pkg/cli/jobs.py": "from pkg.ui import cells\n",
        },
    )
    launcher = frozenset({("pkg.cli.launch", "pkg.ui.app")})
    assert imports_into(pkg, "pkg.cli", "pkg.ui", launcher) == ["pkg.cli.jobs imports pkg.ui.cells"]
