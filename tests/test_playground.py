"""TensorFlow Playground's four data sets and their scenes: the files are the generator's, the
data are drawn as the Playground draws them, a straight line cannot part circle or XOR, and the
response view maps each scene over the plane its input node moves in. (Each scene's promise is
checked by test_scene_library.py.)"""

from pathlib import Path

import numpy as np
import pytest

from bench import playground_scenes as pg
from sandbox.learning.baseline import logistic_regression
from sandbox.learning.response import free_response, input_names, probe_of_scene
from sandbox.scenes.build import load_scene

ROOT = Path(__file__).parent.parent
NAMES = ("circle", "xor", "gauss", "spiral")


def test_the_files_are_what_the_generator_writes(tmp_path):
    pg.write_all(tmp_path)
    for name in NAMES:
        for sub, ext in (("assets", "csv"), ("scenes", "yaml")):
            made = (tmp_path / sub / f"playground_{name}.{ext}").read_bytes()
            assert made == (ROOT / sub / f"playground_{name}.{ext}").read_bytes(), f"{sub}/playground_{name}.{ext}"


def test_the_data_are_drawn_as_the_playground_draws_them():
    rng = np.random.default_rng(1)
    p, c = pg.circle(400, 0.0, rng)
    r = np.hypot(*p.T)
    assert np.all(r[c == 0] < 2.5) and np.all((r[c == 1] >= 3.5) & (r[c == 1] <= 5)) and c.mean() == 0.5
    p, c = pg.xor(400, 0.0, rng)
    assert np.all(np.abs(p) >= 0.3) and np.all(np.abs(p) <= 5.3)
    assert np.array_equal(c == 0, p[:, 0] * p[:, 1] >= 0)
    p, c = pg.gauss(400, 0.0, rng)
    assert np.allclose(p[c == 0].mean(axis=0), 2, atol=0.2) and np.allclose(p[c == 1].mean(axis=0), -2, atol=0.2)
    assert np.allclose(p[c == 0].var(axis=0), 0.5, rtol=0.3)
    p, c = pg.spiral(400, 0.0, rng)
    assert np.all(np.hypot(*p.T) < 5) and np.allclose(p[c == 0], -p[c == 1])  # two arms, half a turn apart
    noisy, _ = pg.circle(400, 0.5, rng)
    assert not np.all((np.hypot(*noisy.T) < 2.5) == (_ == 0))  # noise flips labels near the edge


@pytest.mark.parametrize("name", ["circle", "xor"])
def test_no_straight_line_parts_circle_or_xor(name):
    """The best linear classifier of the point (x, y) is near chance; the scenes promise 95%."""
    scene = load_scene(ROOT / "scenes" / f"playground_{name}.yaml")
    assert logistic_regression(scene.task)["test_accuracy"] < 0.7
    assert scene.spec.expect.test_accuracy_at_least >= 0.95


@pytest.mark.parametrize("name", NAMES)
def test_the_response_is_a_map_of_the_plane_the_input_node_moves_in(name):
    """Two numbers vary, P's dx and dy (the bias stays), over a range covering the data; every
    point of a coarse map settles (no point of it left unrelaxed)."""
    scene = load_scene(ROOT / "scenes" / f"playground_{name}.yaml")
    probe = probe_of_scene(scene)
    assert probe.n_dims == 2 and input_names(scene.task, scene.net, probe) == ["P dx", "P dy"]
    shown = scene.task.clamps[:, 0]
    assert np.all(probe.lo < shown.min(axis=0)) and np.all(probe.hi > shown.max(axis=0))
    resp = free_response(scene.net, scene.task, probe, resolution=7)
    assert resp.values.shape == (7, 7, 2) and np.isfinite(resp.values).all()
