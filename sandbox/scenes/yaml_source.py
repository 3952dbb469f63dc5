"""Reading a scene's YAML safely: a regular file, bounded size (read no further than the bound), UTF-8
text only, no aliases, a mapping at the top."""

from __future__ import annotations

from pathlib import Path

import yaml

from .confine import UnsafeFile, read_text
from .messages import SceneError

MAX_FILE_BYTES = 20_000_000


def read_yaml(path: Path) -> dict:
    """The document in the YAML file at path; raises SceneError saying what is wrong with it."""
    try:
        text = read_text(path, MAX_FILE_BYTES, what="scene files")
    except UnsafeFile as exc:
        raise SceneError(path, [str(exc)]) from None
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
