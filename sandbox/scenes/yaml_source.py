"""Reading a scene's YAML safely and in bounded time.

A regular file of at most MAX_FILE_BYTES, UTF-8 text, its flow brackets counted on the text
before parsing (PyYAML's scanners slow down with the square of their depth), then parsed once,
by libyaml where PyYAML has it, into plain data (dicts, lists, numbers, text) as
`yaml.safe_load` would, with the place of every key and item kept for messages (Marks). Refused,
each at its line and column: aliases and merge keys, tags other than YAML's own, nesting deeper
than MAX_DEPTH, more than MAX_VALUES values, integers of more than MAX_INT_DIGITS digits, more
than one document, a top level that is not a mapping.
"""

from __future__ import annotations

from array import array
from pathlib import Path

import numpy as np
import yaml

from .confine import UnsafeFile, read_text
from .messages import Marks, SceneError, key_path

MAX_FILE_BYTES = 20_000_000
MAX_DEPTH = 100  # lists and mappings inside each other (a scene needs 6)
MAX_VALUES = 2_000_000  # numbers, names, lists and mappings (a listed 20,000-node network has 870,000)
MAX_INT_DIGITS = 40  # Python refuses to read integers past 4,300 digits, with a traceback

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where PyYAML was built with it
_T = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_T + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_COLLECTION_TAGS = {None, "!", _T + "map", _T + "seq"}
_FLOAT, _INT = _T + "float", _T + "int"
_CONSTRUCTOR = yaml.SafeLoader("")  # its constructors turn a tagged scalar into a value
_RESOLVERS = yaml.SafeLoader.yaml_implicit_resolvers  # first character -> [(tag, regexp)]


def read_yaml(path) -> dict:
    """The document in the YAML file at path; raises SceneError saying what is wrong with it."""
    return read_document(path)[0]


def read_document(path) -> tuple[dict, Marks]:
    """(the document, the place of each of its keys and items) of the YAML file at path."""
    path = Path(path)
    try:
        text = read_text(path, MAX_FILE_BYTES, what="scene files")
    except UnsafeFile as exc:
        raise SceneError(path, [str(exc)]) from None
    raw, marks = parse_yaml(text, path)
    if raw is None:
        raise SceneError(path, ["the file is empty"])
    if not isinstance(raw, dict):
        raise SceneError(path, [f"the top level must be a mapping of keys (name:, network:, "
                                f"task:...), not a {type(raw).__name__}"])
    return raw, marks


