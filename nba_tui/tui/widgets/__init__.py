"""Widgets of the dashboard: coverage grid, gap map, log pane."""
