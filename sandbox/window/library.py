"""The scenes the window offers: the lessons first, in order and by their titles, then the
library's other scenes by name, then the copies saved in saved/ (of the folder the window runs
in), by their scene's name and the time they were saved. Read from each file's name alone (a
quick look, not a build), once per change of the file."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..paths import SCENES

_NAMES: dict = {}  # path -> (modification time, name)
LESSON = re.compile(r"^\s*Lesson\s+(\d+)", re.IGNORECASE)


def scene_name(path: Path) -> str:
    """The `name:` a scene file gives (its file name if it gives none or does not read)."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return path.name
    if _NAMES.get(path, (None,))[0] != mtime:
        try:
            with open(path, encoding="utf-8") as fh:
                head = "".join(line for line, _ in zip(fh, range(400)) if line.startswith("name:"))
            name = str((yaml.safe_load(head) or {}).get("name") or path.stem)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            name = path.stem
        _NAMES[path] = (mtime, name)
    return _NAMES[path][1]


def lessons() -> list[Path]:
    """The library's lessons, in their order (the number in "Lesson N: ...")."""
    found = [(int(m.group(1)), p) for p in SCENES.glob("*.yaml") if (m := LESSON.match(scene_name(p)))]
    return [p for _, p in sorted(found)]


def scene_choices(current: Path) -> dict[str, Path]:
    """What the scene menu offers, label -> path (see the module's docstring), and the scene
    open now if it is none of them."""
    choices = {scene_name(p): p for p in lessons()}
    others = sorted((p for p in SCENES.glob("*.yaml") if not LESSON.match(scene_name(p))), key=scene_name)
    for p in others:
        label = scene_name(p)
        choices[label if label not in choices else f"{label} ({p.name})"] = p
    for p in sorted((Path.cwd() / "saved").glob("*.yaml")):
        label = saved_label(p)
        choices[label if label not in choices else f"saved/{p.name}"] = p
    if not any(same_file(p, current) for p in choices.values()):
        choices[current.name] = current
    return choices


SAVED_AT = re.compile(r"(-autosave)?-\d{8}-(\d\d)(\d\d)(\d\d)(-\d+)?$")


def saved_label(path: Path) -> str:
    """A copy in saved/ as the menu names it: its scene's name and when it was saved ("Lesson 2:
    allostery, autosaved 02:29:45"), short enough for the menu; its file name if not so named."""
    when = SAVED_AT.search(path.stem)
    if when is None:
        return f"saved/{path.name}"
    kind = "autosaved" if when.group(1) else "saved"
    return f"{scene_name(path)}, {kind} {when.group(2)}:{when.group(3)}:{when.group(4)}{when.group(5) or ''}"


def next_lesson(current: Path) -> Path | None:
    """The lesson after the one at `current` (None: it is the last, or not a lesson)."""
    order = lessons()
    i = next((j for j, p in enumerate(order) if same_file(p, current)), None)
    return order[i + 1] if i is not None and i + 1 < len(order) else None


def same_file(a: Path, b: Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()
