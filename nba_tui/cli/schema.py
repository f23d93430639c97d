"""`nba-tui schema`: the JSON Schema of pipeline.yaml (for editors and CI; needs no config)."""

from __future__ import annotations

import argparse
from typing import Any

from nba_tui import config as cfg
from nba_tui.cli.common import EXIT_OK, emit_json


def cmd_schema(args: argparse.Namespace, pipeline: None) -> int:
    emit_json(cfg.json_schema())
    return EXIT_OK


def register(sub: Any) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of pipeline.yaml")
    p.set_defaults(func=cmd_schema, no_config=True)
