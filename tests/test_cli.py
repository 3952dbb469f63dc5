"""The command line: help for each command, clear errors with exit 2, train/check/validate work."""

import json
from pathlib import Path

import pytest

from sandbox.cli import main

SCENES = Path(__file__).parent.parent / "scenes"


@pytest.mark.parametrize("cmd", [[], ["run"], ["train"], ["check"], ["validate"], ["bench"]])
def test_every_command_explains_itself(cmd, capsys):
    with pytest.raises(SystemExit) as exc:
        main(cmd + ["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage:" in out and len(out) > 200


def test_run_without_display_says_how_to_train_headless(capsys, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    assert main([str(SCENES / "two_springs.yaml")]) == 2
    err = capsys.readouterr().err
    assert "No display" in err and "python main.py train" in err


@pytest.mark.parametrize("args", [["train", "nope.yaml"], ["validate", "nope.yaml"], ["check", "nope.yaml"],
                                  ["nope.yaml"]])
def test_missing_file_is_a_clear_error(args, capsys):
    assert main(args) == 2
    captured = capsys.readouterr()
    assert "nope.yaml" in captured.err + captured.out and "Traceback" not in captured.err


def test_bad_flag_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", str(SCENES / "two_springs.yaml"), "--epochs", "zero"])
    assert exc.value.code == 2
    assert "not a whole number" in capsys.readouterr().err


def test_train_writes_its_outputs_and_says_whether_the_promise_is_met(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(SCENES / "two_springs.yaml"), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out.strip().splitlines()
    assert text[-1].startswith("promise met")
    for name in ("trained.yaml", "history.csv", "loss.png", "network.png"):
        assert (out / name).stat().st_size > 0
    # the trained scene opens like any other, and keeps its promise from where it is
    assert main(["validate", str(out / "trained.yaml")]) == 0
    assert main(["train", str(out / "trained.yaml"), "--epochs", "1", "--out", str(tmp_path / "again"), "--quiet"]) == 0


def test_train_exits_1_when_the_promise_is_not_met(tmp_path, capsys):
    assert main(["train", str(SCENES / "two_springs.yaml"), "--epochs", "1", "--out", str(tmp_path), "--quiet"]) == 1
    assert "promise NOT met" in capsys.readouterr().out.strip().splitlines()[-1]


def test_check_json_rows(capsys):
    assert main(["check", str(SCENES / "allostery.yaml"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) >= 4
    assert {"beta", "rel_err_one_sided", "rel_err_centered", "cosine_one_sided", "cosine_centered"} <= set(rows[0])
    small = min(rows, key=lambda r: r["beta"])
    assert small["rel_err_centered"] < 1e-4 and small["cosine_centered"] > 0.9999


def test_validate_reports_bad_files_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nnetwork: {}\ntask: {}\n")
    assert main(["validate", str(SCENES / "two_springs.yaml"), str(bad)]) == 2
    out = capsys.readouterr().out
    assert "ok:" in out and "invalid:" in out and "bad.yaml" in out


def test_train_compare_prints_ep_the_exact_gradient_and_the_linear_baseline(tmp_path, capsys):
    assert main(["train", str(SCENES / "xor.yaml"), "--epochs", "2", "--compare", "--quiet", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    ep = next(line for line in out.splitlines() if "centered EP:" in line)
    exact = next(line for line in out.splitlines() if "exact gradient:" in line)
    assert "train loss" in ep and "train loss" in exact and ep.split(":")[1] != ""
    assert "linear classifier" in out and "least squares" in out and "nan" not in out
    logit = next(line for line in out.splitlines() if "logistic regression" in line)
    assert "5-fold CV" in logit and "train accuracy" in logit
    assert "train accuracy by class: 0 " in out
