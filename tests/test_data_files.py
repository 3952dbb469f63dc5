"""Hostile data files named in a scene: each is refused with exit code 2 and a message naming the
key and the rule, no traceback, nothing of the target file in the output, and the reader stops
after a bounded number of bytes whatever the file holds."""

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from sandbox.cli import main
from sandbox.paths import ASSETS, ROOT, SCENES
from sandbox.scenes import csv_data
from sandbox.scenes.build import build_scene, load_scene
from sandbox.scenes.confine import UnsafeFile, confined_path, read_text, text_lines
from sandbox.scenes.messages import SceneError
from sandbox.scenes.save import save_scene

SECRET = "SECRET-b7e1c4"  # in every file a scene must not reach; never in any output
RULE = "must lie in its folder (or below it) or in assets/"

SCENE = """\
name: data
network:
  generate: {kind: triangular, rows: 3, cols: 4}
  roles: {fixed: [bottom_row], input: [n8, n9], output: [n10, n11]}
task:
  input: x
  output: x
  classify: true
  csv: {file: %s, inputs: [a, b], label: c%s}
"""


def scene_naming(folder: Path, name: str, classes: str = "", stem: str = "s") -> Path:
    p = folder / f"{stem}.yaml"
    p.write_text(SCENE % (yaml.safe_dump(name, default_style='"').strip(), classes))
    return p


@pytest.fixture
def folders(tmp_path):
    """(scene folder, outside folder): the outside holds a secret CSV, the scene folder two
    symbolic links out of it (to the secret and to this process's environment)."""
    inside, outside = tmp_path / "scene", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    (outside / "secret.csv").write_text(f"a,b,c\n1,2,{SECRET}\n")
    (inside / "link.csv").symlink_to(outside / "secret.csv")
    (inside / "env.csv").symlink_to("/proc/self/environ")
    (inside / "sub").mkdir()
    return inside, outside


