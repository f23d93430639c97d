"""Backfill job supervision: detached jobs that outlive the dashboard (see docs/ARCHITECTURE.md)."""
