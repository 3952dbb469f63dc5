"""Scene files: every mistake named with its place; load -> save -> load keeps the numbers."""

import textwrap
from pathlib import Path

import numpy as np
import pytest

from sandbox.scenes.build import load_scene
from sandbox.scenes.messages import SceneError
from sandbox.scenes.save import save_scene

SCENES = sorted((Path(__file__).parent.parent / "scenes").glob("*.yaml"))

GOOD = """\
name: t
network:
  nodes:
    - {id: a, pos: [0, 0], role: fixed}
    - {id: b, pos: [1, 0], role: output}
    - {id: c, pos: [1, 1], role: input}
    - {id: d, pos: [0, 1], role: fixed}
  springs:
    - {between: [a, b]}
    - {between: [b, c]}
    - {between: [c, d]}
    - {between: [a, c]}
    - {between: [b, d]}
task:
  input: x
  output: x
  examples:
    - {inputs: [0.1], targets: [0.05]}
"""


def write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def problems_of(tmp_path, text):
    with pytest.raises(SceneError) as exc:
        load_scene(write(tmp_path, text))
    return exc.value.problems


def test_good_scene_loads(tmp_path):
    sc = load_scene(write(tmp_path, GOOD))
    assert sc.net.n_nodes == 4 and sc.net.n_springs == 5
    assert sc.net.L[0] == pytest.approx(1.0)  # rest length defaults to the initial distance
    assert sc.task.n_examples == 1


@pytest.mark.parametrize("path", SCENES, ids=[p.stem for p in SCENES])
def test_every_shipped_scene_is_valid(path):
    sc = load_scene(path)
    assert sc.net.n_springs > 0
    assert sc.spec.description


def test_unknown_key_gets_did_you_mean_and_line(tmp_path):
    probs = problems_of(tmp_path, GOOD.replace("name: t", "name: t\nlearnig: {lr: 1}"))
    assert len(probs) == 1
    assert "line 2" in probs[0] and "learnig" in probs[0] and "did you mean 'learning'" in probs[0]


def test_all_problems_reported_at_once(tmp_path):
    text = GOOD.replace("{between: [a, b]}", "{between: [a, zz]}").replace(
        "{id: d, pos: [0, 1], role: fixed}", "{id: a, pos: [0, 1], role: fixed}")
    probs = problems_of(tmp_path, text)
    joined = "\n".join(probs)
    assert "duplicate node id 'a'" in joined
    assert "no node with id 'zz'" in joined
    assert len(probs) >= 2


@pytest.mark.parametrize("change,expected", [
    (("k: 1.0", "k: -2"), None),
    (("pos: [1, 0]", "pos: [1, .nan]"), "finite"),
    (("pos: [1, 0]", "pos: [1, 0, 3]"), "pos"),
    (("role: output}", "role: outptu}"), "outptu"),
    (("input: x\n", "input: sideways\n"), "sideways"),
    (("targets: [0.05]", "targets: [0.05, 0.1]"), "2 targets for 1 outputs"),
])
def test_wrong_values_are_named(tmp_path, change, expected):
    text = GOOD.replace("- {between: [a, b]}", "- {between: [a, b], k: 1.0}").replace(*change)
    probs = problems_of(tmp_path, text)
    assert probs
    if expected:
        assert expected in "\n".join(probs)


def test_node_both_fixed_and_input_is_refused(tmp_path):
    text = """\
    name: t
    network:
      generate: {kind: triangular, rows: 3, cols: 3}
      roles: {fixed: [bottom_row], input: [n0], output: [n8]}
    task: {input: x, output: x, examples: [{inputs: [0.1], targets: [0.1]}]}
    """
    assert "cannot be both fixed and input" in "\n".join(problems_of(tmp_path, text))


def test_floating_and_floppy_nodes_are_named(tmp_path):
    text = GOOD.replace("    - {id: d, pos: [0, 1], role: fixed}",
                        "    - {id: d, pos: [0, 1], role: fixed}\n    - {id: e, pos: [5, 5]}\n    - {id: f, pos: [6, 5]}")
    text = text.replace("    - {between: [b, d]}", "    - {between: [b, d]}\n    - {between: [e, f]}")
    assert "nothing holds node(s) e, f" in "\n".join(problems_of(tmp_path, text))
    chain = """\
    name: chain
    network:
      nodes: [{id: a, pos: [0, 0], role: fixed}, {id: b, pos: [1, 0], role: output}, {id: c, pos: [2, 0], role: input}]
      springs: [{between: [a, b]}, {between: [b, c]}]
    task: {input: x, output: x, examples: [{inputs: [0.1], targets: [0.05]}]}
    """
    assert "floppy: node(s) b" in "\n".join(problems_of(tmp_path, chain))


