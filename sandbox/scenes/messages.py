"""Messages about a scene file: SceneError, which lists every problem, and the locator that
names each problem's line, column and key path."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import get_type_hints

from pydantic import BaseModel
from typing_extensions import is_typeddict

from .schema import SceneSpec


class SceneError(Exception):
    """A scene file has problems. `problems` lists every one, each naming the place; the message
    shows the first MAX_SHOWN (a CSV of 100,000 bad rows must not print 100,000 lines)."""

    MAX_SHOWN = 20

    def __init__(self, path, problems):
        self.path = str(path)
        self.problems = list(problems)
        shown = ["  - " + p for p in self.problems[: self.MAX_SHOWN]]
        if len(self.problems) > self.MAX_SHOWN:
            shown.append(f"  ... and {len(self.problems) - self.MAX_SHOWN:,} more problems")
        super().__init__(self.path + ":\n" + "\n".join(shown))



class Marks:
    """Where the keys and items of a YAML document are in its file: `packed` holds (line << 32
    | column), counted from 0, of every mapping key and every list item in document order
    (the order of the document's dicts and lists). `repeated_key`: a mapping had a key twice,
    so that order no longer matches (the Locator then asks PyYAML's composer)."""

    __slots__ = ("packed", "repeated_key")

    def __init__(self, packed, repeated_key: bool = False):
        self.packed = packed
        self.repeated_key = repeated_key


def key_path(loc) -> str:
    """('network', 'springs', 3, 'k') -> 'network.springs[3].k'"""
    return ".".join(str(k) if not isinstance(k, int) else f"[{k}]" for k in loc).replace(".[", "[")


class Locator:
    """Names the line, column and key path of a place in a scene's document, for messages.

    Locator(path, raw, marks) uses the marks of the parse that made raw; Locator(path) parses
    the file the first time it is asked (a worker rebuilding a scene from its document);
    Locator(None) names key paths only (a document built in memory)."""

    def __init__(self, path: Path | None = None, raw=None, marks: Marks | None = None):
        self.path, self._raw, self._marks = path, raw, marks
        self._offsets = {}  # id(container) -> (container, [where each entry's mark is, relative])
        self._composed = None

    def at(self, loc) -> str:
        mark = self._mark(loc)
        where = f"line {(mark >> 32) + 1}, column {(mark & 0xFFFFFFFF) + 1}: " if mark is not None else ""
        keys = key_path(loc)
        return f"{where}{keys}: " if keys else where

    def _mark(self, loc):
        """The packed mark of the last step of loc that leads through the document, or None."""
        if self._marks is None and self.path is not None:
            from .yaml_source import read_document

            try:
                self._raw, self._marks = read_document(self.path)
            except SceneError:  # positions are a nicety; the message stands without
                self.path = None
        if self._marks is None:
            return None
        if self._marks.repeated_key:
            return self._composed_mark(loc)
        node, at, mark = self._raw, 0, None  # `at`: where the marks of node's entries begin
        for key in loc:
            if isinstance(node, dict):
                keys = list(node)
                index = next((i for i, k in enumerate(keys) if k == key or str(k) == str(key)), None)
                if index is None:
                    break
                child = node[keys[index]]
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                index, child = key, node[key]
            else:
                break
            at += self._entry_offsets(node)[index]
            if at >= len(self._marks.packed):  # a key added to the document after it was read
                break
            mark = self._marks.packed[at]
            node, at = child, at + 1
        return mark

    def _entry_offsets(self, node) -> list:
        """Where the mark of each entry of a dict or list is, from the first: each entry is one
        mark (its key, or the item) and then the marks inside its value. Kept for the
        containers that messages point into."""
        got = self._offsets.get(id(node))
        if got is None:
            offsets, at = [], 0
            for value in (node.values() if isinstance(node, dict) else node):
                offsets.append(at)
                at += 1 + _marks_inside(value)
            got = self._offsets[id(node)] = (node, offsets)
        return got[1]

    def _composed_mark(self, loc):
        """The mark from PyYAML's node tree (a document with a repeated key only)."""
        import yaml

        if self._composed is None:
            from .yaml_source import LOADER

            self._composed = yaml.compose(self.path.read_text(encoding="utf-8"), Loader=LOADER)
        node, mark = self._composed, None
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                hit = [(k, v) for k, v in node.value if k.value == str(key)]
                if not hit:
                    break
                mark, node = hit[-1][0].start_mark, hit[-1][1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
                node = node.value[key]
                mark = node.start_mark
            else:
                break
        return None if mark is None else (mark.line << 32) | mark.column


def _marks_inside(value) -> int:
    """How many marks (keys and items) a value of a document holds, at every depth."""
    if value.__class__ is dict:
        values = value.values()
    elif value.__class__ is list:
        values = value
    else:
        return 0
    n = len(values)
    for v in values:
        if v.__class__ is dict or v.__class__ is list:
            n += _marks_inside(v)
    return n


def explain_all(errors: list, raw, locate: Locator, one=None) -> list[str]:
    """A message for each of pydantic's errors, once each: where a non-finite number failed
    every branch of a union (a float, or a list of them), only that is said. one(err, raw,
    locate) explains one error (default: explain)."""
    one = one or explain
    finite = {_document_path(e["loc"], raw) for e in errors if e["type"] == "finite_number"}
    out = []
    for err in errors:
        if err["type"] != "finite_number" and _document_path(err["loc"], raw) in finite:
            continue
        msg = one(err, raw, locate)
        if msg not in out:
            out.append(msg)
    return out


def explain(err: dict, raw, locate: Locator) -> str:
    loc = _document_path(err["loc"], raw)
    msg = err["msg"]
    if err["type"] == "extra_forbidden" and loc:
        known = _fields(_model_at(loc[:-1]))
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        msg = f"unknown key '{loc[-1]}'" + (f" (did you mean '{close[0]}'?)" if close else "")
        if known:
            msg += f"; allowed here: {', '.join(known)}"
    elif err["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
    elif err["type"] == "missing":
        msg = "this key is required"
    elif err["type"] == "too_long":
        ctx = err.get("ctx", {})
        unit = "characters" if ctx.get("field_type") == "String" else "items"
        most, actual = ctx.get("max_length", 0), ctx.get("actual_length")
        msg = (f"{actual:,} {unit}" if actual else f"more than {most:,} {unit}") + f"; at most {most:,} are allowed here"
    elif err["type"] == "finite_number":
        msg = "must be a finite number (no nan or inf)"
    elif err["type"] == "literal_error":
        msg = f"got {err.get('input')!r}: {msg[0].lower() + msg[1:]}"
    return locate.at(loc) + msg


def _document_path(loc, raw) -> tuple:
    """pydantic's error location without its union-branch names: only the steps that really
    lead through the document (a missing key, the last step, is kept)."""
    out, node = [], raw
    for i, step in enumerate(loc):
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        elif i == len(loc) - 1 and isinstance(node, dict) and not isinstance(step, int):
            pass  # a required key that is missing
        else:
            continue
        out.append(step)
    return tuple(out)


def _fields(model) -> dict:
    """The fields of a pydantic model or a TypedDict (name -> annotation); {} for None."""
    if model is None:
        return {}
    if is_typeddict(model):
        return get_type_hints(model, include_extras=True)
    return {name: f.annotation for name, f in model.model_fields.items()}


def _model_at(loc):
    """The model (or TypedDict) that the key path loc leads to in a scene, or None."""
    model = SceneSpec
    for key in loc:
        if isinstance(key, int):
            continue
        ann = _fields(model).get(key)
        if ann is None:
            return None
        found = None
        for cand in _flatten_types(ann):
            if is_typeddict(cand) or (isinstance(cand, type) and issubclass(cand, BaseModel)):
                found = cand
        if found is None:
            return None
        model = found
    return model


def _flatten_types(ann):
    args = getattr(ann, "__args__", None)
    if not args:
        return [ann]
    out = []
    for a in args:
        out.extend(_flatten_types(a))
    return out
