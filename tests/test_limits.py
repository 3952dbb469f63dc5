"""Every limit is a boundary: exactly at it is accepted, one past it is refused (the refusals
alone are tested elsewhere; a limit off by one would pass them)."""

import io
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from sandbox.scenes import csv_data
from sandbox.scenes.confine import UnsafeFile, read_text, text_lines
from sandbox.scenes.schema import Generate, LearningSpec, Lesson, LessonStep, NodeSpec, SpringSpec

ROOT = Path(__file__).resolve().parent.parent


def _read(text: str):
    lines = text_lines(io.BufferedReader(io.BytesIO(text.encode())), csv_data.MAX_CSV_BYTES,
                       csv_data.MAX_LINE_BYTES, csv_data.WHAT, unit="row")
    return csv_data.read_columns(lines, ["c0"], "c1")


@pytest.mark.parametrize("columns, ok", [(1_000, True), (1_001, False)])
def test_csv_columns_at_the_limit(columns, ok):
    assert csv_data.MAX_COLUMNS == 1_000
    header = ",".join(f"c{i}" for i in range(columns))
    row = ",".join(["1.5", "a"] + ["0"] * (columns - 2))
    if ok:
        values, labels = _read(f"{header}\n{row}\n{row}\n")
        assert values.shape == (2, 1) and labels.tolist() == [0, 0]
    else:
        with pytest.raises(csv_data.CsvProblem, match="row 1: 1,001 columns; CSV files are limited to 1,000"):
            _read(f"{header}\n{row}\n")


@pytest.mark.parametrize("rows, ok", [(100_000, True), (100_001, False)])
def test_csv_rows_at_the_limit(rows, ok):
    assert csv_data.MAX_ROWS == 100_000
    text = "c0,c1\n" + "1,x\n" * rows
    if ok:
        assert _read(text)[0].shape == (100_000, 1)
    else:
        with pytest.raises(csv_data.CsvProblem, match="more than 100,000 rows"):
            _read(text)


@pytest.mark.parametrize("extra, ok", [(0, True), (1, False)])
def test_a_csv_line_at_the_limit(extra, ok):
    """A row of exactly MAX_LINE_BYTES bytes, its newline included."""
    pad = csv_data.MAX_LINE_BYTES - len("1,x,\n") + extra
    text = "c0,c1,c2\n1,x," + "7" * pad + "\n"
    if ok:
        assert _read(text)[0].tolist() == [[1.0]]
    else:
        with pytest.raises(UnsafeFile, match="row 2 is longer than 65,536 bytes"):
            _read(text)


@pytest.mark.parametrize("extra, ok", [(0, True), (1, False)])
def test_a_file_at_its_byte_limit(tmp_path, extra, ok):
    path = tmp_path / "f.yaml"
    path.write_bytes(b"a" * (1000 + extra))
    if ok:
        assert len(read_text(path, 1000)) == 1000
    else:
        with pytest.raises(UnsafeFile, match="limited to 1,000 bytes"):
            read_text(path, 1000)


@pytest.mark.parametrize("model, field, at, past", [
    (SpringSpec, "k", 1e9, 1e9 * (1 + 1e-12)),
    (SpringSpec, "rest", 1e6, 1e6 * (1 + 1e-12)),
    (NodeSpec, "pos", (1e6, -1e6), (1e6 * (1 + 1e-12), 0)),
    (Generate, "rows", 400, 401),
    (Generate, "nodes", 5000, 5001),
    (Generate, "coordination", 6.0, 6.0001),
    (LearningSpec, "max_change", 1.0, 1.0001),
    (LearningSpec, "epochs", 10_000_000, 10_000_001),
    (LearningSpec, "momentum", 0.0, -1e-12),
    (LessonStep, "text", "x" * 600, "x" * 601),
])
def test_scene_keys_at_their_limits(model, field, at, past):
    base = {SpringSpec: {"between": ["a", "b"]}, NodeSpec: {"id": "a", "pos": (0, 0)},
            Generate: {"kind": "triangular"}, LearningSpec: {}, LessonStep: {"text": "t"}}[model]
    adapter = TypeAdapter(model)  # a model, or a TypedDict (listed nodes and springs)
    value = adapter.validate_python({**base, field: at})
    assert (value[field] if isinstance(value, dict) else getattr(value, field)) == at
    with pytest.raises(ValidationError):
        adapter.validate_python({**base, field: past})


def test_a_lesson_of_exactly_a_hundred_steps():
    steps = [{"text": f"step {i}"} for i in range(100)]
    assert len(Lesson.model_validate({"steps": steps}).steps) == 100
    with pytest.raises(ValidationError):
        Lesson.model_validate({"steps": steps + [{"text": "one more"}]})
