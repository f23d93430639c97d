"""The dashboard's memory stays flat while modals open and close and the cursor moves.

Textual 8.2's footer keeps every `FooterKey` of every rebuild alive unless pruned (see
`nba_tui.tui.upstream`), and a closed modal's widgets must not stay behind. Counted here two ways:
live `FooterKey` objects and all live objects (gc) after warm-up. `NBA_TUI_MEMORY_CYCLES=300`
runs 300 cycles (slow on a loaded machine); bench/ measures the RSS.
"""

from __future__ import annotations

import gc
import os

from fakes import fake_app
from textual.widgets import Footer

from nba_tui.tui.screens.modals import HelpScreen

CYCLES = int(os.environ.get("NBA_TUI_MEMORY_CYCLES", "60"))


def live(key_type: type) -> tuple[int, int]:
    """(live footer key objects, all live objects tracked by gc)."""
    gc.collect()
    objects = gc.get_objects()
    return sum(1 for o in objects if isinstance(o, key_type)), len(objects)


def footer_key_type(app) -> type:
    """The class of the footer's key widgets (`FooterKey`), found in the DOM: Textual exports
    `Footer` but not the module of its keys."""
    return type(app.query_one(Footer).query("FooterKey").first())


async def _cycles(pilot, keys: tuple[str, ...], n: int) -> None:
    for _ in range(n):
        for key in keys:
            await pilot.press(key)
        await pilot.pause()


async def test_modal_cycles_and_moves_do_not_grow(tmp_path) -> None:
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        # Warm up: the first few rebuilds fill caches that then stay their size.
        await _cycles(pilot, ("question_mark", "escape", "home", "down"), 10)
        key_type = footer_key_type(app)
        keys0, objects0 = live(key_type)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await _cycles(pilot, ("question_mark", "escape"), CYCLES)
        await _cycles(pilot, ("home", "down"), CYCLES)  # phase header <-> table row
        await pilot.pause(0.1)
        keys1, objects1 = live(key_type)
        assert keys1 <= keys0
        # A closed modal's widgets and rendered lines kept alive would be thousands of objects
        # per help cycle; what may grow is Textual's bounded render caches filling up.
        assert objects1 - objects0 < 300 * CYCLES, f"{objects1 - objects0} objects kept"