def test_no_outputs(tmp_path):
    assert "no output nodes" in "\n".join(problems_of(tmp_path, GOOD.replace("role: output", "role: hidden")))


def test_csv_problems(tmp_path):
    base = """\
    name: t
    network:
      generate: {kind: triangular, rows: 3, cols: 4}
      roles: {fixed: [bottom_row], input: [n8, n9], output: [n10, n11]}
    task:
      input: x
      output: x
      classify: true
      csv: {file: data.csv, inputs: [a, b], label: c}
    """
    assert "not found" in "\n".join(problems_of(tmp_path, base))
    (tmp_path / "data.csv").write_text("a,b,c\n1,2,x\n3,zz,y\n")
    assert "'zz' is not a number" in "\n".join(problems_of(tmp_path, base))
    (tmp_path / "data.csv").write_text("a,q,c\n1,2,x\n")
    assert "no column(s) b" in "\n".join(problems_of(tmp_path, base))
    (tmp_path / "data.csv").write_text("a,b,c\n1,2,x\n3,4,y\n")
    assert load_scene(write(tmp_path, base)).task.n_examples == 2


@pytest.mark.parametrize("path", [p for p in SCENES if p.stem in ("two_springs", "allostery", "iris")],
                         ids=lambda p: p.stem)
def test_load_save_load_is_exact(tmp_path, path):
    sc = load_scene(path)
    before = path.read_bytes()
    sc.net.k = sc.net.k * np.random.default_rng(0).uniform(0.5, 2, sc.net.n_springs)  # learned values
    out = save_scene(sc, tmp_path / "sub" / "saved.yaml", origin={"scene": path.name, "epochs": 3})
    again = load_scene(out)
    assert path.read_bytes() == before  # loading and saving never touch the source
    for a in ("pos", "edges", "k", "L", "roles", "axes"):
        assert np.array_equal(getattr(again.net, a), getattr(sc.net, a)), a
    assert np.array_equal(again.task.clamps, sc.task.clamps)
    assert np.array_equal(again.task.targets, sc.task.targets)
    assert np.array_equal(again.task.train, sc.task.train)
    assert again.spec.origin["epochs"] == 3


def test_save_refuses_to_overwrite_the_source(tmp_path):
    p = write(tmp_path, GOOD)
    sc = load_scene(p)
    with pytest.raises(SceneError, match="refusing"):
        save_scene(sc, p)
    save_scene(sc, p, overwrite_source=True)
    assert load_scene(p).net.n_nodes == 4


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_numbers_inside_pairs_are_refused_with_their_place(tmp_path, value):
    text = GOOD.replace("examples:", f"examples:\n    - {{inputs: [[{value}, 0.1]], targets: [0.1]}}", 1)
    assert text != GOOD
    with pytest.raises(SceneError) as exc:
        load_scene(write(tmp_path, text))
    message = str(exc.value)
    assert "finite" in message and "task.examples[0].inputs" in message and "line " in message


def test_unknown_colour_and_panel_keys_are_refused_with_a_suggestion(tmp_path):
    text = GOOD + "view:\n  colors: {outptu: [1, 2, 3]}\n  panels: {descripton: false}\n"
    with pytest.raises(SceneError) as exc:
        load_scene(write(tmp_path, text))
    message = str(exc.value)
    assert "unknown colour 'outptu' (did you mean 'output'?)" in message
    assert "unknown panel 'descripton' (did you mean 'description'?)" in message


def test_the_colour_names_are_the_windows_palette():
    from sandbox.drawing.render import PALETTE
    from sandbox.scenes.schema import COLOR_NAMES

    assert set(COLOR_NAMES) == set(PALETTE)


def test_network_and_task_refuse_arrays_that_do_not_fit():
    from sandbox.learning.task import Task
    from sandbox.physics.network import FIXED, OUTPUT, Network

    pos, edges, roles = [[0, 0], [1, 0]], [[0, 1]], [FIXED, OUTPUT]
    with pytest.raises(ValueError, match=r"L\[0\] is nan, not finite"):
        Network(pos, edges, [1.0], [np.nan], roles)
    with pytest.raises(ValueError, match="k has 2 values for 1 springs"):
        Network(pos, edges, [1.0, 2.0], [1.0], roles)
    with pytest.raises(ValueError, match="outside 0..1"):
        Network(pos, [[0, 2]], [1.0], [1.0], roles)
    with pytest.raises(ValueError, match="clamps must be"):
        Task([0], np.zeros((3, 2, 2)), "position", [1], np.zeros((3, 1, 2)))
    with pytest.raises(ValueError, match="targets must be"):
        Task([0], np.zeros((3, 1, 2)), "position", [1], np.zeros((2, 1, 2)))
    with pytest.raises(ValueError, match="not finite"):
        Task([0], np.full((1, 1, 2), np.nan), "position", [1], np.zeros((1, 1, 2)))
