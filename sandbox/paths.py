"""Where the scene library and the assets are: beside the package in a checkout, or inside it
when installed (pyproject.toml ships them as sandbox/_library/{scenes,assets}); and how a scene
named on the command line or in a script is found."""

from __future__ import annotations

import difflib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = PACKAGE.parent
_INSTALLED = PACKAGE / "_library"
ROOT = _CHECKOUT if (_CHECKOUT / "scenes").is_dir() and (_CHECKOUT / "assets").is_dir() else _INSTALLED
SCENES = ROOT / "scenes"
ASSETS = ROOT / "assets"


def library_scenes() -> list[str]:
    """The names of the shipped scenes (file names without .yaml), sorted."""
    return sorted(p.stem for p in SCENES.glob("*.yaml"))


def find_scene(name) -> Path:
    """The scene file `name` means: the path itself when it exists; else a shipped scene, by its
    name ("allostery", "allostery.yaml") or by its path in a checkout ("scenes/allostery.yaml"),
    so both work from any folder, installed or not. Otherwise the path unchanged (reading it
    then says it is missing); `scene_suggestion` says what was perhaps meant."""
    path = Path(name)
    if path.exists():
        return path
    stem = path.name[:-5] if path.name.endswith(".yaml") else path.name
    in_library = path.parent in (Path("."), Path("scenes")) and path.suffix in ("", ".yaml")
    if in_library and (SCENES / f"{stem}.yaml").is_file():
        return SCENES / f"{stem}.yaml"
    return path


def scene_suggestion(name) -> str:
    """'' or a hint for a scene that was not found: the closest library name, and where the
    library is."""
    stem = Path(name).name
    stem = stem[:-5] if stem.endswith(".yaml") else stem
    close = difflib.get_close_matches(stem, library_scenes(), n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}the shipped scenes, by name: {', '.join(library_scenes())} (in {SCENES})"
