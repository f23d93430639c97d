"""The dashboard's footer: keys dropped whole where they would run under the palette key, and
rebuilds that do not keep the previous rebuilds' keys alive (the workaround for Textual's
watcher leak lives in `nba_tui.tui.upstream`).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

from nba_tui.tui.upstream import FooterKey, prune_watchers

PALETTE = "-command-palette"


def key_width(key: FooterKey, compact: bool) -> int:
    """The cells a footer key takes: its key, a space and its description, then the gap after
    it (compact), or a cell of padding either side."""
    return len(key.key_display) + len(key.description) + (2 if compact else 3)


class LeanFooter(Footer):
    """A `Footer` whose rebuilds do not keep the previous rebuilds' keys alive, and whose keys
    are dropped whole, from the last, where they would run under the palette key (a key is
    never cut: 'v ▏^p palette')."""

    _fitted_to = 0

    def compose(self) -> ComposeResult:
        prune_watchers(self)  # the keys of the previous rebuild (nba_tui.tui.upstream)
        room = self._fitted_to = self.size.width or self.app.size.width
        palette = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if palette is not None and self.show_command_palette:
            binding = palette[1]
            room -= len(self.app.get_key_display(binding)) + len(binding.description) + 3
        for item in super().compose():
            grouped = item.has_class(PALETTE) or item.has_class("-grouped")
            if isinstance(item, FooterKey) and not grouped:
                room -= key_width(item, self.compact)
                if room < 0:
                    continue  # dropped whole; `?` lists every key
            yield item

    def on_resize(self) -> None:
        if self.size.width != self._fitted_to:
            self.call_after_refresh(self.recompose)  # the keys that fit the new width
