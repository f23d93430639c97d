"""Suite-wide test setup: the `tests/` folder is importable, so every test folder shares
`waiting.wait_for` / `waiting.wait_for_ui`, the one way a test waits for a condition."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from waiting import wait_for, wait_for_ui  # noqa: E402, F401 - re-exported for the folders' helpers
