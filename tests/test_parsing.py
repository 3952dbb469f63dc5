"""Scene files are read in bounded time (issue 24, items 7, 8 and 10): one parse by libyaml into
the same data yaml.safe_load gives, with every key's line and column; deep nesting refused on the
text, lists and integers bounded; each refusal a message with its place, never a traceback."""

import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sandbox.scenes import build, yaml_source
from sandbox.scenes.build import load_scene
from sandbox.scenes.messages import Locator, SceneError
from sandbox.scenes.yaml_source import parse_yaml, read_document

ROOT = Path(__file__).parent.parent
SCENES = ROOT / "scenes"


def same(a, b) -> bool:
    """Equal data, types included (1 is not 1.0 nor True), nan equal to nan."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def composed_marks(text: str):
    """(key path, 'line L, column C: ') of every key and item, from PyYAML's own node tree; the
    keys as the document has them (yes: is True)."""
    construct = yaml.constructor.SafeConstructor()

    def walk(node, prefix):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = construct.construct_object(k)
                yield prefix + (key,), k.start_mark
                yield from walk(v, prefix + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                yield prefix + (i,), v.start_mark
                yield from walk(v, prefix + (i,))

    for loc, m in walk(yaml.compose(text, Loader=yaml.SafeLoader), ()):
        yield loc, f"line {m.line + 1}, column {m.column + 1}: "


# ---------------------------------------------------------------- the same data, one parse

SCALARS = ["1", "-2", "+3", "0", "007", "0x1F", "0o17", "0b101", "1_000", "1:30", "1.5", "-.5", ".5e+3", "1e5",
           "1.0e5", "1_0.2_5", "1__0.5", "190:20:30.15", ".inf", "-.Inf", ".NaN", "yes", "No", "ON", "off", "true",
           "False", "~", "null", "", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "n12", "'quoted 1'", '"2"',
           "a b", "=", "-", "9" * 40, "0x" + "f" * 12, "é", "!!str 12", "!!float '3'", "!!int '7'"]
plain = st.sampled_from(SCALARS)
keys = st.sampled_from(["a", "b", "id", "1", "yes", "~", "k", "pos", "0.5"])
documents = st.recursive(plain, lambda inner: st.one_of(
    st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
    st.dictionaries(keys, inner, max_size=4).map(lambda d: "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"),
), max_leaves=10)


@given(doc=documents, block=st.booleans())
def test_a_document_reads_as_safe_load_reads_it_with_the_place_of_every_key(doc, block):
    text = f"top: {doc}\nnext: [1, 2]\n"
    try:
        if block:  # the same in block style, as saves write it
            text = yaml.safe_dump(yaml.safe_load(text), default_flow_style=False)
        expected = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):
        with pytest.raises(SceneError):
            parse_yaml(text, "doc.yaml")
        return
    raw, marks = parse_yaml(text, "doc.yaml")
    assert same(raw, expected)
    locate = Locator(Path("doc.yaml"), raw, marks)
    for loc, where in composed_marks(text):
        if not marks.repeated_key:
            assert locate.at(loc).startswith(where), (loc, text)


def test_every_library_scene_reads_as_before_with_its_places(tmp_path):
    for path in sorted(SCENES.glob("*.yaml")):
        text = path.read_text()
        raw, marks = read_document(path)
        assert same(raw, yaml.safe_load(text))
        locate = Locator(path, raw, marks)
        for loc, where in composed_marks(text):
            assert locate.at(loc).startswith(where)


def test_a_repeated_key_keeps_its_last_value_and_messages_their_place(tmp_path):
    p = tmp_path / "twice.yaml"
    p.write_text((SCENES / "two_springs.yaml").read_text().replace("learning:\n", "learning:\n  lr: 1.0\n", 1)
                 .replace("  lr: 4.0", "  lr: -4.0"))
    with pytest.raises(SceneError) as exc:
        load_scene(p)
    line = next(i for i, t in enumerate(p.read_text().splitlines(), 1) if "lr: -4.0" in t)
    assert exc.value.problems == [f"line {line}, column 3: learning.lr: Input should be greater than 0"]


def test_a_scene_is_parsed_once(monkeypatch):
    made = []

    class Counting(yaml_source.LOADER):
        def __init__(self, text):
            made.append(1)
            super().__init__(text)

    monkeypatch.setattr(yaml_source, "LOADER", Counting)
    scene = load_scene(SCENES / "allostery.yaml")
    assert scene.net.n_nodes == 120 and len(made) == 1
    assert yaml_source.LOADER.__mro__[1] is getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# ---------------------------------------------------------------- bounds


class CountingLoader:
    """Wraps the loader, counting the events the builder takes."""

    taken = 0

    def __init__(self, text):
        self.inner = yaml.CSafeLoader(text)

    def get_event(self):
        CountingLoader.taken += 1
        return self.inner.get_event()

    def dispose(self):
        self.inner.dispose()


def test_deep_flow_nesting_is_refused_on_the_text_before_parsing(tmp_path, monkeypatch):
    p = tmp_path / "deep.yaml"
    p.write_text("name: " + "[" * 20_000 + "]" * 20_000 + "\n")
    monkeypatch.setattr(yaml_source, "LOADER", lambda text: pytest.fail("the parser saw the file"))
    with pytest.raises(SceneError) as exc:
        load_scene(p)
    assert exc.value.problems == ["line 1, column 107: more than 100 brackets [ or { open at once (counted on the "
                                  "text); scene files nest at most 100 deep"]


def test_deep_block_nesting_is_refused_after_a_hundred_levels(tmp_path, monkeypatch):
    p = tmp_path / "deep.yaml"
    p.write_text("name: x\nnetwork:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(3000)))
    CountingLoader.taken = 0
    monkeypatch.setattr(yaml_source, "LOADER", CountingLoader)
    with pytest.raises(SceneError) as exc:
        load_scene(p)
    assert exc.value.problems[0].startswith("line 102, column 201: network.k0.k1.")
    assert exc.value.problems[0].endswith("k98: nested deeper than 100 lists and mappings")
    assert CountingLoader.taken < 210  # a hundred levels read, not three thousand


def test_a_document_of_too_many_values_is_refused_while_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(yaml_source, "MAX_VALUES", 1_000)
    p = tmp_path / "many.yaml"
    p.write_text("name: x\ntask: {examples: [" + ", ".join(["0"] * 5_000) + "]}\n")
    CountingLoader.taken = 0
    monkeypatch.setattr(yaml_source, "LOADER", CountingLoader)
    with pytest.raises(SceneError) as exc:
        load_scene(p)
    # the root mapping, name, x, task, its mapping, examples and the list are 7 values
    assert exc.value.problems == ["line 2, column 2998: task.examples[993]: more than 1,000 values (numbers, names, "
                                  "lists, mappings); scene files are limited to 1,000"]
    assert CountingLoader.taken < 1_010


@pytest.mark.parametrize("key,entry", [(("network", "nodes"), "{id: n, pos: [0, 0]}"),
                                       (("network", "springs"), "{between: [a, b]}"),
                                       (("task", "examples"), "{inputs: [0], targets: [0]}")])
def test_long_lists_are_refused_at_their_limit_before_their_items_are_checked(tmp_path, monkeypatch, key, entry):
    monkeypatch.setitem(build.LIMITS, key, 5)
    doc = {"name": "x", "network": {"nodes": [], "springs": []}, "task": {"examples": []}}
    p = tmp_path / "long.yaml"
    for n, refused in ((5, False), (6, True)):
        doc[key[0]][key[1]] = ["ENTRY"] * n
        p.write_text(yaml.safe_dump(doc, default_flow_style=False).replace("ENTRY", entry))
        with pytest.raises(SceneError) as exc:
            load_scene(p)  # never valid: the point is which problem is said
        limit = f"{key[0]}.{key[1]}: {n} items; at most 5 are allowed here"
        if refused:
            assert len(exc.value.problems) == 1 and exc.value.problems[0].endswith(limit)
        else:
            assert limit not in "\n".join(exc.value.problems)


def test_limits_of_the_format_are_generous_and_hold_a_listed_50000_node_network():
    from sandbox.scenes.schema import MAX_EXAMPLES, MAX_NODES, MAX_SPRINGS

    assert (MAX_NODES, MAX_SPRINGS, MAX_EXAMPLES) == (100_000, 300_000, 100_000)
    per_node, per_spring = 9, 9  # {id: n1, pos: [x, y], role: r} and {between: [a, b], k: 1, rest: 1}
    assert 50_176 * per_node + 149_633 * per_spring < yaml_source.MAX_VALUES  # a 224 x 224 lattice, saved


@pytest.mark.parametrize("value,digits", [("9" * 41, 41), ("9" * 40, 40), ("-" + "1_2" * 20, 40),
                                          ("-" + "1_2" * 20 + "3", 41), ("0x" + "f" * 41, 41), ("0b" + "1" * 40, 40)])
def test_integers_of_more_than_40_digits_are_refused_with_their_place(value, digits):
    text = f"name: x\norigin: {{n: {value}}}\n"
    if digits <= 40:
        assert parse_yaml(text, "big.yaml")[0]["origin"]["n"] == yaml.safe_load(text)["origin"]["n"]
        return
    with pytest.raises(SceneError) as exc:
        parse_yaml(text, "big.yaml")
    assert exc.value.problems == [f"line 2, column 13: origin.n: an integer of {digits} digits; numbers in scene "
                                  "files have at most 40 digits"]


def test_a_40_digit_integer_is_a_number_and_a_seed_is_bounded(tmp_path):
    raw, _ = parse_yaml("id: " + "9" * 40 + "\n", "x.yaml")
    assert raw["id"] == int("9" * 40)
    p = tmp_path / "seed.yaml"
    p.write_text((SCENES / "two_springs.yaml").read_text().replace("seed: 1", "seed: " + "9" * 30))
    with pytest.raises(SceneError, match="line 9, column 1: seed: Input should be less than or equal to"):
        load_scene(p)


@pytest.mark.parametrize("text,problem", [
    ("a: 1\nb: {<<: {c: 2}}\n", "line 2, column 5: b: merge keys (<<) are not allowed in scene files"),
    ("a: !!set {x}\n", "line 1, column 4: a: not valid YAML: the tag 'tag:yaml.org,2002:set' is not allowed"),
    ("a: 2001-13-45\n", "line 1, column 4: a: not valid YAML: '2001-13-45' is not a valid timestamp"),
    ("a: 1\n---\nb: 2\n", "line 2, column 1: not valid YAML: a scene file holds one document"),
    ("? [a, b]\n: 1\n", "line 1, column 3: a list or mapping as a key is not allowed"),
])
def test_what_yaml_allows_and_scenes_do_not_is_named_with_its_place(text, problem):
    with pytest.raises(SceneError) as exc:
        parse_yaml(text, "x.yaml")
    assert exc.value.problems[0].startswith(problem)


def test_the_command_line_refuses_hostile_files_with_exit_2_and_no_traceback(tmp_path):
    """Items 7 and 10 as a user meets them: `validate` on a 20,000-deep flow list, a 5,000-digit
    seed and 2 MB of comments (each was a traceback or tens of seconds)."""
    (tmp_path / "deep.yaml").write_text("name: " + "[" * 20_000 + "]" * 20_000 + "\n")
    (tmp_path / "seed.yaml").write_text((SCENES / "two_springs.yaml").read_text().replace("seed: 1", "seed: " + "9" * 5000))
    (tmp_path / "comments.yaml").write_text("name: c\n" + ("# " + "x" * 78 + "\n") * 25_000)
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "validate", "deep.yaml", "seed.yaml", "comments.yaml"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr + out.stdout
    assert out.stdout.splitlines() == [
        "invalid: deep.yaml:", "  - line 1, column 107: more than 100 brackets [ or { open at once (counted on the "
        "text); scene files nest at most 100 deep",
        "invalid: seed.yaml:", "  - line 9, column 7: seed: an integer of 5,000 digits; numbers in scene files have "
        "at most 40 digits",
        "invalid: comments.yaml:", "  - network: this key is required", "  - task: this key is required"]
