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
    assert "train accuracy by class: 0 " in out


def test_check_agrees_with_the_gradient_worked_out_by_hand(capsys):
    """Two springs in a line, anchor -k1- out -k2- in, the input moved by u, the output asked to
    move by t: every equilibrium is x = (k1 + k2 (1 + u) + b (1 + t)) / (k1 + k2 + b) under a nudge
    b, so the exact gradient and every rule's estimate are known in closed form. `check` must
    print those errors (not merely something)."""
    import numpy as np

    assert main(["check", "two_springs", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    k1 = k2 = 1.0
    u, t = 0.5, 0.15  # example 0

    def x(b, target=1 + t):
        return (k1 + k2 * (1 + u) + b * target) / (k1 + k2 + b)

    def half_e2(xo):  # dE/dk of each spring: 1/2 e^2
        return 0.5 * np.array([(xo - 1) ** 2, (1 + u - xo) ** 2])

    x0 = x(0)
    exact = (x0 - 1 - t) * np.array([-k2 * u, k1 * u]) / (k1 + k2) ** 2
    for row in rows:
        b = row["beta"]
        one = (half_e2(x(b)) - half_e2(x0)) / b
        centered = (half_e2(x(b)) - half_e2(x(-b))) / (2 * b)
        clamped = x0 + b * (1 + t - x0)  # coupled: the output held eta of the way
        coupled = (half_e2(clamped) - half_e2(x0)) / b
        limit = exact * (k1 + k2)  # one quantity: the gradient over its compliance 1 / (k1 + k2)
        for key, est, ref in (("one_sided", one, exact), ("centered", centered, exact), ("coupled", coupled, limit)):
            want = np.linalg.norm(est - ref) / np.linalg.norm(ref)
            if want > 1e-7:  # above round-off
                assert row[f"rel_err_{key}"] == pytest.approx(want, rel=1e-3), (b, key)
            cosine = est @ exact / np.linalg.norm(est) / np.linalg.norm(exact)
            assert row[f"cosine_{key}"] == pytest.approx(cosine, abs=1e-9), (b, key)


def test_check_marks_a_centered_row_that_fell_back_to_one_sided(capsys):
    """Regression at beta 0.1: the negative nudge flips the network, centered EP uses one-sided."""
    assert main(["check", "regression"]) == 0
    lines = capsys.readouterr().out.splitlines()
    first = next(line for line in lines if line.strip().startswith("1e-01"))
    assert "*|" in first.replace(" ", "")
    numbers = first.replace("*", " ").replace("|", " ").split()
    assert numbers[1:3] == numbers[3:5]  # centered printed equal to one-sided: it says why
    assert any(line.startswith("* centered EP fell back to one-sided") for line in lines)
    assert sum("*" in line for line in lines if line.strip()[:1].isdigit()) == 1


def test_validate_checks_a_sweep_file_as_a_sweep(tmp_path, capsys):
    good = tmp_path / "sweep.yaml"
    good.write_text(f"scenes: [{SCENES / 'xor.yaml'}]\ngrid: {{beta: [1e-3, 1e-2], seed: [0, 1]}}\nepochs: 3\n")
    assert main(["validate", str(good)]) == 0
    assert "ok: " in (out := capsys.readouterr().out) and "a sweep: 4 runs over 1 scene(s)" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"scenes: [{SCENES / 'xor.yaml'}]\ngrid: {{betta: [1e-3]}}\n")
    assert main(["validate", str(bad)]) == 2
    out = capsys.readouterr().out
    assert "unknown override 'betta' (did you mean 'beta'?)" in out and "network" not in out


def test_help_names_the_command_that_was_run(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["/somewhere/bin/spring-sandbox", "--help"])
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "usage: spring-sandbox" in out and "spring-sandbox COMMAND --help" in out
    assert "python main.py" not in out
    monkeypatch.setattr("sys.argv", ["main.py"])
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "python main.py COMMAND --help" in capsys.readouterr().out
