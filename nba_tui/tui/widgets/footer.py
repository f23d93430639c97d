"""The footer, without Textual 8.2's leak of one `FooterKey` per key per footer rebuild.

`Footer.compose` binds every `FooterKey` it yields to its own `compact` reactive
(`.data_bind(compact=Footer.compact)`), which appends a watcher `(key, setter)` to the footer's
watcher list. The footer recomposes whenever the active bindings change (a modal opens or closes,
the cursor moves between a phase header and a table row), and the watchers of the removed keys
are pruned only when `compact` itself changes, which it never does here. So every rebuild kept its
old keys alive (6 per help cycle, 11 per header/row move: ~0.2-0.3 MB each, 65 -> 161 MB over
300 cycles). `LeanFooter` drops the watchers of keys that are no longer in the DOM before each
rebuild; the keys are then freed with the rest of the old footer row.

The second keeper is `textual._styles_cache.StylesCache.get_inner_outer`, an `lru_cache(1024)` on
a method: its keys hold up to 1,024 `StylesCache` objects, each with the rendered lines of its
(long gone) widget, so each modal kept ~0.3 MB until 1,024 were reached. `release_render_caches`
empties it; the app calls it when a modal closes (it is refilled from the widgets on screen).
"""

from __future__ import annotations

from textual._styles_cache import StylesCache
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

WATCHERS = "__watchers"
"""The attribute under which `textual.reactive._watch` keeps an object's watchers (8.x)."""


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
        self.prune_watchers()
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

    def prune_watchers(self) -> int:
        """Forget watchers of nodes no longer attached (the keys of an earlier rebuild);
        returns how many were dropped."""
        watchers = getattr(self, WATCHERS, None)
        if not isinstance(watchers, dict):
            return 0
        dropped = 0
        for name, entries in watchers.items():
            keep = [(node, cb) for node, cb in entries if node.is_attached and not node._closing]
            dropped += len(entries) - len(keep)
            watchers[name] = keep
        return dropped


def release_render_caches() -> None:
    """Drop the class-wide cache that keeps closed widgets' rendered lines alive (see above)."""
    clear = getattr(StylesCache.get_inner_outer, "cache_clear", None)
    if clear is not None:
        clear()