def validate(capsys, path) -> tuple[int, str]:
    code = main(["validate", str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


ESCAPES = [
    ("absolute", lambda outside: str(outside / "secret.csv"), "is an absolute path"),
    ("dotdot", lambda outside: "../outside/secret.csv", "leads out of the scene's folder with '..'"),
    ("dotdot-below", lambda outside: "sub/../../outside/secret.csv", "with '..'"),
    ("symlink", lambda outside: "link.csv", "is a symbolic link that leads out"),
    ("proc", lambda outside: "/proc/self/environ", "is an absolute path"),
    ("proc-dotdot", lambda outside: "../" * 30 + "proc/self/environ", "with '..'"),
    ("proc-symlink", lambda outside: "env.csv", "is a symbolic link that leads out"),
]


@pytest.mark.parametrize("kind,name,expect", ESCAPES, ids=[e[0] for e in ESCAPES])
def test_names_that_lead_out_are_refused_naming_key_and_rule(folders, capsys, kind, name, expect):
    inside, outside = folders
    code, out = validate(capsys, scene_naming(inside, name(outside)))
    assert code == 2
    assert "task.csv.file" in out and expect in out and RULE in out
    assert SECRET not in out and "Traceback" not in out


def test_inside_the_folder_and_in_assets_is_allowed(folders, tmp_path):
    inside, outside = folders
    (inside / "sub" / "d.csv").write_text("a,b,c\n1,2,x\n3,4,y\n")
    (inside / "in.csv").symlink_to(inside / "sub" / "d.csv")  # a link that stays inside
    for name in ("sub/d.csv", "./sub/d.csv", "sub/../sub/d.csv", "in.csv"):
        assert load_scene(scene_naming(inside, name)).task.n_examples == 2, name
    assert confined_path("iris.csv", inside) == (ASSETS / "iris.csv").resolve()
    # saved scenes of older versions name the asset from saved/ or runs/x/: it lands in assets/
    assert confined_path("../assets/iris.csv", ROOT / "saved") == (ASSETS / "iris.csv").resolve()
    assert confined_path("../../assets/iris.csv", ROOT / "runs" / "x") == (ASSETS / "iris.csv").resolve()
    with pytest.raises(UnsafeFile, match="with '..'"):
        confined_path("../assets/iris.csv", tmp_path / "elsewhere")
    os.mkfifo(inside / "pipe.csv")  # would block a reader for ever
    with pytest.raises(UnsafeFile, match="not a regular file"):
        confined_path("pipe.csv", inside)
    with pytest.raises(UnsafeFile, match="not a regular file"):
        confined_path("sub", inside)


def test_old_saved_references_to_assets_still_load():
    raw = yaml.safe_load((SCENES / "iris.yaml").read_text())
    for where, ref in ((ROOT / "saved" / "old.yaml", "../assets/iris.csv"),
                       (ROOT / "runs" / "x" / "trained.yaml", "../../assets/iris.csv")):
        raw["task"]["csv"]["file"] = ref
        assert build_scene(raw, where).task.n_examples == 150


def _hostile_contents(folder: Path) -> dict:
    """name: (writer, expected words): files inside the scene folder that break a CSV limit."""
    def sparse(p):  # 100 MB of nothing, made in no time
        with open(p, "wb") as fh:
            fh.truncate(100_000_000)

    def wide(p):  # a million columns: one header line of 6.9 MB
        with open(p, "w") as fh:
            fh.write(",".join(f"c{i}" for i in range(1_000_000)) + f",{SECRET}\n")

    def long_line(p):  # one line of 10 MB
        with open(p, "wb") as fh:
            fh.write(b"a,b,c\n1,")
            fh.write(SECRET.encode() * (10_000_000 // len(SECRET)))
            fh.write(b",x\n")

    return {
        "big.csv": (sparse, "file is 100 MB; CSV files are limited to 20 MB"),
        "wide.csv": (wide, "row 1 is longer than 65,536 bytes"),
        "line.csv": (long_line, "row 2 is longer than 65,536 bytes"),
        "nul.csv": (lambda p: p.write_bytes(f"a,b,c\n1,2,x\n3,{SECRET}\0,y\n".encode()),
                    "row 3, column 16: a NUL byte"),
        "latin1.csv": (lambda p: p.write_bytes(b"a,b,c\n1,2,caf\xe9\n"), "row 2, column 8: not UTF-8"),
        "rows.csv": (lambda p: p.write_text("a,b,c\n" + "1,2,x\n" * 100_001),
                     "row 100,002: more than 100,000 rows"),
        "cols.csv": (lambda p: p.write_text(",".join(f"c{i}" for i in range(1001)) + f"\n{SECRET}\n"),
                     "row 1: 1,001 columns; CSV files are limited to 1,000"),
        "empty.csv": (lambda p: p.write_text(""), "has no rows"),
        "header.csv": (lambda p: p.write_text("a,b,c\n\n"), "has no rows"),
    }


def test_csv_limits_each_refused_with_file_row_and_column(folders, capsys):
    inside, _ = folders
    for name, (write, expect) in _hostile_contents(inside).items():
        write(inside / name)
        code, out = validate(capsys, scene_naming(inside, name))
        assert code == 2, name
        assert f"task.csv.file: CSV '{name}': {expect}" in out, out
        assert SECRET not in out and "Traceback" not in out


def test_through_main_py_in_a_process_of_its_own(folders):
    """The real command line on every hostile scene at once, with a secret in the environment
    that /proc/self/environ would show: exit 2, one message per scene, nothing leaked."""
    inside, outside = folders
    scenes = [scene_naming(inside, name(outside), stem=kind) for kind, name, _ in ESCAPES]
    for name, (write, _) in _hostile_contents(inside).items():
        write(inside / name)
        scenes.append(scene_naming(inside, name, stem=name.removesuffix(".csv")))
    env = dict(os.environ, SANDBOX_SECRET=SECRET)
    res = subprocess.run([sys.executable, str(ROOT / "main.py"), "validate", *map(str, scenes)],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert res.returncode == 2
    assert res.stdout.count("invalid: ") == len(scenes) and "ok:" not in res.stdout
    assert SECRET not in res.stdout + res.stderr and "Traceback" not in res.stdout + res.stderr


class CountingStream(io.RawIOBase):
    """An endless (or given) byte source that counts what is read from it, like a file under
    /proc that says it is empty and never ends."""

    def __init__(self, chunk: bytes, total: int | None = None):
        self.chunk, self.total, self.read_bytes = chunk, total, 0

    def readable(self):
        return True

    def readinto(self, b):
        n = len(b) if self.total is None else min(len(b), self.total - self.read_bytes)
        start = self.read_bytes % len(self.chunk)
        b[:n] = (self.chunk * (n // len(self.chunk) + 2))[start:start + n]
        self.read_bytes += n
        return n


@pytest.mark.parametrize("chunk,total,expect,most", [
    (b"x" * 1000, 10_000_000, "longer than 65,536 bytes", 100_000),     # one 10 MB line
    (b"c," * 500, 2_000_000, "longer than 65,536 bytes", 100_000),      # a million columns
    (b"\0", None, "a NUL byte", 100_000),                                # /dev/zero
    (b"1,2,x\n", None, "more than 100,000 rows", 1_000_000),            # rows for ever
    (b"1,2," + b"7" * 60_000 + b"\n", None, "over 20 MB", 21_000_000),  # long rows for ever
], ids=["10 MB line", "million columns", "zeros for ever", "rows for ever", "long rows for ever"])
def test_the_reader_stops_early(chunk, total, expect, most):
    stream = CountingStream(chunk, total)
    lines = text_lines(io.BufferedReader(stream), csv_data.MAX_CSV_BYTES, csv_data.MAX_LINE_BYTES,
                       csv_data.WHAT, unit="row")
    with pytest.raises((UnsafeFile, csv_data.CsvProblem), match=expect):
        csv_data.read_columns(lines, ["1"], "2")
    assert stream.read_bytes < most


def test_a_scene_file_is_read_no_further_than_its_bound(tmp_path):
    with pytest.raises(UnsafeFile, match="not a regular file"):
        read_text("/dev/zero", 1000)
    with pytest.raises(UnsafeFile, match="limited to"):
        read_text("/proc/self/maps", 10)  # says 0 bytes, holds more: read 11 bytes at most
    with pytest.raises(SceneError, match="not a regular file"):
        load_scene("/dev/zero")


def test_messages_quote_only_short_excerpts(folders, capsys):
    inside, _ = folders
    names = [f"{'N' * 200}{i}" for i in range(200)]
    (inside / "names.csv").write_text(",".join(names) + "\n1\n")
    code, out = validate(capsys, scene_naming(inside, "names.csv"))
    assert code == 2 and "has no column(s) a, b, c; its 200 columns are" in out and "and 188 more" in out
    assert max(len(line) for line in out.splitlines()) < 800 and "N" * 40 not in out
    (inside / "cls.csv").write_text(f"a,b,c\n1,2,\x1b[2J{'Z' * 300}\n")
    code, out = validate(capsys, scene_naming(inside, "cls.csv", classes=", classes: [p, q]"))
    assert code == 2 and "task.csv.classes" in out and "row 2, column 3 'c': class '\\x1b[2J" in out
    assert "\x1b" not in out and "Z" * 40 not in out
    (inside / "nan.csv").write_text("a,b,c\n1,nan,x\n")
    assert "row 2, column 2 'b': not a finite number" in validate(capsys, scene_naming(inside, "nan.csv"))[1]
    code, out = validate(capsys, scene_naming(inside, "x" * 10_000 + ".csv"))
    assert code == 2 and "not found" in out and len(out) < 600


def test_a_utf8_byte_order_mark_and_crlf_are_read(folders):
    inside, _ = folders
    (inside / "bom.csv").write_bytes("\ufeffa,b,c\r\n1,2,x\r\n3,4,y\r\n".encode())
    sc = load_scene(scene_naming(inside, "bom.csv"))
    assert sc.task.n_examples == 2


def test_trained_iris_opens_from_its_run_folder_and_a_saved_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(SCENES / "iris.yaml"), "--epochs", "1", "--quiet", "--out", str(out)]) in (0, 1)
    trained = out / "trained.yaml"
    assert yaml.safe_load(trained.read_text())["task"]["csv"]["file"] == "iris.csv"
    assert main(["validate", str(trained)]) == 0
    again = save_scene(load_scene(trained), tmp_path / "saved" / "iris-1.yaml")
    assert yaml.safe_load(again.read_text())["task"]["csv"]["file"] == "iris.csv"
    assert load_scene(again).task.n_examples == 150
    capsys.readouterr()


def test_a_users_csv_travels_with_the_saved_scene(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    (a / "data.csv").write_text("a,b,c\n1,2,x\n3,4,y\n5,6,x\n")
    sc = load_scene(scene_naming(a, "data.csv"))
    first = save_scene(sc, b / "one.yaml")
    assert (b / "data.csv").read_bytes() == (a / "data.csv").read_bytes()
    assert yaml.safe_load(first.read_text())["task"]["csv"]["file"] == "data.csv"
    np.testing.assert_array_equal(load_scene(first).task.clamps, sc.task.clamps)
    save_scene(sc, b / "two.yaml")  # the same file is there already: no second copy
    assert sorted(p.name for p in b.iterdir()) == ["data.csv", "one.yaml", "two.yaml"]
    (b / "data.csv").write_text("a,b,c\n9,9,x\n")  # another file of that name: a new name
    third = save_scene(sc, b / "three.yaml")
    assert yaml.safe_load(third.read_text())["task"]["csv"]["file"] == "data-2.csv"
    np.testing.assert_array_equal(load_scene(third).task.clamps, sc.task.clamps)
    (b / "iris.csv").write_text("a,b,c\n1,2,x\n")  # shadows the asset for scenes saved in b/
    iris = load_scene(SCENES / "iris.yaml")
    kept = save_scene(iris, b / "iris.yaml")
    assert yaml.safe_load(kept.read_text())["task"]["csv"]["file"] == "iris-2.csv"
    np.testing.assert_array_equal(load_scene(kept).task.clamps, iris.task.clamps)
