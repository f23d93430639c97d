"""Workarounds for two open Textual memory leaks: the one module of nba-tui that touches Textual's
private names (`textual._styles_cache`, `textual.widgets._footer`, the name-mangled watcher list
of `textual.reactive`, `node._closing`). Each goes once upstream fixes its issue;
tests/functional/test_upstream_leaks.py fails on that day, saying which to remove.

1. Watchers of removed nodes are kept by the node they watch
   (https://github.com/Textualize/textual/issues/6666). `Footer.compose` binds every `FooterKey`
   to the footer's `compact` reactive (`data_bind`), which stores `(key, callback)` in the
   *footer's* watcher list. The footer recomposes whenever the active bindings change (a modal
   opens or closes, the cursor moves between a phase header and a table row); the entries of the
   removed keys are pruned only when `compact` changes, which it never does here, so every rebuild
   kept its old keys alive. `prune_watchers(footer)` drops the entries of nodes no longer in the
   DOM before each rebuild (`LeanFooter.compose`).
2. `StylesCache.get_inner_outer` is an `lru_cache(1024)` on a method
   (https://github.com/Textualize/textual/issues/6665): its keys hold up to 1,024 `StylesCache`
   objects, each with the rendered lines of its (long gone) widget. `release_render_caches()`
   empties it; a modal calls it when it closes (it refills from the widgets on screen).
"""

from __future__ import annotations

from textual._styles_cache import StylesCache
from textual.dom import DOMNode
from textual.widgets._footer import FooterKey

WATCHERS = "__watchers"
"""The attribute under which `textual.reactive._watch` keeps an object's watchers (8.x)."""

__all__ = ["FooterKey", "prune_watchers", "release_render_caches"]


def prune_watchers(node: DOMNode) -> int:
    """Forget the watchers `node` keeps for nodes no longer attached (issue 6666); returns how
    many were dropped."""
    watchers = getattr(node, WATCHERS, None)
    if not isinstance(watchers, dict):
        return 0
    dropped = 0
    for name, entries in watchers.items():
        keep = [(n, cb) for n, cb in entries if n.is_attached and not n._closing]
        dropped += len(entries) - len(keep)
        watchers[name] = keep
    return dropped


def release_render_caches() -> None:
    """Drop the class-wide cache that keeps closed widgets' rendered lines alive (issue 6665)."""
    clear = getattr(StylesCache.get_inner_outer, "cache_clear", None)
    if clear is not None:
        clear()
