"""Suite-wide test setup: the `tests/` folder is importable, and the one way a test waits for a
condition (`wait_for`, `wait_for_ui`, `wait_for_async`) is re-exported here from `waiting.py`.

Tests import it as `from waiting import wait_for`, never `from conftest import`: pytest loads
every folder's conftest.py under the module name `conftest`, so in the whole suite that name may
be another folder's file.
"""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from waiting import wait_for, wait_for_async, wait_for_ui  # noqa: E402, F401 - re-exported
