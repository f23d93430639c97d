"""Helpers for the job tests (a plain module: conftest names clash across test folders)."""

from __future__ import annotations

from waiting import wait_for

__all__ = ["wait_for"]
