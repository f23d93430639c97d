"""Bounded, safe YAML reading: a hostile file costs a few milliseconds and one line, never memory.

A pipeline file is a few kilobytes written by a person. Before anything else looks at it, this
module bounds what reading it may cost, because PyYAML on its own does not:

- the size: at most `MAX_BYTES` are read (PyYAML reads a file of tens of MB for minutes);
- the encoding: bytes that are not UTF-8 (a binary or Latin-1 file) are one line, not a traceback;
- aliases: ten nested anchors (`&a0 ... *a9`, 613 bytes) stand for 10**10 values. Composition
  keeps them shared, but anything that walks the tree (the line map, the validator) expands them,
  into gigabytes. The composer below counts every value as it would be expanded, an alias
  counting as the size of what it refers to, and refuses past `MAX_NODES`; an alias to a node that
  contains it (a recursive structure) is refused outright;
- nesting: 20,000 nested `[` overflow the recursive composer (a RecursionError and thousands of
  lines of traceback); the composer refuses past `MAX_DEPTH` levels.

Loading is `yaml.SafeLoader` only (no Python tags), refuses a key written twice and keeps merge
keys (`<<: *anchor`). Dates stay strings so the validator reports a bad date with its key and line.
The document is composed once; the line map walks the composed nodes and never enters a shared
(aliased) node twice, and the data is constructed from the same nodes.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent

from nba_tui.fmt import one_line

MAX_BYTES = 1024 * 1024
"""A pipeline file is a few KB; 1 MiB leaves room for hundreds of tables."""
MAX_NODES = 20_000
"""Values in the document as if every alias were written out (the shipped pipeline has ~400)."""
MAX_DEPTH = 64
"""Nesting levels of mappings and lists (the shipped pipeline uses 6)."""
YAML_TEXT = 300
"""PyYAML's message is cut to this many characters (it quotes the input: a key may be 1 MB)."""


class YamlError(Exception):
    """A file that cannot be read as a pipeline document: `problem` is one line with the fix,
    `line` the 1-based line it is about, when known."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


@dataclass(frozen=True)
class Document:
    """The plain data of a YAML file and the line of each key path (as in pydantic's `loc`)."""

    data: Any
    lines: dict[tuple[Any, ...], int]


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The file's text, reading at most `max_bytes` + 1 bytes; raise YamlError when it is too
    big, not a regular file or not UTF-8, and OSError when it cannot be opened."""
    # O_NONBLOCK: a FIFO given as --config must not hang the open; it is refused below.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise YamlError("is a directory, not a file (pass --config DIR/pipeline.yaml)")
        if not stat.S_ISREG(st.st_mode):
            raise YamlError("not a regular file (pass --config with a pipeline YAML file)")
        raw = _read_at_most(fd, max_bytes + 1)
    finally:
        os.close(fd)
    if len(raw) > max_bytes:
        raise YamlError(_too_big(max(st.st_size, len(raw)), max_bytes))
    return decode(raw)


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def decode(raw: bytes) -> str:
    """UTF-8 text of `raw`, or YamlError naming the first bad byte and its line."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise YamlError(
            f"not UTF-8 text (byte 0x{raw[e.start]:02x} on line {line}, offset {e.start}); "
            "save the file as UTF-8, or check that --config names the pipeline YAML"
        ) from None


def _too_big(size: int, max_bytes: int) -> str:
    return (
        f"{size:,} bytes is over the {max_bytes // 1024:,} KiB limit for a pipeline file; "
        "check that --config names the pipeline YAML"
    )


