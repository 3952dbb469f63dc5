"""Where the scene library and the assets are: beside the package in a checkout, or inside it
when installed (pyproject.toml ships them as sandbox/_library/{scenes,assets})."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = PACKAGE.parent
_INSTALLED = PACKAGE / "_library"
ROOT = _CHECKOUT if (_CHECKOUT / "scenes").is_dir() and (_CHECKOUT / "assets").is_dir() else _INSTALLED
SCENES = ROOT / "scenes"
ASSETS = ROOT / "assets"
