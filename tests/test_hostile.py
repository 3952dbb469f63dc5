"""Hostile scene files: every malformed document is refused with a SceneError (exit 2 from the
CLI), never another exception, a hang or a blow-up of memory."""

import copy
import math
import resource

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sandbox.cli import main
from sandbox.scenes.build import load_scene
from sandbox.scenes.messages import SceneError

BASE = {
    "name": "fuzz",
    "network": {
        "nodes": [{"id": "a", "pos": [0, 0], "role": "fixed"}, {"id": "b", "pos": [1, 0], "role": "output"},
                  {"id": "c", "pos": [1, 1], "role": "input"}, {"id": "d", "pos": [0, 1], "role": "fixed"}],
        "springs": [{"between": ["a", "b"]}, {"between": ["b", "c"]}, {"between": ["c", "d"]},
                    {"between": ["a", "c"]}, {"between": ["b", "d"], "k": 2.0}],
    },
    "task": {"input": "x", "output": "x", "examples": [{"inputs": [0.1], "targets": [0.05]}]},
    "learning": {"rule": "centered", "beta": 0.001, "lr": 1.0, "epochs": 3},
    "expect": {"loss_below": 0.1},
}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.text(max_size=8),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([1e308, -1e308, 0, -1, 10**40, "", "nan", "a", "zz"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                      max_leaves=12)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(BASE) if p]


@st.composite
def mutated(draw):
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(PATHS))
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = draw(st.sampled_from(["replace", "delete", "extra", "nest"]))
            if action == "replace":
                parent[path[-1]] = draw(values)
            elif action == "delete":
                del parent[path[-1]]
            elif action == "extra" and isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=8))] = draw(values)
            elif action == "nest":
                deep = draw(values)
                for _ in range(draw(st.integers(1, 60))):
                    deep = [deep]
                parent[path[-1]] = deep
        except (KeyError, IndexError, TypeError):
            pass
    return doc


@given(doc=mutated())
def test_malformed_documents_raise_only_scene_errors(tmp_path_factory, doc):
    path = tmp_path_factory.getbasetemp() / "fuzz.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    try:
        load_scene(path)
    except SceneError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)


@pytest.mark.parametrize("content,expect", [
    (b"", "empty"),
    (b"\x00\x01\x02binary", "binary"),
    (b"name: caf\xe9\n", "not UTF-8"),
    (b"- just\n- a list\n", "mapping"),
    (b"name: [unclosed\n", "not valid YAML"),
    (b"name: !!python/object/apply:os.system ['echo hacked']\n", "not valid YAML"),
    (b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "aliases"),
])
def test_fixed_hostile_files(tmp_path, content, expect):
    p = tmp_path / "hostile.yaml"
    p.write_bytes(content)
    with pytest.raises(SceneError) as exc:
        load_scene(p)
    assert expect in str(exc.value)


def test_billion_laughs_is_refused_while_parsing_with_bounded_memory(tmp_path, monkeypatch):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    p = tmp_path / "bomb.yaml"
    p.write_text("\n".join(lines) + "\n")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with monkeypatch.context() as m:  # refused while parsing: the document is never built
        m.setattr(yaml, "safe_load", lambda *a, **k: pytest.fail("the bomb reached safe_load"))
        m.setattr(yaml, "compose", lambda *a, **k: pytest.fail("the bomb reached compose"))
        with pytest.raises(SceneError, match="aliases"):
            load_scene(p)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0 < 200_000  # kB


def test_directory_missing_and_huge_files(tmp_path):
    with pytest.raises(SceneError, match="directory"):
        load_scene(tmp_path)
    with pytest.raises(SceneError, match="no such file"):
        load_scene(tmp_path / "nope.yaml")
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * 25_000_000 + b"\n")
    with pytest.raises(SceneError, match="limited to"):
        load_scene(big)


def test_python_tags_are_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    p = tmp_path / "tag.yaml"
    p.write_text(f"name: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(SceneError):
        load_scene(p)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"\x00bin", b"name: caf\xe9\n", b"[1, 2]\n"])