def parse(text: str, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> Document:
    """Compose, map and construct one YAML document within the bounds; raise YamlError.

    With libyaml, its parser makes the events (the pure-Python scanner is most of what loading
    costs); composing (the bounds), constructing and resolving stay Python's. A file it refuses
    is read again by the pure-Python loader, so every error reads exactly as PyYAML words it
    (libyaml's messages are terser: no offending character)."""
    if len(text) > MAX_BYTES:
        raise YamlError(_too_big(len(text.encode("utf-8", "replace")), MAX_BYTES))
    if _FastLoader is not None:
        try:
            return _load(_FastLoader, text, max_nodes, max_depth)
        except YamlError:
            pass  # told again, in PyYAML's words, below
    return _load(_BoundedLoader, text, max_nodes, max_depth)


def _load(cls: type[_Bounded], text: str, max_nodes: int, max_depth: int) -> Document:
    loader: _Bounded | None = None
    try:
        loader = cls(text, max_nodes, max_depth)  # refuses control characters
        node = loader.get_single_node()
        lines = line_index(node)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        raise _yaml_error(e, text) from None
    except (ValueError, OverflowError) as e:  # e.g. an integer of 5,000 digits
        reason = one_line(str(e), YAML_TEXT).split(";")[0]
        raise YamlError(f"a value cannot be read ({reason}); quote it if it is text") from None
    finally:
        if loader is not None:
            loader.dispose()
    return Document(data, lines)


def _yaml_error(e: yaml.YAMLError, text: str) -> YamlError:
    """PyYAML's multi-line error as one line with its line number."""
    if isinstance(e, yaml.reader.ReaderError):
        return _reader_error(e, text)
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or "invalid YAML"
        if e.context and problem.startswith("but "):  # "expected ..., but found ..."
            problem = f"{e.context}, {problem}"
        line = mark.line + 1 if mark else None
        return YamlError(f"YAML syntax error: {one_line(problem, YAML_TEXT)}", line)
    return YamlError(f"YAML error: {one_line(str(e), YAML_TEXT)}")


def _reader_error(e: yaml.reader.ReaderError, text: str) -> YamlError:
    """A control character (NUL, ESC, ...): the text is binary or was pasted from a terminal."""
    char = e.character if isinstance(e.character, int) else ord(str(e.character)[:1] or "\0")
    line = text.count("\n", 0, e.position) + 1
    return YamlError(
        f"not YAML text: control character U+{char:04X} at offset {e.position}; "
        "remove it (is this a binary file?)",
        line,
    )


class _Bounded(yaml.composer.Composer, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
    """A composer that counts expanded values and nesting (see the module docstring), over the
    events of the parser its subclass brings; refuses duplicate keys, leaves dates as strings."""

    def __init__(self, stream: str, max_nodes: int, max_depth: int) -> None:
        self._init_parser(stream)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._max_nodes = max_nodes
        self._max_depth = max_depth
        self._count = 0  # values composed so far, each alias counted as its expanded size
        self._depth = 0
        self._aliases = 0
        self._sizes: dict[int, int] = {}  # id(anchored node) -> its expanded size, once complete

    def _init_parser(self, stream: str) -> None:
        raise NotImplementedError  # the subclass's parser: pure Python or libyaml

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:
                size = self._sizes.get(id(target))
                if size is None:
                    raise YamlError(
                        f"alias *{event.anchor} is inside the node it refers to (a recursive "
                        "structure); write the value out",
                        event.start_mark.line + 1,
                    )
                self._aliases += 1
                self._grow(size, event)
            return super().compose_node(parent, index)  # undefined alias: PyYAML's error
        self._depth += 1
        if self._depth > self._max_depth:
            raise YamlError(
                f"nested more than {self._max_depth} levels deep; a pipeline file needs about 6",
                event.start_mark.line + 1,
            )
        before = self._count
        node = super().compose_node(parent, index)
        self._depth -= 1
        self._grow(1, event)
        if event.anchor is not None:
            self._sizes[id(node)] = self._count - before
        return node

    def _grow(self, n: int, event: yaml.Event) -> None:
        self._count += n
        if self._count <= self._max_nodes:
            return
        if self._aliases:
            problem = (
                f"through its aliases the document expands to more than {self._max_nodes:,} "
                "values (an alias bomb?); write the values out or nest fewer anchors"
            )
        else:
            problem = (
                f"the document holds more than {self._max_nodes:,} values; a pipeline file "
                "holds a few hundred (check that --config names the pipeline YAML)"
            )
        raise YamlError(problem, event.start_mark.line + 1)


class _BoundedLoader(_Bounded, yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):  # type: ignore[misc]
    """Pure-Python events: PyYAML's SafeLoader parts."""

    def _init_parser(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


_FastLoader: type[_Bounded] | None = None
if yaml.__with_libyaml__:

    class _CLoader(_Bounded, yaml.cyaml.CParser):  # type: ignore[misc]
        """libyaml's events; the Python composer above (it comes first in the MRO)."""

        def _init_parser(self, stream: str) -> None:
            yaml.cyaml.CParser.__init__(self, stream)

    _FastLoader = _CLoader


def _construct_mapping(
    loader: _Bounded, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    """A mapping that refuses a key written twice (a silent overwrite loses a setting), but keeps
    YAML merge keys (`<<: *anchor`), whose keys the mapping's own keys may override."""
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key (a list): PyYAML's own error follows
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Bounded.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay strings until pydantic parses them, so a bad date is reported with its key and line.
_Bounded.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def line_index(node: yaml.Node | None) -> dict[tuple[Any, ...], int]:
    """Map each key path to its 1-based line. A node reached a second time (through an alias) is
    not entered again, so the map is no bigger than the file; its path gets the line of the key or
    the list that holds the alias, where an error under it is best fixed."""
    out: dict[tuple[Any, ...], int] = {}
    seen: set[int] = set()

    def walk(node: yaml.Node, path: tuple[Any, ...], holder: int) -> None:
        if id(node) in seen:
            out.setdefault(path, holder)
            return
        seen.add(id(node))
        line = node.start_mark.line + 1
        out.setdefault(path, line)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if not isinstance(k, yaml.ScalarNode):
                    continue  # a list or mapping as a key: the validator refuses it
                key = (*path, k.value)
                walk(v, key, k.start_mark.line + 1)
                out[key] = k.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i), line)

    if node is not None:
        walk(node, (), 1)
    return out