def parse_yaml(text: str, path) -> tuple[object, Marks]:
    """The one document in text as plain data (None if there is none) and its Marks; raises
    SceneError (naming path, line and column) for what the module docstring lists."""
    deep = flow_depth(text)
    if deep is not None:
        raise SceneError(path, [f"{_where(text, deep)}more than {MAX_DEPTH} brackets [ or {{ open at once "
                                f"(counted on the text); scene files nest at most {MAX_DEPTH} deep"])
    loader = LOADER(text)
    try:
        return _Builder(path).run(loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SceneError(path, [f"{where}not valid YAML: {problem}"]) from None
    finally:
        loader.dispose()


def flow_depth(text: str, limit: int = MAX_DEPTH, chunk: int = 1 << 22) -> int | None:
    """The offset in text's UTF-8 bytes where more than `limit` flow brackets ([ and {, less ]
    and }) are first open, counting brackets in quotes and comments too; None if that never
    happens. Linear, by chunks of bytes (20 MB in about 0.1 s)."""
    data = text.encode("utf-8")
    if data.count(b"[") + data.count(b"{") <= limit:
        return None
    depth = 0
    for start in range(0, len(data), chunk):
        step = _BRACKET_STEP[np.frombuffer(data, np.uint8, min(chunk, len(data) - start), start)]
        at = np.flatnonzero(step)
        running = depth + np.cumsum(step[at], dtype=np.int64)
        over = np.flatnonzero(running > limit)
        if len(over):
            return start + int(at[over[0]])
        depth = int(running[-1]) if len(running) else depth
    return None


_BRACKET_STEP = np.zeros(256, np.int8)
_BRACKET_STEP[[ord("["), ord("{")]] = 1
_BRACKET_STEP[[ord("]"), ord("}")]] = -1


def _where(text: str, offset: int) -> str:
    data = text.encode("utf-8")
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    line = data.count(b"\n", 0, offset) + 1
    return f"line {line}, column {column}: "


class _Builder:
    """Plain data from a loader's events in one pass, without recursion, and the Marks: the
    packed (line << 32 | column) of every key and every list item, in the order they come.

    The open container is held in locals (container, is_list, key: a mapping's key awaiting
    its value, else _NO_KEY); the stack keeps those of the containers around it, a mapping's
    key being the one whose value is open. The loop is written out for speed: a listed
    20,000-node network is 870,000 events."""

    def __init__(self, path):
        self.path = path
        self.packed = array("q")
        self.repeated_key = False

    def run(self, loader) -> tuple[object, Marks]:
        stack: list = []
        try:
            return self._loop(loader, stack)
        except _Problem as p:
            raise SceneError(self.path, [p.where(stack)]) from None

    def _loop(self, loader, stack):
        get_event, packed, resolvers, no_key = loader.get_event, self.packed, _RESOLVERS, _NO_KEY
        scalar_event, mapping_start, sequence_start = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
        ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
        root, values, documents, strings = None, 0, 0, {}
        container, is_list, key = None, False, no_key
        while True:
            ev = get_event()
            if ev is None:
                return root, Marks(packed, self.repeated_key)
            kind = ev.__class__
            if kind is scalar_event:
                value, tag = ev.value, ev.tag
                try:
                    if tag is not None and tag != "!":
                        value = _tagged(value, tag)
                    elif ev.implicit[0]:  # plain: a number, true, null... or text
                        candidates = resolvers.get(value[:1])
                        if candidates is not None:
                            value = _resolve(value, candidates)
                    values += 1
                    if values > MAX_VALUES:
                        raise _Problem(_too_many())
                except _Problem as p:
                    raise p.at(ev, container, is_list, key) from None
                if container is None:
                    root = value
                elif is_list:
                    m = ev.start_mark
                    packed.append((m.line << 32) | m.column)
                    container.append(value)
                elif key is not no_key:
                    container[key] = value
                    key = no_key
                elif value.__class__ is _Merge:
                    raise _Problem("merge keys (<<) are not allowed in scene files").at(ev, container, is_list, key)
                else:  # a key: its value comes next (one str for all the copies of a key)
                    key = strings.setdefault(value, value) if value.__class__ is str else value
                    if key in container:  # a repeated key: its last value wins, in its first place
                        self.repeated_key = True
                    else:
                        m = ev.start_mark
                        packed.append((m.line << 32) | m.column)
            elif kind is mapping_start or kind is sequence_start:
                values += 1
                problem = (_too_many() if values > MAX_VALUES
                           else f"not valid YAML: the tag '{ev.tag}' is not allowed in scene files"
                           if ev.tag not in _COLLECTION_TAGS
                           else f"nested deeper than {MAX_DEPTH} lists and mappings" if len(stack) >= MAX_DEPTH
                           else "a list or mapping as a key is not allowed in scene files"
                           if container is not None and not is_list and key is no_key else "")
                if problem:
                    raise _Problem(problem).at(ev, container, is_list, key)
                new = {} if kind is mapping_start else []
                if container is None:
                    root = new
                elif is_list:
                    m = ev.start_mark
                    packed.append((m.line << 32) | m.column)
                    container.append(new)
                else:
                    container[key] = new  # the key stays until this container ends
                stack.append((container, is_list, key))
                container, is_list, key = new, kind is sequence_start, no_key
            elif kind in ends:
                container, is_list, key = stack.pop()
                if not is_list:
                    key = no_key
            elif kind is yaml.AliasEvent:
                raise _Problem("YAML aliases (*name) are not allowed in scene files").at(ev, container, is_list, key)
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _Problem("not valid YAML: a scene file holds one document (a second '---' was "
                                   "found)").at(ev, container, is_list, key)


def _too_many() -> str:
    return (f"more than {MAX_VALUES:,} values (numbers, names, lists, mappings); scene files are limited "
            f"to {MAX_VALUES:,}")


class _Problem(Exception):
    """A problem found while building, and where: the event, and the open container."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem, self.mark, self.here = problem, None, None

    def at(self, ev, container, is_list, key) -> _Problem:
        self.mark, self.here = ev.start_mark, (container, is_list, key)
        return self

    def where(self, stack: list) -> str:
        """'line L, column C: key.path: problem', the path through the containers around."""
        steps, frames = [], stack + [self.here]
        for depth, (container, is_list, key) in enumerate(frames):
            if container is None:
                continue
            if is_list:
                steps.append(len(container) - (depth + 1 < len(frames)))
            elif key is not _NO_KEY:
                steps.append(key)
        keys = key_path(steps)
        return f"line {self.mark.line + 1}, column {self.mark.column + 1}: " + (f"{keys}: " if keys else "") + self.problem


def _resolve(value: str, candidates):
    """A plain scalar whose first character may start a number, a boolean or a null: its
    value as yaml.safe_load reads it (the same regular expressions)."""
    tag = next((candidate for candidate, regexp in candidates if regexp.match(value)), None)
    if tag is None:
        return value
    if tag == _FLOAT:
        try:
            return float(value)  # the common forms; .inf, 1:30.5 and 1__0.5 go the long way
        except ValueError:
            pass
    elif tag == _INT and len(value) <= MAX_INT_DIGITS and value.isdigit() and (value[0] != "0" or value == "0"):
        return int(value)
    return _tagged(value, tag)


def _tagged(value: str, tag: str):
    """A scalar with an explicit or resolved tag, built by PyYAML's own safe constructor."""
    if tag == _T + "str":
        return value
    if tag == _T + "merge":
        return _Merge()
    if tag not in _SCALAR_TAGS:
        raise _Problem(f"not valid YAML: the tag '{tag}' is not allowed in scene files")
    if tag == _INT:
        body = value.replace("_", "").lstrip("+-")
        digits = len(body) - 2 * (body[:2] in ("0x", "0o", "0b"))
        if digits > MAX_INT_DIGITS:
            raise _Problem(f"an integer of {digits:,} digits; numbers in scene files have at most "
                           f"{MAX_INT_DIGITS} digits")
    try:
        return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, value))
    except (ValueError, TypeError, yaml.YAMLError):
        raise _Problem(f"not valid YAML: '{value[:32]}' is not a valid {tag.rsplit(':', 1)[-1]}") from None


class _Merge:
    """A '<<' key, refused."""


_NO_KEY = object()
