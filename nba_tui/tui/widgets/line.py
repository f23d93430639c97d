"""A one-line text widget that repaints without a layout pass.

`Static.update()` asks for a layout refresh (its content may change size), which reflows the whole
screen. The dashboard's lines (header, gap strips, titles) have a fixed height of 1 and a width set
by CSS, so a plain repaint of the one line is enough — and it is done only when the text changed.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class TextLine(Widget):
    """One line of Rich text; `set()` is a no-op when the text did not change."""

    DEFAULT_CSS = """
    TextLine { height: 1; width: 1fr; }
    """

    def __init__(self, text: Text | str = "", *, id: str | None = None, classes: str = "") -> None:
        super().__init__(id=id, classes=classes)
        self._text = text if isinstance(text, Text) else Text(text)

    @property
    def text(self) -> Text:
        return self._text

    def set(self, text: Text | str) -> bool:
        """Show `text`; returns whether anything had to be repainted."""
        new = text if isinstance(text, Text) else Text(text)
        if new == self._text and new.style == self._text.style:
            return False
        self._text = new
        self.refresh()
        return True

    def render(self) -> Text:
        return self._text
