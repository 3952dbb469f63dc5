"""Messages about a scene file: SceneError, which lists every problem, and the locator that
names each problem's line, column and key path."""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml
from pydantic import BaseModel

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



class Locator:
    """Finds the line and column of a key path in the YAML file, for messages."""

    def __init__(self, path: Path | None):
        self.path = path
        self._root = None
        if path is None:  # a document built in memory: key paths without lines
            return
        try:
            self._root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except Exception:  # noqa: BLE001 - positions are a nicety; the message stands without
            self._root = None

    def at(self, loc) -> str:
        node, mark = self._root, None
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                hit = [(k, v) for k, v in node.value if k.value == str(key)]
                if not hit:
                    break
                mark = hit[0][0].start_mark
                node = hit[0][1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
                mark = node.start_mark
            else:
                break
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        keys = ".".join(str(k) if not isinstance(k, int) else f"[{k}]" for k in loc)
        return f"{where}{keys.replace('.[', '[')}: " if keys else where


def explain(err: dict, raw, locate: Locator) -> str:
    loc = _document_path(err["loc"], raw)
    msg = err["msg"]
    if err["type"] == "extra_forbidden" and loc:
        model = _model_at(loc[:-1])
        known = list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        msg = f"unknown key '{loc[-1]}'" + (f" (did you mean '{close[0]}'?)" if close else "")
        if known:
            msg += f"; allowed here: {', '.join(known)}"
    elif err["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
    elif err["type"] == "missing":
        msg = "this key is required"
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


def _model_at(loc):
    model = SceneSpec
    for key in loc:
        if isinstance(key, int):
            continue
        f = model.model_fields.get(key)
        if f is None:
            return None
        ann = f.annotation
        found = None
        for cand in _flatten_types(ann):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
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
