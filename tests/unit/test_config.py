"""Config validation: a corpus of broken and hostile files, each with the one line it must produce.

Hostile files: an alias bomb, binary and Latin-1 bytes, 20,000 nested `[`, an oversize
file, deep nesting, a recursive alias, control characters. Each must be refused by the bounded
reader (nba_tui/config/yamlsafe.py) with one line naming the file, never a traceback, never
expanding the document.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path

import jsonschema
import pytest
import yaml

from nba_tui import config
from nba_tui.config import ConfigError, yamlsafe
from nba_tui.sample.tables import BY_NAME

ROOT = Path(__file__).resolve().parents[2]

BASE = """\
pipeline: test
range: {start: 2024-01-01, end: 2024-03-31}
expected_dates: {table: raw.schedule, column: game_date}
phases:
  - name: p2
    tables:
      - name: schedule
        table: raw.schedule
      - name: box
        table: raw.box
  - name: p3
    tables:
      - name: summary
        table: analytics.summary
        depends_on: [box]
        min_coverage: 0.9
        backfill:
          command: ["{python}", -m, prog, "{table}"]
"""


def test_base_is_valid() -> None:
    p = config.loads(BASE, "p.yaml")
    assert [t.name for t in p.tables()] == ["schedule", "box", "summary"]
    assert p.table("summary").min_coverage == 0.9
    assert p.poll.interval == 30.0


def test_repo_pipeline_matches_the_seed() -> None:
    p = config.load(ROOT / "pipeline.yaml")
    assert p.range.start.isoformat() == "2021-10-19"
    assert p.range.end.isoformat() == "2026-01-02"
    phase3 = [t.name for t in p.phase("phase3").tables]
    assert phase3 == [
        "player_game_summary",
        "team_offense_game_summary",
        "team_defense_game_summary",
        "upcoming_player_game_context",
        "upcoming_team_game_context",
    ]
    assert [t.name for t in p.phase("phase4").tables] == [
        "team_defense_zone_analysis",
        "player_shot_zone_analysis",
        "player_daily_cache",
        "player_composite_factors",
        "ml_feature_store",
    ]
    assert not p.phase("phase4").parallel and p.phase("phase3").parallel
    assert p.table("team_defense_game_summary").min_coverage == 0.998
    assert p.table("upcoming_player_game_context").min_coverage == 0.60
    assert p.table("upcoming_player_game_context").depends_on == ["bettingpros_player_props"]
    pcf = p.table("player_composite_factors")
    assert {"team_defense_zone_analysis", "player_shot_zone_analysis"} <= set(pcf.depends_on)
    assert set(pcf.all_inputs) >= set(phase3)
    for t in p.phase("phase4").tables:
        assert t.min_coverage == 0.85 and t.bootstrap_days == 14
    assert [t.name for t in p.phase_inputs("phase4")] == phase3
    order = p.topological_order()
    assert order.index("team_defense_zone_analysis") < order.index("player_composite_factors")
    assert order.index("player_composite_factors") < order.index("ml_feature_store")


def _mutate(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


CORPUS = [
    # (name, text, expected substring of the one-line error)
    ("yaml syntax", BASE + "  - name: [unclosed\n", "p.yaml:20: YAML syntax error"),
    ("tab indent", BASE.replace("  - name: p3", "\t- name: p3"), "YAML syntax error"),
    ("not a mapping", "- just\n- a list\n", "p.yaml:1: expected a mapping"),
    ("unknown top key", BASE + "polls: {interval: 5}\n", "p.yaml:19: polls: unknown key 'polls'"),
    (
        "unknown table key",
        _mutate("        min_coverage: 0.9", "        min_coverag: 0.9"),
        "p.yaml:16: phases[1].tables[0].min_coverag: unknown key",
    ),
    (
        "threshold above 1",
        _mutate("min_coverage: 0.9", "min_coverage: 99.8"),
        "p.yaml:16: phases[1].tables[0].min_coverage: must be between 0 and 1 (got 99.8)",
    ),
    (
        "negative threshold",
        _mutate("min_coverage: 0.9", "min_coverage: -0.1"),
        "min_coverage: must be between 0 and 1",
    ),
    (
        "unknown dependency",
        _mutate("depends_on: [box]", "depends_on: [boxx]"),
        "p.yaml:15: phases[1].tables[0].depends_on[0]: table 'summary' depends on unknown table "
        "'boxx'; did you mean 'box'?",
    ),
    (
        "duplicate table",
        _mutate(
            "      - name: box\n        table: raw.box",
            "      - name: schedule\n        table: raw.box",
        ),
        "p.yaml:9: phases[0].tables[1].name: duplicate table name 'schedule'",
    ),
    (
        "cycle",
        BASE.replace(
            "        table: raw.box\n", "        table: raw.box\n        depends_on: [summary]\n"
        ),
        "p.yaml:11: phases[0].tables[1].depends_on: dependency cycle: box -> summary -> box; remove one",
    ),
    (
        "later-phase dependency",
        BASE.replace(
            "        table: raw.box\n", "        table: raw.box\n        depends_on: [schedule]\n"
        ).replace("depends_on: [box]", "depends_on: []"),
        None,  # valid: same-phase dependency is fine
    ),
    (
        "bad date",
        _mutate("start: 2024-01-01", "start: 2024-13-01"),
        "p.yaml:2: range.start: bad date",
    ),
    (
        "end before start",
        _mutate("end: 2024-03-31", "end: 2023-03-31"),
        "p.yaml:2: range: end 2023-03-31 is before start 2024-01-01",
    ),
    (
        "unsafe table name",
        _mutate("table: analytics.summary", "table: 'analytics.x`; DROP TABLE y --'"),
        "p.yaml:14: phases[1].tables[0].table: unsafe table",
    ),
    (
        "backslash in dataset",
        _mutate("table: raw.box", 'table: "ra\\\\w.box"'),
        "unsafe dataset",
    ),
    (
        "three-part name",
        _mutate("table: raw.box", "table: proj.raw.box"),
        "write it as dataset.table",
    ),
    (
        "bad project",
        BASE + "warehouse: {backend: bigquery, bigquery: {project: 'Bad_Project;'}}\n",
        "warehouse.bigquery.project: unsafe project id",
    ),
    (
        "bad backend",
        BASE + "warehouse: {backend: postgres}\n",
        "p.yaml:19: warehouse.backend: Input should be 'sqlite' or 'bigquery': use one of the",
    ),
    (
        "unknown placeholder",
        _mutate('command: ["{python}", -m, prog, "{table}"]', 'command: ["{python}", "{tabel}"]'),
        "unknown placeholder {tabel}",
    ),
    (
        "command as a string",
        _mutate('command: ["{python}", -m, prog, "{table}"]', 'command: "python -m prog"'),
        "command: Input should be a valid list: write a YAML list, e.g. [a, b]",
    ),
    (
        "missing phases",
        "pipeline: x\nrange: {start: 2024-01-01, end: 2024-01-02}\nexpected_dates: {table: a.b}\n",
        "phases: required key is missing",
    ),
    (
        "duplicate key",
        BASE + "pipeline: again\n",
        "p.yaml:19: YAML syntax error: duplicate key 'pipeline'",
    ),
    ("bad duration", BASE + "poll: {interval: soon}\n", "poll.interval: not a duration"),
    (
        "negative look-back",
        _mutate("depends_on: [box]", "depends_on: [{table: box, lookback_days: -1}]"),
        "p.yaml:15: phases[1].tables[0].depends_on[0].lookback_days: Input should be greater",
    ),
    (
        "look-back over a year",
        _mutate("depends_on: [box]", "depends_on: [{table: box, lookback_days: 400}]"),
        "lookback_days: Input should be less than or equal to 366: use a value within that bound",
    ),
    (
        "misspelt look-back",
        _mutate("depends_on: [box]", "depends_on: [{table: box, lookback: 3}]"),
        "p.yaml:15: phases[1].tables[0].depends_on[0].lookback: unknown key 'lookback'",
    ),
    (
        "unknown input on its own line",
        _mutate("depends_on: [box]", "depends_on:\n          - box\n          - {table: boxx}"),
        "p.yaml:17: phases[1].tables[0].depends_on[1]: table 'summary' depends on unknown table",
    ),
    (
        "input listed twice",
        _mutate("depends_on: [box]", "depends_on: [box, {table: box, lookback_days: 3}]"),
        "p.yaml:15: phases[1].tables[0].depends_on: lists 'box' twice",
    ),
    (
        "input both hard and soft",
        _mutate("depends_on: [box]", "depends_on: [box]\n        soft_depends_on: [box]"),
        "p.yaml:15: phases[1].tables[0].depends_on: table 'summary' depends on 'box' both hard",
    ),
    (
        "input not a name",
        _mutate("depends_on: [box]", "depends_on: [7]"),
        "depends_on[0]: not an input: '7' (write a table name or {table: NAME, lookback_days: N})",
    ),
    (
        "unsafe degraded column",
        _mutate("depends_on: [box]", "depends_on: [box]\n        degraded_column: 'x; drop'"),
        "p.yaml:16: phases[1].tables[0].degraded_column: unsafe column",
    ),
    (
        "degraded column is the date",
        _mutate("depends_on: [box]", "depends_on: [box]\n        degraded_column: game_date"),
        "p.yaml:16: phases[1].tables[0].degraded_column: 'game_date' is the date column",
    ),
    (
        "alert hook as a shell string",
        BASE + "alerts: {on_event: 'notify-send hi'}\n",
        "p.yaml:19: alerts.on_event: write an argument list such as [prog, --flag], never a shell",
    ),
    ("too many retries", BASE + "jobs: {retries: 11}\n", "p.yaml:19: jobs.retries: Input should"),
    ("bad retry back-off", BASE + "jobs: {retry_backoff: 2d}\n", "jobs.retry_backoff: not a"),
    ("bad stale time", BASE + "alerts: {stale_after: -1}\n", "alerts.stale_after: must be"),
    (
        "python object tag",
        BASE + "x: !!python/object/apply:os.system [echo hi]\n",
        "YAML syntax error",
    ),
]


@pytest.mark.parametrize(("name", "text", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_broken_files_give_one_clear_line(name: str, text: str, expected: str | None) -> None:
    if expected is None:
        config.loads(text, "p.yaml")
        return
    with pytest.raises(ConfigError) as info:
        config.loads(text, "p.yaml")
    message = str(info.value)
    assert "\n" not in message
    assert expected in message, message


def test_unknown_dependency_names_the_closest_table_not_every_table() -> None:
    """A typo among many tables gets one suggestion; a name like none gets no list either."""
    many = "".join(
        f"      - name: extra_{i:03d}\n        table: raw.extra_{i:03d}\n" for i in range(40)
    )
    text = BASE.replace("        table: raw.box\n", "        table: raw.box\n" + many, 1)
    with pytest.raises(ConfigError) as typo:
        config.loads(text.replace("depends_on: [box]", "depends_on: [boxx]"), "p.yaml")
    assert str(typo.value).endswith("unknown table 'boxx'; did you mean 'box'?")
    assert "extra_" not in str(typo.value)
    with pytest.raises(ConfigError) as unlike:
        config.loads(text.replace("depends_on: [box]", "depends_on: [zzzzqqq]"), "p.yaml")
    assert "did you mean" not in str(unlike.value)
    assert "extra_" not in str(unlike.value) and "schedule" not in str(unlike.value)
    assert "nba-tui status lists the tables" in str(unlike.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        config.load(tmp_path / "nope.yaml")


def test_cli_exit_code_2_and_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "pipeline.yaml"
    bad.write_text(_mutate("min_coverage: 0.9", "min_coverage: 1.5"))
    proc = subprocess.run(
        [sys.executable, "-m", "nba_tui", "status", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "pipeline.yaml:16:" in lines[0] and "min_coverage" in lines[0]
    assert proc.stdout == ""


def test_json_schema_is_published_and_current() -> None:
    schema = config.json_schema()
    assert "phases" in schema["properties"]
    table = schema["$defs"]["Table"]["properties"]["min_coverage"]
    assert "Share of expected dates" in table["description"]
    text = (ROOT / "nba_tui" / "schema" / "pipeline.schema.json").read_text()
    assert json.loads(text) == schema, "run: nba-tui schema > nba_tui/schema/pipeline.schema.json"
    assert text == json.dumps(schema, indent=2) + "\n", "indented, as `nba-tui schema` prints it"


@pytest.mark.parametrize("name", ["pipeline.yaml", "examples/nba-props-platform.yaml"])
def test_shipped_pipelines_validate_against_published_schema(name: str) -> None:
    config.load(ROOT / name)
    schema = config.json_schema()
    data = yaml.safe_load((ROOT / name).read_text())
    data = {k: v for k, v in data.items() if not k.startswith("x-")}
    jsonschema.validate(json.loads(json.dumps(data, default=str)), schema)


def test_yaml_anchors_and_merge_keys_reuse_a_backfill() -> None:
    text = BASE.replace(
        "phases:\n",
        'x-bf: &bf\n  command: ["{python}", -m, prog, "{table}"]\n  checkpoint: c/{table}.json\n'
        "phases:\n",
    ).replace(
        '        backfill:\n          command: ["{python}", -m, prog, "{table}"]\n',
        "        backfill: {<<: *bf, checkpoint: other.json}\n",
    )
    p = config.loads(text, "p.yaml")
    bf = p.table("summary").backfill
    assert bf is not None and bf.command[-1] == "{table}"
    assert bf.checkpoint == "other.json"  # the mapping's own key overrides the merged one


def test_table_ref_cannot_hold_an_unsafe_name() -> None:
    from nba_tui.identifiers import IdentifierError, TableRef

    with pytest.raises(IdentifierError, match="unsafe table"):
        TableRef("raw", "x`; DROP TABLE y --")
    with pytest.raises(IdentifierError, match="unsafe dataset"):
        TableRef('ra"w', "box")
    assert TableRef("raw", "box").bigquery_sql("nba-props-platform") == (
        "`nba-props-platform`.`raw`.`box`"
    )
    assert TableRef("raw", "box").sqlite_sql() == '"raw"."box"'


# -- hostile files ------------------------------------------------------------------------------


def _alias_bomb(levels: int = 10, width: int = 10) -> str:
    """Ten nested anchors, each a list of ten aliases of the previous one: 10**10 values."""
    text = "a0: &a0 [" + ",".join(["x"] * width) + "]\n"
    for i in range(1, levels):
        text += f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]\n"
    return text


HOSTILE: list[tuple[str, bytes, str]] = [
    # (name, file content, expected substring after "FILE")
    ("alias bomb", _alias_bomb().encode(), ":5: through its aliases the document expands"),
    ("binary", bytes(range(256)) * 4, ": not UTF-8 text (byte 0x80 on line 2"),
    ("latin-1", "pipeline: caf\u00e9\n".encode("latin-1"), ": not UTF-8 text (byte 0xe9"),
    ("utf-16", BASE.encode("utf-16"), ": not UTF-8 text"),
    ("nested [", b"x: " + b"[" * 20_000 + b"]" * 20_000 + b"\n", ":1: nested more than 64 levels"),
    ("nested {", b"x: " + b"{a: " * 20_000 + b"}" * 20_000 + b"\n", ":1: nested more than 64"),
    (
        "deep mapping",
        "".join("  " * i + "a:\n" for i in range(300)).encode(),
        ":64: nested more than 64 levels",
    ),
    ("deep block list", b"x:\n" + b"- " * 5_000 + b"1\n", ":2: nested more than 64 levels"),
    ("oversize", b"# padding\n" * 120_000, ": 1,200,000 bytes is over the 1,024 KiB limit"),
    ("many values", b"x: [" + b"1," * 30_000 + b"1]\n", ":1: the document holds more than 20,000"),
    ("recursive alias", b"a: &a [1, *a]\n", ":1: alias *a is inside the node it refers to"),
    ("undefined alias", b"a: *nope\n", ":1: YAML syntax error: found undefined alias 'nope'"),
    ("NUL byte", BASE.encode() + b"x: a\x00b\n", ":19: not YAML text: control character U+0000"),
    ("escape", BASE.encode() + b"x: \x1b[31m\n", ":19: not YAML text: control character U+001B"),
    ("huge integer", b"pipeline: " + b"9" * 5_000 + b"\n", ": a value cannot be read (Exceeds"),
    ("two documents", BASE.encode() + b"---\nx: 1\n", ":19: YAML syntax error: expected a single"),
    ("empty", b"", ":1: expected a mapping"),
]


@pytest.mark.parametrize(("name", "content", "expected"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_files_give_one_line_naming_the_file(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}{expected}"), message
    assert "\n" not in message and message.isprintable(), message
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_alias_bomb_is_refused_before_it_expands() -> None:
    """The old loader walked 10**10 paths in its line map (8.6 GB); refusing must cost ~nothing."""
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="alias bomb"):
            config.loads(_alias_bomb(), "bomb.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, f"peak {peak:,} bytes"


def test_line_map_enters_a_shared_node_once() -> None:
    """Within the cap, aliases stay shared: the line map is as big as the file, not the tree."""
    node = yaml.compose(_alias_bomb(levels=4), Loader=yaml.SafeLoader)  # shared, not expanded
    lines = yamlsafe.line_index(node)
    assert len(lines) < 100  # written out, a3 alone holds 10**3 paths
    assert lines[("a3",)] == 4 and lines[("a3", 9)] == 4


def test_error_under_an_alias_points_at_the_key_holding_it() -> None:
    text = BASE.replace("phases:\n", 'x-bf: &bf\n  command: "python -m prog"\nphases:\n').replace(
        '        backfill:\n          command: ["{python}", -m, prog, "{table}"]\n',
        "        backfill: *bf\n",
    )
    with pytest.raises(ConfigError) as info:
        config.loads(text, "p.yaml")
    assert str(info.value).startswith("p.yaml:19: phases[1].tables[0].backfill.command: "), info


def test_hostile_tags_and_paths_execute_nothing(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    text = BASE + f"x: !!python/object/apply:os.system ['touch {canary}']\n"
    with pytest.raises(ConfigError, match="YAML syntax error"):
        config.loads(text, "p.yaml")
    assert not canary.exists()
    for path, expected in [
        (tmp_path, "is a directory"),
        (tmp_path / ("x" * 5_000), "cannot read: File name too long"),
        (str(tmp_path / "a\x00b"), "cannot read: the path holds a NUL byte"),
    ]:
        with pytest.raises(ConfigError, match=expected) as info:
            config.load(path)
        assert "\n" not in str(info.value) and str(info.value).isprintable()


@pytest.mark.parametrize("grace", ["99999999999999999999999s", ".inf", ".nan", "-5", "25h", "true"])
def test_durations_are_finite_and_at_most_a_day(grace: str) -> None:
    with pytest.raises(ConfigError, match=r"p.yaml:19: jobs.stop_grace: (must be|not a dur)"):
        config.loads(BASE + f"jobs: {{stop_grace: {grace}}}\n", "p.yaml")
    assert config.loads(BASE + "jobs: {stop_grace: 24h}\n", "p.yaml").jobs.stop_grace == 86_400


def _limit_memory() -> None:
    """In the child, before exec: 1 GiB of address space (the alias bomb, unbounded, takes gigabytes)."""
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


@pytest.mark.parametrize("name", ["alias bomb", "nested [", "binary"])
def test_status_refuses_a_hostile_config_with_exit_2(tmp_path: Path, name: str) -> None:
    content = next(h[1] for h in HOSTILE if h[0] == name)
    path = tmp_path / "pipeline.yaml"
    path.write_bytes(content)
    proc = subprocess.run(
        [sys.executable, "-m", "nba_tui", "status", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,
        cwd=tmp_path,
    )
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
    assert str(path) in lines[0] and proc.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipeline.yaml"]  # wrote nothing


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "pipeline: test",
            r'pipeline: "t\e[31m"',
            "p.yaml:1: pipeline: holds the control character U+001B",
        ),
        (
            "pipeline: test",
            "pipeline: " + "x" * 201,
            "p.yaml:1: pipeline: String should have at most 200",
        ),
        (
            "name: p2\n",
            'name: p2\n    description: "a\\nb"\n',
            "phases[0].description: holds the control",
        ),
        (
            '"{python}", -m',
            '"{python}", "-\\0m"',
            "p.yaml:18: phases[1].tables[0].backfill.command: argument",
        ),
    ],
)
def test_text_that_reaches_a_terminal_or_a_system_call_is_plain(
    old: str, new: str, expected: str
) -> None:
    """A name with an escape sequence would be obeyed by the terminal that shows it; a NUL in an
    argument or a path fails the launch long after the file was accepted."""
    with pytest.raises(ConfigError) as info:
        config.loads(_mutate(old, new), "p.yaml")
    assert expected in str(info.value) and str(info.value).isprintable(), info.value


@pytest.mark.parametrize(
    "text",
    [
        "a: *" + "x" * 100_000 + "\n",
        BASE + "y" * 1_000 + ": 1\n",  # unknown key 'yyy...'
        BASE.replace("start: 2024-01-01", "start: 2024-01-01" + "z" * 100_000),  # bad date '...'
        BASE + "x: !!python/name:" + "os" * 50_000 + "\n",
    ],
)
def test_an_error_quoting_a_huge_input_stays_short(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.loads(text, "p.yaml")
    assert len(str(info.value)) <= 520 and "\n" not in str(info.value), str(info.value)[:200]


def test_inputs_carry_look_backs_and_names_stay_names() -> None:
    text = _mutate(
        "depends_on: [box]",
        "depends_on: [schedule, {table: box, lookback_days: 21}]\n"
        "        soft_depends_on: [{table: context, lookback_days: 0}]\n"
        "        degraded_column: synthetic",
    ).replace(
        "      - name: box\n",
        "      - name: context\n        table: raw.context\n      - name: box\n",
    )
    p = config.loads(text, "p.yaml")
    t = p.table("summary")
    assert t.depends_on == ["schedule", "box"] and t.soft_depends_on == ["context"]
    assert t.all_inputs == ["schedule", "box", "context"]
    assert t.inputs == [
        config.Input("schedule", 0, False),
        config.Input("box", 21, False),
        config.Input("context", 0, True),
    ]
    assert t.degraded_column == "synthetic"
    assert p.topological_order().index("box") < p.topological_order().index("summary")


def test_autopilot_defaults() -> None:
    p = config.loads(BASE, "p.yaml")
    assert (p.jobs.retries, p.jobs.retry_backoff) == (2, 30.0)
    assert (p.alerts.on_event, p.alerts.timeout, p.alerts.stale_after) == (None, 10.0, 600.0)
    assert p.table("summary").backfill is not None
    assert p.table("summary").backfill.shardable is False
    assert p.table("summary").degraded_column is None
    hooked = config.loads(
        BASE + "alerts: {on_event: [/bin/true, --json], timeout: 2s, stale_after: 5m}\n", "p.yaml"
    )
    assert hooked.alerts.on_event == ["/bin/true", "--json"]
    assert (hooked.alerts.timeout, hooked.alerts.stale_after) == (2.0, 300.0)


def test_shipped_pipelines_declare_the_autopilot_keys() -> None:
    sample = config.load(ROOT / "pipeline.yaml")
    assert all(t.backfill.shardable for t in sample.tables() if t.backfill)
    windowed = {
        t.name: {i.name: i.lookback_days for i in t.inputs if i.lookback_days}
        for t in sample.tables()
    }
    assert windowed["team_defense_zone_analysis"] == {"team_defense_game_summary": 22}
    assert windowed["player_daily_cache"] == {
        "team_offense_game_summary": 22,
        "player_game_summary": 22,
    }
    assert sample.table("player_composite_factors").degraded_column == "synthetic"
    assert sample.table("ml_feature_store").degraded_column == "synthetic"
    for t in sample.tables():
        if t.degraded_column:
            assert t.degraded_column in BY_NAME[t.name].column_names, t.name
    prod = config.load(ROOT / "examples" / "nba-props-platform.yaml")
    assert not any(t.backfill.shardable for t in prod.tables() if t.backfill)


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
@pytest.mark.parametrize(
    "text",
    [
        (ROOT / "pipeline.yaml").read_text(),
        "base: &b {x: 1, y: [1, 2]}\nt: {<<: *b, y: 3}\nlist:\n  - *b\n  - {n: 2024-01-01}\n",
        "a: |\n  text\n  more\nb: >\n  folded\nc: 1e3\nd: ~\ne: 0x1F\nf: yes\n",
    ],
)
def test_libyaml_events_compose_the_same_document(text: str) -> None:
    """The fast path (libyaml's events, the Python composer) builds what the pure-Python loader
    builds: the same data and the same line of every key."""
    fast = yamlsafe._load(yamlsafe._CLoader, text, yamlsafe.MAX_NODES, yamlsafe.MAX_DEPTH)
    slow = yamlsafe._load(yamlsafe._BoundedLoader, text, yamlsafe.MAX_NODES, yamlsafe.MAX_DEPTH)
    assert fast == slow and fast.data


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("\tkey: 1\n", "YAML syntax error: found character '\\t' that cannot start any token"),
        ('a: "x\\q"\n', "YAML syntax error: found unknown escape character 'q'"),
        ("[" * 20_000, "nested more than 64 levels deep"),  # libyaml's own limit is 1,000
    ],
)
def test_errors_keep_pyyaml_wording(text: str, problem: str) -> None:
    """libyaml words errors tersely (no offending character); a refused file is read again by
    the pure-Python loader so the message names what to fix."""
    with pytest.raises(yamlsafe.YamlError) as info:
        yamlsafe.parse(text)
    assert info.value.problem.startswith(problem) and info.value.line == 1
