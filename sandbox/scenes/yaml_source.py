"""Reading a scene's YAML safely: bounded size, text only, no aliases, a mapping at the top."""

from __future__ import annotations

from pathlib import Path

import yaml

from .messages import SceneError

MAX_FILE_BYTES = 20_000_000


def read_yaml(path: Path) -> dict:
    """The document in the YAML file at path; raises SceneError saying what is wrong with it."""
    if not path.exists():
        raise SceneError(path, ["no such file"])
    if path.is_dir():
        raise SceneError(path, ["is a directory, not a scene file"])
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SceneError(path, [f"file is {size / 1e6:.0f} MB; scene files are limited to "
                                f"{MAX_FILE_BYTES / 1e6:.0f} MB"])
    data = path.read_bytes()
    if b"\0" in data:
        raise SceneError(path, ["is a binary file, not YAML text"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SceneError(path, [f"is not UTF-8 text (byte {exc.start})"]) from None
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                m = event.start_mark
                raise SceneError(path, [f"line {m.line + 1}, column {m.column + 1}: YAML aliases "
                                        "(*name) are not allowed in scene files"])
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SceneError(path, [f"{where}not valid YAML: {problem}"]) from None
    except RecursionError:
        raise SceneError(path, ["YAML is nested too deeply"]) from None
    if raw is None:
        raise SceneError(path, ["the file is empty"])
    if not isinstance(raw, dict):
        raise SceneError(path, [f"the top level must be a mapping of keys (name:, network:, "
                                f"task:...), not a {type(raw).__name__}"])
    return raw
