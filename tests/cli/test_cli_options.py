"""Each command is offered only the options it reads: a date range on a command that has none is
refused by argparse (exit 2), not silently ignored. --config works before or after the command."""

from __future__ import annotations

import argparse

import pytest

from nba_tui.cli import build_parser, main

#: The commands whose answer depends on a date range (the snapshot they poll, or what they launch).
DATED = {"status", "preflight", "gaps", "launch", "launch-phase"}
#: The commands that print JSON on --json.
JSON = DATED | {
    "jobs",
    "run",
    "pause",
    "resume",
    "stop",
    "restart",
    "history",
    "plans",
    "cancel",
    "report",
}
#: watch prints one line per finding (for a journal or a cron mail), never JSON.


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _options(p: argparse.ArgumentParser) -> set[str]:
    return {s for a in p._actions for s in a.option_strings}


def test_only_dated_commands_take_start_and_end() -> None:
    commands = _commands()
    assert set(commands) >= DATED
    dated = {name for name, p in commands.items() if "--start" in _options(p)}
    assert dated == DATED
    assert {name for name, p in commands.items() if "--end" in _options(p)} == DATED


def test_json_only_where_it_is_printed() -> None:
    commands = _commands()
    with_json = {name for name, p in commands.items() if "--json" in _options(p)}
    assert with_json == JSON
    assert all("--config" in _options(p) for name, p in commands.items() if name != "schema")


@pytest.mark.parametrize(
    "argv",
    [
        ["jobs", "--start", "2024-13-01"],
        ["pause", "X", "--start", "2024-13-01"],
        ["history", "--end", "2024-01-01"],
        ["plans", "--start", "2024-01-01"],
        ["cancel", "p123456", "--start", "2024-01-01"],
        ["run", "phase4", "--start", "2024-01-01"],
        ["stop", "X", "--end", "2024-01-01"],
        ["schema", "--json"],
        ["dashboard", "--json"],
        ["demo", "info", "--start", "2024-01-01"],
    ],
)
def test_an_option_the_command_does_not_read_is_refused(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    option = next(a for a in argv if a.startswith("--"))
    assert f"unrecognized arguments: {option}" in err


def test_config_is_accepted_before_and_after_the_command() -> None:
    parser = build_parser()
    assert parser.parse_args(["--config", "a.yaml", "jobs"]).config == "a.yaml"
    assert parser.parse_args(["jobs", "--config", "b.yaml"]).config == "b.yaml"
    assert parser.parse_args(["demo", "reset", "--config", "c.yaml"]).config == "c.yaml"
    assert parser.parse_args(["jobs"]).config == "pipeline.yaml"


def test_a_dated_command_still_parses_its_dates() -> None:
    args = build_parser().parse_args(["gaps", "t", "--start", "2024-01-01", "--end", "2024-02-01"])
    assert (args.start, args.end, args.table) == ("2024-01-01", "2024-02-01", "t")


def test_read_only_is_kept_before_or_after_the_dashboard_command() -> None:
    parser = build_parser()
    assert parser.parse_args(["--read-only", "dashboard"]).read_only is True
    assert parser.parse_args(["dashboard", "--read-only"]).read_only is True
    assert parser.parse_args(["--read-only"]).read_only is True
    assert parser.parse_args(["dashboard"]).read_only is False
