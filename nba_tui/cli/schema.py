"""`nba-tui schema`: the JSON Schema of pipeline.yaml (for editors and CI; needs no config)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from nba_tui import config as cfg
from nba_tui.cli.common import EXIT_OK


def cmd_schema(args: argparse.Namespace, pipeline: None) -> int:
    # always indented: the published file (`nba-tui schema > nba_tui/schema/...`) is read by
    # people and diffed in review, unlike status --json, which is compact when piped
    sys.stdout.write(json.dumps(cfg.json_schema(), indent=2) + "\n")
    return EXIT_OK


def register(sub: Any) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of pipeline.yaml")
    p.set_defaults(func=cmd_schema, no_config=True)
