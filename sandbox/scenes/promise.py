"""A scene's promise (its `expect`) in words, and the README's scene table kept in step with the
scene files: `python -m sandbox.scenes.promise README.md` rewrites the table's promise column
from scenes/ (tests/test_api.py checks that they agree)."""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path

from ..files import write_atomic
from ..paths import SCENES
from .schema import Expect, SceneSpec
from .yaml_source import read_yaml


def promise_text(expect: Expect) -> str:
    """What a scene promises, as `train` checks it: e.g. 'loss drop >= 100x', 'test accuracy >= 85%'."""
    said = []
    if expect.loss_below is not None:
        said.append(f"train loss < {_number(expect.loss_below)}")
    if expect.loss_drop is not None:
        said.append(f"loss drop >= {_number(expect.loss_drop)}x")
    if expect.test_loss_below is not None:
        said.append(f"test loss < {_number(expect.test_loss_below)}")
    if expect.accuracy_at_least is not None:
        said.append(f"train accuracy >= {100 * expect.accuracy_at_least:.4g}%")
    if expect.test_accuracy_at_least is not None:
        said.append(f"test accuracy >= {100 * expect.test_accuracy_at_least:.4g}%")
    return ", ".join(said) or "none"


def _number(v: float) -> str:
    """1e-08 -> 1e-8, 1000.0 -> 1000, 0.002 -> 0.002."""
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + ("-" if m.group(1) == "-" else "") + m.group(2), f"{v:g}")


@lru_cache(maxsize=64)
def scene_promise(name: str, folder: Path = SCENES) -> str:
    """The promise of the scene file folder/name.yaml, read from its `expect`."""
    return promise_text(SceneSpec.model_validate(read_yaml(folder / f"{name}.yaml")).expect)


HEADER = "| scene | what it shows | promise |"
ROW = re.compile(r"^\| ((?:`[a-z0-9_]+`(?:, )?)+) \| ([^|]*) \| ([^|]*) \|(.*)$")


def with_promises(readme: str, folder: Path = SCENES) -> str:
    """The README text with the promise column of its scene table (the table under HEADER, rows
    | `name` | what | promise | reached |) generated from the scene files; a row naming several
    scenes joins theirs with '; '."""
    out = []
    in_table = False
    for line in readme.splitlines(keepends=True):
        in_table = line.startswith(HEADER) or (in_table and line.startswith("|"))
        m = ROW.match(line.rstrip("\n")) if in_table else None
        if m:
            names = re.findall(r"`([a-z0-9_]+)`", m.group(1))
            if all((folder / f"{n}.yaml").is_file() for n in names):
                promise = "; ".join(scene_promise(n, folder) for n in names)
                line = f"| {m.group(1)} | {m.group(2)} | {promise} |{m.group(4)}\n"
        out.append(line)
    return "".join(out)


def main(argv=None) -> int:
    """Rewrite the README given on the command line (atomically) if its promises are stale."""
    path = Path((argv or sys.argv[1:] or ["README.md"])[0])
    text = path.read_text(encoding="utf-8")
    new = with_promises(text)
    if new != text:
        write_atomic(path, new)
    print(f"{path}: scene promises {'updated' if new != text else 'already agree'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
