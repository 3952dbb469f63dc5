"""The package as a researcher meets it: installable, a small API, layers that import downward."""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sandbox

ROOT = Path(__file__).resolve().parent.parent

# each layer may import only itself and the layers listed after it
LAYERS = {
    "physics": set(),
    "learning": {"physics"},
    "scenes": {"learning", "physics"},
    "drawing": {"scenes", "learning", "physics"},
    "window": {"drawing", "scenes", "learning", "physics"},
}
BASE = {"paths", "files", "yaml_text", "__init__"}  # leaf modules anyone may import


def _sandbox_imports(path: Path) -> set[str]:
    """The sandbox modules a file imports (absolute dotted names), at any depth of the file."""
    tree = ast.parse(path.read_text())
    pkg = path.relative_to(ROOT).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(pkg[: len(pkg) - node.level + 1])
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("sandbox"):
                found |= {mod + "." + a.name for a in node.names} if node.module is None else {mod}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("sandbox")}
    return found


def _third_party(path: Path, top_level_only: bool = False) -> set[str]:
    """The top-level names of the modules a file imports (at module level only, if asked)."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in (tree.body if top_level_only else ast.walk(tree)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.add((node.module or "").split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_a_layer_imports_only_the_layers_beneath_it(layer):
    for path in sorted((ROOT / "sandbox" / layer).glob("*.py")):
        for mod in _sandbox_imports(path):
            parts = mod.split(".")
            target = parts[1] if len(parts) > 1 else "__init__"
            if target in BASE or target == layer:
                continue
            assert target in LAYERS[layer], f"{path.relative_to(ROOT)} imports {mod}: {layer} may not import {target}"


def test_nothing_headless_imports_the_window_and_drawing_has_no_widgets():
    """Headless training, sweeps and the pictures they share reach neither the window's
    session, app nor widgets: the pictures live in sandbox/drawing."""
    headless = [ROOT / "sandbox" / "runner.py", ROOT / "sandbox" / "response_plot.py",
                *sorted((ROOT / "sandbox" / "sweep").glob("*.py")), *sorted((ROOT / "sandbox" / "drawing").glob("*.py"))]
    for path in headless:
        window = [m for m in _sandbox_imports(path) if m.split(".")[1:2] == ["window"]]
        assert not window, f"{path.relative_to(ROOT)} imports {window}"
    for path in (ROOT / "sandbox" / "drawing").glob("*.py"):
        assert "pygame_gui" not in _third_party(path), path


def test_the_core_imports_neither_pygame_nor_pymunk_and_only_the_world_imports_pymunk():
    for layer in ("physics", "learning", "scenes"):
        for path in (ROOT / "sandbox" / layer).glob("*.py"):
            mods = _third_party(path)
            assert "pygame" not in mods and "pygame_gui" not in mods, path
            if path.name != "world.py":
                assert "pymunk" not in mods, path
    for path in [ROOT / "sandbox" / "runner.py", ROOT / "sandbox" / "cli.py"]:
        assert "pygame" not in _third_party(path, top_level_only=True), path  # they reach the window lazily


def test_importing_the_core_loads_no_pygame():
    code = ("import sys; import sandbox.window.session, sandbox.scenes.editor, sandbox.runner, sandbox.cli; "
            "sys.exit('pygame' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()


def test_the_api_is_small_documented_and_trains():
    for name in ("load_scene", "Trainer", "Rule", "gradient_check", "Network", "Task", "Engine", "Cost"):
        obj = getattr(sandbox, name)
        assert obj.__doc__, name
    scene = sandbox.load_scene(ROOT / "scenes" / "two_springs.yaml")
    history = sandbox.Trainer.from_scene(scene).fit(5)
    assert [r["epoch"] for r in history] == list(range(6))
    assert history[-1]["loss"] < history[0]["loss"]
    assert isinstance(sandbox.NewtonSolver(), sandbox.Engine)
    assert isinstance(scene.task.cost(scene.net, 0), sandbox.Cost)


def test_pip_install_gives_a_command_and_the_library_from_another_folder(tmp_path):
    """pip install (no dependencies: this environment has them) into a folder of its own, then
    from a third folder: the command, validating a shipped scene, and the example script."""
    source = tmp_path / "source"  # pip builds in the source folder: a copy keeps the checkout clean
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "runs", "saved", "__pycache__",
                                                                  "build", "*.egg-info", ".pytest_cache"))
    target = tmp_path / "site"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    build = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                            str(source)], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert build.returncode == 0, build.stderr[-2000:]
    for init in (ROOT / "sandbox").rglob("__init__.py"):  # every subpackage is installed
        assert (target / init.relative_to(ROOT)).is_file(), init.relative_to(ROOT)
    shipped = target / "sandbox" / "_library"
    assert (shipped / "scenes" / "iris.yaml").is_file() and (shipped / "assets" / "iris.csv").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env["PYTHONPATH"] = str(target)
    env["MPLBACKEND"] = "Agg"
    cmd = target / "bin" / "spring-sandbox"
    help_ = subprocess.run([sys.executable, str(cmd), "--help"], capture_output=True, text=True, cwd=elsewhere, env=env)
    assert help_.returncode == 0 and "spring-sandbox" in help_.stdout
    val = subprocess.run([sys.executable, str(cmd), "validate", str(shipped / "scenes" / "iris.yaml"), "allostery"],
                         capture_output=True, text=True, cwd=elsewhere, env=env)
    assert val.returncode == 0 and val.stdout.startswith("ok:"), val.stdout + val.stderr
    assert "ok: allostery" in val.stdout  # a shipped scene by name, from the installed copy
    assert "spring-sandbox COMMAND --help" in help_.stdout and "python main.py" not in help_.stdout
    ex = subprocess.run([sys.executable, str(ROOT / "examples" / "train_and_check.py"),
                         str(shipped / "scenes" / "two_springs.yaml"), "--epochs", "5", "--out", "curve.png"],
                        capture_output=True, text=True, cwd=elsewhere, env=env)
    assert ex.returncode == 0, ex.stdout + ex.stderr
    assert (elsewhere / "curve.png").stat().st_size > 1000
    assert str(target) in subprocess.run([sys.executable, "-c", "import sandbox; print(sandbox.__file__)"],
                                         capture_output=True, text=True, cwd=elsewhere, env=env).stdout
