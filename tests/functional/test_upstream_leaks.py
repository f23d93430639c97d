"""The two Textual leaks `nba_tui.tui.upstream` works around still exist without the workaround.

Each test fails on the day upstream fixes its issue: then delete the workaround (and the test).
- https://github.com/Textualize/textual/issues/6666: a plain `Footer` keeps every rebuild's keys.
- https://github.com/Textualize/textual/issues/6665: `StylesCache.get_inner_outer`'s class-wide
  `lru_cache` keeps removed widgets' styles caches.
"""

from __future__ import annotations

import gc

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Label

from nba_tui.tui.upstream import release_render_caches
from nba_tui.tui.widgets.footer import LeanFooter

REBUILDS = 20


def live(type_name: str) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o).__name__ == type_name)


class KeysApp(App[None]):
    """Three keys whose footer entries come and go as `shown` flips (as the dashboard's keys do
    when the cursor moves between a phase header and a table row)."""

    BINDINGS = [Binding(k, f"bell_{k}", f"key {k}") for k in "abc"]

    def __init__(self, footer: type[Footer]) -> None:
        super().__init__()
        self.footer, self.shown = footer, True

    def compose(self) -> ComposeResult:
        yield self.footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.shown or not action.startswith("bell_")


async def footer_keys_after_rebuilds(footer: type[Footer]) -> tuple[int, int]:
    """(live footer keys after a first rebuild, after REBUILDS more)."""
    app = KeysApp(footer)
    async with app.run_test(size=(80, 5)) as pilot:

        async def rebuild() -> None:
            app.shown = not app.shown
            app.refresh_bindings()
            await pilot.pause()
            await pilot.pause()

        await rebuild()
        before = live("FooterKey")
        for _ in range(REBUILDS):
            await rebuild()
        return before, live("FooterKey")


async def test_a_plain_footer_keeps_the_keys_of_every_rebuild() -> None:
    before, after = await footer_keys_after_rebuilds(Footer)
    assert after >= before + REBUILDS, "issue 6666 fixed upstream: drop upstream.prune_watchers"
    before, after = await footer_keys_after_rebuilds(LeanFooter)
    assert after <= before + 3  # the workaround keeps at most one rebuild's keys


class CardsApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Vertical(id="cards")


async def test_removed_widgets_styles_caches_stay_until_released() -> None:
    app = CardsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        cards = app.query_one("#cards")
        release_render_caches()
        base = live("StylesCache")
        for round_ in range(5):
            await cards.remove_children()
            await cards.mount(*(Label(f"card {round_}.{i}") for i in range(20)))
            await pilot.pause()
        await cards.remove_children()
        await pilot.pause()
        kept = live("StylesCache") - base
        assert kept >= 50, "issue 6665 fixed upstream: drop upstream.release_render_caches"
        release_render_caches()
        assert live("StylesCache") - base <= kept - 50  # freed with the cache