def test_cli_exits_2_with_one_message(tmp_path, capsys, content):
    p = tmp_path / "bad.yaml"
    p.write_bytes(content)
    assert main(["validate", str(p)]) == 2
    assert main(["train", str(p), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "Traceback" not in err


def test_nan_and_huge_numbers_are_named(tmp_path):
    doc = copy.deepcopy(BASE)
    doc["network"]["springs"][0]["k"] = math.inf
    doc["learning"]["lr"] = float("nan")
    p = tmp_path / "n.yaml"
    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(SceneError) as exc:
        load_scene(p)
    text = "\n".join(exc.value.problems)
    assert "springs[0].k" in text and "learning.lr" in text


# ---------------------------------------------------------------- data-file references

SECRET = "SECRET-40c9e2"  # in a file outside the scene's folder: never in a message
INSIDE = "INSIDE-77d1"  # in the scene and its own data file: may be quoted, cut short
CSV_SCENE = {
    "name": "fuzz-csv",
    "network": {"generate": {"kind": "triangular", "rows": 3, "cols": 4},
                "roles": {"fixed": ["bottom_row"], "input": ["n8", "n9"], "output": ["n10", "n11"]}},
    "task": {"input": "x", "output": "x", "classify": True,
             "csv": {"file": "data.csv", "inputs": ["a", "b"], "label": "c"}},
}
NAMES = ["data.csv", "iris.csv", "link.csv", "env.csv", "sub", "sub/../data.csv", "../secret.csv",
         "../../secret.csv", "/etc/passwd", "/proc/self/environ", "/dev/zero", "~/data.csv", "", ".", "..",
         "data.csv\0.txt", "x" * 5000, "../assets/iris.csv", "./../scene/data.csv", "\\..\\secret.csv"]
CELLS = ["a", "b", "c", "x", "y", "1", "-2.5", "1e400", "nan", "inf", "", '"', '""', ",", "\n", "\r",
         "\0", "\t", "é", "\ufeff", "\x1b[2J", INSIDE, "9" * 50]
csv_text = st.lists(st.lists(st.sampled_from(CELLS), max_size=6), max_size=6).map(
    lambda rows: "\n".join(",".join(r) for r in rows))
contents = st.one_of(csv_text.map(lambda t: t.encode("utf-8")), st.binary(max_size=200),
                     csv_text.map(lambda t: ("a,b,c\n" + t).encode("utf-8")))
columns = st.lists(st.sampled_from(["a", "b", "c", "x", INSIDE, ""]), max_size=3)


def _data_folder(base):
    """base/scene (the scene's folder, with a link out) and base/secret.csv outside it."""
    scene = base / "scene"
    if not scene.exists():
        scene.mkdir()
        (scene / "sub").mkdir()
        (base / "secret.csv").write_text(f"a,b,c\n1,2,{SECRET}\n{SECRET},{SECRET},x\n")
        (scene / "link.csv").symlink_to(base / "secret.csv")
        (scene / "env.csv").symlink_to("/proc/self/environ")
    return scene


@given(name=st.one_of(st.sampled_from(NAMES), st.text(max_size=12)), content=contents,
       inputs=columns, label=st.sampled_from(["c", "a", INSIDE, ""]),
       classes=st.one_of(st.none(), st.lists(st.sampled_from(["x", "y", "z", INSIDE]), max_size=3)))
def test_data_file_references_raise_only_bounded_scene_errors(tmp_path_factory, name, content, inputs,
                                                              label, classes):
    """Any file name and any content: a scene or a SceneError whose messages are short and quote
    nothing of a file outside the scene's folder."""
    folder = _data_folder(tmp_path_factory.getbasetemp())
    (folder / "data.csv").write_bytes(content)
    doc = copy.deepcopy(CSV_SCENE)
    doc["task"]["csv"].update(file=name, inputs=inputs, label=label)
    if classes is not None:
        doc["task"]["csv"]["classes"] = classes
    path = folder / "fuzz.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    try:
        load_scene(path)
    except SceneError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        assert len(str(exc)) < 20_000
        for p in exc.problems:
            assert len(p) < 1_000 and SECRET not in p and "\x1b" not in p, p
