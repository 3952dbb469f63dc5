"""Every shipped scene trains to its own promise (`expect`), as `python main.py train` does."""

from pathlib import Path

import pytest

from sandbox.runner import train_scene
from sandbox.scenes.build import load_scene

SCENES = [pytest.param(p, id=p.stem) for p in sorted((Path(__file__).parent.parent / "scenes").glob("*.yaml"))]


@pytest.mark.slow
@pytest.mark.parametrize("path", SCENES)
def test_scene_keeps_its_promise(path):
    scene = load_scene(path)
    assert scene.spec.expect.model_dump(exclude_none=True), "every scene promises something"
    result = train_scene(scene, progress=False)
    assert not result.stopped, result.stopped
    assert result.met, result.verdict


def test_xor_is_not_solved_before_it_learns():
    from sandbox.learning.trainer import Trainer

    scene = load_scene(Path(__file__).parent.parent / "scenes" / "xor.yaml")
    assert Trainer.from_scene(scene).record()["accuracy"] == 0.5  # the library test shows it reaches 1.0
