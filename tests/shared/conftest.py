"""Fixtures of the shared coverage suite (the helpers live in `shared_backends.py`)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from shared_backends import shared_emulator  # noqa: E402, F401 - the session fixture
