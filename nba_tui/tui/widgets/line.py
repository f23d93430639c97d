"""A one-line text widget that repaints without a layout pass, and only when its text changed.

The dashboard's lines (header, gap strips, titles) have a fixed height of 1 and a width set by CSS,
so `Static.update(..., layout=False)` (a repaint of the one line, no reflow of the screen) is
enough; `set()` skips even that when the text is unchanged, so a dashboard left open overnight
over SSH writes almost nothing. A text too long for the line ends in an ellipsis (it is not
wrapped onto a second line that the height of 1 would hide).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class TextLine(Static):
    """One line of Rich text; `set()` is a no-op when the text did not change."""

    DEFAULT_CSS = """
    TextLine { height: 1; width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, text: Text | str = "", *, id: str | None = None, classes: str = "") -> None:
        self._text = text if isinstance(text, Text) else Text(text)
        super().__init__(self._text, id=id, classes=classes, markup=False)

    @property
    def text(self) -> Text:
        return self._text

    def set(self, text: Text | str) -> bool:
        """Show `text`; returns whether anything had to be repainted."""
        new = text if isinstance(text, Text) else Text(text)
        if new == self._text and new.style == self._text.style:
            return False
        self._text = new
        self.update(new, layout=False)
        return True
