"""The toasts a Textual app shows, recorded through its public `App.notify` (any test folder)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Toast:
    title: str
    message: str
    severity: str

    def __str__(self) -> str:
        return f"{self.title}: {self.message}"


class Toasts(list[Toast]):
    """The toasts an app showed, oldest first (see `record_toasts`)."""

    def text(self) -> str:
        return "\n".join(map(str, self))


def record_toasts(app: Any) -> Toasts:
    """Every toast `app` shows from now on. `App.notify` is Textual's public way to toast (widgets
    call it too) and run_test draws no toasts, so the recorder wraps it on this one app."""
    shown = Toasts()
    real: Callable[..., None] = app.notify

    def notify(
        message: object, *, title: str = "", severity: str = "information", **kw: Any
    ) -> None:
        shown.append(Toast(title, str(message), severity))
        real(message, title=title, severity=severity, **kw)

    app.notify = notify
    return shown
