"""Every shipped scene trains to its own promise (`expect`), as `python main.py train` does."""

from pathlib import Path

import pytest

from sandbox.runner import train_scene
from sandbox.scene import load_scene

NOT_YET = {"xor": "XOR is not learned yet: 75% at best, unstable (see scenes/xor.yaml and the README)"}
SCENES = [pytest.param(p, id=p.stem, marks=pytest.mark.xfail(reason=NOT_YET[p.stem], run=False))
          if p.stem in NOT_YET else pytest.param(p, id=p.stem)
          for p in sorted((Path(__file__).parent.parent / "scenes").glob("*.yaml"))]


@pytest.mark.slow
@pytest.mark.parametrize("path", SCENES)
def test_scene_keeps_its_promise(path):
    scene = load_scene(path)
    assert scene.spec.expect.model_dump(exclude_none=True), "every scene promises something"
    result = train_scene(scene, progress=False)
    assert not result.stopped, result.stopped
    assert result.met, result.verdict
