"""The API as a researcher meets it: from another folder, a network built in code, a cost of
their own, saved networks, answers to new inputs, shipped scenes by name, one BLAS thread, a
headless install without pygame or Dask, and documentation that agrees with the code."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import random_network

import sandbox
from sandbox.physics.network import HIDDEN, Network

ROOT = Path(__file__).resolve().parent.parent


def _run(code_or_args, cwd, hide=(), timeout=120):
    """Run Python code (a string) or a command line (a list) in a fresh process from cwd, with
    the checkout importable and the modules in `hide` made unimportable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    prelude = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in hide)
    if isinstance(code_or_args, str):
        args = [sys.executable, "-c", prelude + code_or_args]
    else:
        args = [sys.executable, "-c", prelude + "from sandbox.cli import main\nsys.exit(main(sys.argv[1:]))",
                *code_or_args]
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_worked_example_and_the_custom_cost_of_the_api_page_run_from_another_folder(tmp_path):
    text = (ROOT / "docs" / "api.md").read_text()
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, re.S))
    done = _run(code, tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cosine 1.0000" in done.stdout or "cosine 0.99" in done.stdout
    assert (tmp_path / "allostery150.yaml").is_file()
    assert "Warning" not in done.stderr, done.stderr


def test_every_public_name_is_documented():
    text = (ROOT / "docs" / "api.md").read_text()
    for name in sandbox.__all__:
        assert f"`{name}" in text, name
        assert getattr(sandbox, name).__doc__ or name == "__version__", name
    assert "docs/api.md" in (ROOT / "README.md").read_text()


def test_a_network_is_short_to_print_and_equal_to_its_copy():
    net = random_network(200, seed=1)
    assert len(repr(net)) < 150 and "200 nodes" in repr(net) and "springs" in repr(net)
    twin = net.copy()
    assert twin == net and not (twin != net)
    twin.k[0] *= 2
    assert twin != net and net != "a network"
    with pytest.raises(TypeError):
        hash(net)


def test_a_network_saved_and_loaded_is_the_same_to_the_last_bit(tmp_path):
    net = random_network(40, seed=2)
    net.k = net.k * np.pi  # floats with every bit used
    rail = net.nodes(HIDDEN)[0]
    net.axes[rail] = (False, True)
    net.save(tmp_path / "n.yaml")
    back = Network.load(tmp_path / "n.yaml")
    assert back == net and back.k.tolist() == net.k.tolist()
    net.axes[rail] = (False, False)
    with pytest.raises(ValueError, match="neither axis"):
        net.save(tmp_path / "m.yaml")


def test_a_trained_scene_s_network_loads_and_a_bad_file_is_named(tmp_path):
    from sandbox.scenes.save import save_scene

    scene = sandbox.load_scene("symmetrize")
    sandbox.Trainer.from_scene(scene).fit(2)
    save_scene(scene, tmp_path / "trained.yaml")  # as train writes it
    assert Network.load(tmp_path / "trained.yaml") == scene.net == sandbox.load_scene(tmp_path / "trained.yaml").net
    bad = tmp_path / "bad.yaml"
    bad.write_text("network:\n  nodes: [{id: a, pos: [0, 0]}]\n  springs: [{between: [a, b]}]\n")
    with pytest.raises(ValueError, match="bad.yaml: a node or spring is malformed"):
        Network.load(bad)
    with pytest.raises(ValueError, match="generated, not listed"):
        Network.load(ROOT / "scenes" / "allostery.yaml")


def test_predict_answers_new_inputs_as_the_targets_are_given():
    """Two springs in a chain: the output follows the input by k2 / (k1 + k2) = 0.3 once trained."""
    scene = sandbox.load_scene("two_springs")
    trainer = sandbox.Trainer.from_scene(scene)
    trainer.fit(60)
    clamps = np.array([[[0.5, 0.0]], [[-0.2, 0.0]], [[0.05, 0.0]]])  # inputs it never saw
    answers = trainer.predict(clamps)
    assert answers.shape == (3, 1, 2)
    assert np.allclose(answers[:, 0, 0], 0.3 * clamps[:, 0, 0], rtol=1e-5)
    assert np.allclose(trainer.predict(clamps[0]), answers[0])
    distance = sandbox.load_scene("allostery")
    pair = sandbox.Trainer.from_scene(distance).predict(distance.task.clamps)
    assert pair.shape == (1, 1) and abs(pair[0, 0] - 2.0) < 1.0  # a length, in the targets' units


def test_shipped_scenes_are_found_by_name_from_any_folder(tmp_path, monkeypatch, capsys):
    from sandbox.cli import main

    monkeypatch.chdir(tmp_path)
    names = [sandbox.load_scene(n).name for n in ("allostery", "scenes/iris.yaml", "xor.yaml")]
    assert names == ["Allostery", "Iris", "XOR"]
    with pytest.raises(sandbox.SceneError, match="did you mean 'allostery'\\?"):
        sandbox.load_scene("alostery")
    assert main(["train", "two_springs", "--epochs", "2", "--quiet"]) in (0, 1)
    assert list((tmp_path / "runs").glob("two_springs-*/trained.yaml"))
    assert main(["validate", "symmetrize", "nope"]) == 2
    out = capsys.readouterr().out
    assert "ok: symmetrize" in out and "no such file; " in out


def test_a_network_built_in_code_runs_on_one_blas_thread_whatever_the_import_order(tmp_path):
    """scipy may ship its own OpenBLAS, loaded only when scipy.linalg is first imported: a
    fresh process that builds a network in code and relaxes it must find every BLAS at 1."""
    build = ("import numpy as np\n"
             "from sandbox.physics.network import Network, triangular_lattice\n"
             "from sandbox.physics.equilibrium import NewtonSolver\n"
             "pos, edges = triangular_lattice(12, 12)\n"
             "roles = np.full(len(pos), 2); roles[:12] = 0\n"
             "net = Network(pos, edges, None, None, roles)\n"
             "net.L = net.L * 0.97\n"
             "assert NewtonSolver().relax(net, net.pos).converged\n")
    read = ("from threadpoolctl import threadpool_info\n"
            "blas = [(d['filepath'], d['num_threads']) for d in threadpool_info() if d['user_api'] == 'blas']\n"
            "print(blas)\n"
            "assert blas and all(n == 1 for _, n in blas), blas\n")
    for first in ("", "import scipy.linalg, scipy.sparse.linalg\n"):  # sandbox first, or scipy first
        done = _run(first + build + read, tmp_path)
        assert done.returncode == 0, first + done.stdout + done.stderr


def test_a_headless_install_imports_trains_checks_and_validates_without_pygame_or_dask(tmp_path):
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = " ".join(core["dependencies"]).lower()
    assert "pygame" not in names and "dask" not in names
    assert any("pygame" in d for d in core["optional-dependencies"]["window"])
    assert any("dask" in d for d in core["optional-dependencies"]["sweep"])
    hide = ("pygame", "pygame_gui", "dask", "distributed")
    script = f"""
import contextlib, io
import sandbox
for n in sandbox.__all__:
    getattr(sandbox, n)
import sandbox.runner, sandbox.sweep.spec
from sandbox.cli import main
out = {str(tmp_path / "run")!r}
for args in (["train", "two_springs", "--out", out, "--quiet"], ["check", "two_springs"], ["validate", "xor"],
             ["run", "xor"], ["train", "xor", "--gif", "x.gif"]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    print(args[0], code, repr(err.getvalue()))
"""
    done = _run(script, tmp_path, hide)
    assert done.returncode == 0, done.stdout + done.stderr
    codes = [line.split(" ", 2) for line in done.stdout.splitlines()]
    assert [(c[0], c[1]) for c in codes] == [("train", "0"), ("check", "0"), ("validate", "0"), ("run", "2"),
                                             ("train", "2")], done.stdout
    assert all("spring-sandbox[window]" in c[2] for c in codes[3:])
    assert (tmp_path / "run" / "trained.yaml").is_file() and (tmp_path / "run" / "loss.png").is_file()
    assert not (tmp_path / "run" / "network.png").exists()  # drawn by pygame-ce, the [window] extra


def test_the_readme_promises_what_the_scene_files_promise():
    from sandbox.scenes.promise import scene_promise, with_promises

    readme = (ROOT / "README.md").read_text()
    assert with_promises(readme) == readme, "run: python -m sandbox.scenes.promise README.md"
    assert "| `iris` |" in readme and f"| {scene_promise('iris')} |" in readme
    assert scene_promise("iris") == "test accuracy >= 85%"
    stale = readme.replace("| test accuracy >= 85% |", "| test accuracy >= 90% |", 1)
    assert with_promises(stale) == readme  # a stale promise is caught and rewritten
