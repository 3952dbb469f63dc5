"""Sweeps: the sweep file checked like a scene, runs on a real Dask LocalCluster, results that
survive a failing run, a killed worker and Ctrl+C, and a second invocation that resumes."""

import csv
import math
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.cli import main
from sandbox.scenes.build import load_scene
from sandbox.scenes.messages import SceneError
from sandbox.scenes.yaml_source import read_yaml
from sandbox.sweep import results as results_module
from sandbox.sweep.execute import run_sweep
from sandbox.sweep.spec import load_sweep
from sandbox.sweep.work import apply_overrides

distributed = pytest.importorskip("distributed")

SCENES = Path(__file__).parent.parent / "scenes"
GRID = "grid: {rule: [centered, one-sided], seed: [0, 1]}\n"


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0", silence_logs=50) as c:
        yield c


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster) as c:
        yield c


def sweep_file(folder: Path, body: str, scenes=("two_springs.yaml", "xor.yaml")) -> Path:
    """A sweep file in folder/sweeps/, its scenes copied into folder/scenes/ (named relatively)."""
    (folder / "scenes").mkdir(parents=True, exist_ok=True)
    for name in scenes:
        shutil.copy(SCENES / name, folder / "scenes" / name)
    path = folder / "sweeps" / "sweep.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"scenes: [{', '.join('../scenes/' + s for s in scenes)}]\n" + body)
    return path


def read_rows(out: Path) -> list[dict]:
    with (out / "results.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------- the sweep file


def test_two_scenes_two_rules_two_seeds_make_eight_runs_named_from_the_sweep_file(tmp_path):
    sweep = load_sweep(sweep_file(tmp_path, GRID + "epochs: 3\n"))
    assert len(sweep.runs) == 8
    assert {r.scene for r in sweep.runs} == {"../scenes/two_springs.yaml", "../scenes/xor.yaml"}
    assert {dict(r.overrides)["epochs"] for r in sweep.runs} == {3}
    assert len({r.id for r in sweep.runs}) == 8
    assert {r.id for r in load_sweep(sweep.path).runs} == {r.id for r in sweep.runs}  # stable ids


def test_scene_globs_resolve_next_to_the_sweep_file(tmp_path):
    path = sweep_file(tmp_path, "grid: {lr: [0.5]}\n")
    path.write_text("scenes: ['../scenes/*.yaml']\ngrid: {lr: [0.5]}\n")
    sweep = load_sweep(path)
    assert sorted(sweep.scenes) == ["../scenes/two_springs.yaml", "../scenes/xor.yaml"]


@pytest.mark.parametrize("body, expected", [
    ("scenes: [x.yaml]\ngrid: {betta: [1]}\n", ["line 2", "grid.betta", "unknown override 'betta'",
                                                "did you mean 'beta'"]),
    ("scenes: [x.yaml]\nepoch: 5\n", ["line 2", "unknown key 'epoch'", "did you mean 'epochs'"]),
    ("scenes: [x.yaml]\ngrid:\n  rule: [centred]\n", ["line 3", "grid.rule[0]", "centred"]),
    ("scenes: [x.yaml]\ngrid: {beta: []}\n", ["grid.beta", "at least 1"]),
    ("grid: {beta: [0.1]}\n", ["scenes: this key is required"]),
    ("scenes: [nothing/*.yaml]\n", ["line 1", "no scene file matches 'nothing/*.yaml'"]),
])
def test_sweep_file_problems_name_line_and_key(tmp_path, body, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    with pytest.raises(SceneError) as exc:
        load_sweep(path)
    text = str(exc.value)
    for part in expected:
        assert part in text, text


def test_a_bad_scene_and_a_clash_are_reported_together_and_the_cli_exits_2(tmp_path, capsys):
    path = sweep_file(tmp_path, "epochs: 3\ngrid: {epochs: [1, 2]}\n")
    (tmp_path / "scenes" / "xor.yaml").write_text("name: broken\nnetwork: {nodes: []}\n")
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "scene " in err and "task: this key is required" in err
    assert "'epochs' is also set for every run" in err
    assert not (tmp_path / "out").exists()  # nothing ran


def test_overrides_reach_the_rule_the_batch_and_a_regenerated_network():
    path = SCENES / "allostery.yaml"
    scene = load_scene(path)
    new, rule, epochs, seed = apply_overrides(read_yaml(path), path, {
        "rule": "one-sided", "beta": 0.02, "lr": 3.0, "learn": "both", "batch": 2, "epochs": 7, "seed": 11})
    assert (rule.kind, rule.beta, rule.lr, rule.learn) == ("one-sided", 0.02, 3.0, "both")
    assert new.spec.learning.batch == 2 and epochs == 7 and seed == 11 and new.spec.seed == 11
    assert not np.array_equal(new.net.pos, scene.net.pos)  # the generated network follows the seed
    same, rule0, epochs0, seed0 = apply_overrides(read_yaml(path), path, {})
    assert rule0 == scene.rule() and np.array_equal(same.net.pos, scene.net.pos)
    assert epochs0 is None and seed0 is None and same.spec.learning.batch == scene.spec.learning.batch


def test_sweep_explains_itself(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sweep", "--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0 and "--scheduler" in out and "results.csv" in out


def test_a_bad_scheduler_address_is_a_clear_error(tmp_path, capsys):
    path = sweep_file(tmp_path, "epochs: 1\n")
    assert main(["sweep", str(path), "--scheduler", "nonsense", "--out", str(tmp_path / "out")]) == 2
    assert "cannot reach the Dask scheduler nonsense" in capsys.readouterr().err


# ---------------------------------------------------------------- running on Dask


def test_cli_runs_eight_rows_locally_then_resumes_on_a_scheduler_without_redoing_them(tmp_path, capsys, cluster):
    path = sweep_file(tmp_path, GRID + "epochs: 3\n")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    rows = read_rows(out)
    assert len(rows) == 8 and {r["status"] for r in rows} == {"done"}
    assert {(r["scene"], r["rule"], r["seed"]) for r in rows} == {
        (f"../scenes/{s}", rule, seed) for s in ("two_springs.yaml", "xor.yaml")
        for rule in ("centered", "one-sided") for seed in ("0", "1")}
    for r in rows:
        assert r["epochs"] == "3" and r["epochs_done"] == "3" and r["worker"].startswith("tcp://")
        scene = load_scene(SCENES / Path(r["scene"]).name)  # every effective setting, not only the overridden
        assert (float(r["lr"]), float(r["beta"]), r["learn"], int(r["batch"]), float(r["k_max"]), r["engine"]) == \
            (scene.spec.learning.lr, scene.spec.learning.beta, scene.spec.learning.learn, scene.spec.learning.batch,
             scene.spec.learning.k_max, "exact")
        assert float(r["loss"]) < float(r["loss_start"])
        with (out / r["history"]).open() as fh:
            assert [int(h["epoch"]) for h in csv.DictReader(fh)] == [0, 1, 2, 3]
    assert (out / "sweep.yaml").read_text() == path.read_text()
    assert (out / "summary.png").stat().st_size > 5000
    text = capsys.readouterr().out
    assert "8 run(s) finished now, 0 were done before" in text and "rule=one-sided " in text and "epochs=3" not in text

    assert main(["sweep", str(path), "--out", str(out), "--scheduler", cluster.scheduler_address, "--quiet"]) == 0
    assert "0 run(s) finished now, 8 were done before" in capsys.readouterr().out
    assert read_rows(out) == rows  # nothing redone: same workers, same seconds


def test_a_run_that_raises_is_recorded_as_failed_and_run_again_next_time(tmp_path, client):
    path = sweep_file(tmp_path, "grid: {rule: [centered, one-sided], lr: [0.5, 1.0]}\nepochs: 2\n")
    sweep = load_sweep(path)
    broken = sweep.scenes["../scenes/xor.yaml"]
    broken.raw["network"]["springs"][0]["between"] = ["I1", "nowhere"]  # builds, so runs, on the workers
    out = tmp_path / "out"
    outcome = run_sweep(sweep, out, client, retries=0, progress=False)
    assert (outcome.done, outcome.failed) == (4, 4)
    rows = {r["run"]: r for r in read_rows(out)}
    failed = [r for r in rows.values() if r["status"] == "failed"]
    assert {r["scene"] for r in failed} == {"../scenes/xor.yaml"} and len(failed) == 4
    assert all(r["error"].startswith("RunError: ") and "no node with id 'nowhere'" in r["error"]
               and "springs[0].between" in r["error"] and r["history"] == "" for r in failed)

    outcome = run_sweep(load_sweep(path), out, client, retries=0, progress=False)
    assert (outcome.skipped, outcome.done, outcome.failed) == (4, 4, 0)
    again = {r["run"]: r for r in read_rows(out)}
    assert {r["status"] for r in again.values()} == {"done"}
    assert all(again[rid] == row for rid, row in rows.items() if row["status"] == "done")


def test_ctrl_c_keeps_every_finished_row_and_the_next_run_does_the_rest(tmp_path, client, monkeypatch):
    path = sweep_file(tmp_path, GRID + "epochs: 2\n")
    out = tmp_path / "out"
    record = results_module.Results.record
    calls = []

    def interrupt_on_third(self, run, **fields):
        calls.append(run.id)
        if len(calls) == 3:
            raise KeyboardInterrupt
        record(self, run, **fields)

    monkeypatch.setattr(results_module.Results, "record", interrupt_on_third)
    outcome = run_sweep(load_sweep(path), out, client, progress=False)
    assert outcome.interrupted and outcome.done == 2
    assert [r["run"] for r in read_rows(out)] == calls[:2]
    monkeypatch.undo()
    outcome = run_sweep(load_sweep(path), out, client, progress=False)
    assert (outcome.skipped, outcome.done) == (2, 6) and len(read_rows(out)) == 8


def test_a_killed_worker_loses_no_finished_row_and_its_run_is_retried_elsewhere(tmp_path):
    path = sweep_file(tmp_path, "grid: {rule: [centered, one-sided], seed: [0, 1, 2, 3]}\nepochs: 25\n",
                      scenes=("xor.yaml",))
    out = tmp_path / "out"
    seen = {}

    def kill_a_busy_worker(client):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = read_rows(out) if (out / "results.csv").exists() else []
            busy = {a: keys for a, keys in client.processing().items() if keys}
            if done and busy:
                address, keys = next(iter(busy.items()))
                os.kill(client.run(os.getpid, workers=[address])[address], signal.SIGKILL)
                seen.update(rows=done, killed=address, runs={str(k).rsplit("-", 1)[0] for k in keys})
                return
            time.sleep(0.05)

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0", silence_logs=50) as cluster, \
            distributed.Client(cluster) as client:
        killer = threading.Thread(target=kill_a_busy_worker, args=(client,))
        killer.start()
        outcome = run_sweep(load_sweep(path), out, client, progress=False)
        killer.join()
    assert "killed" in seen, "no worker was busy while a row was recorded"
    rows = {r["run"]: r for r in read_rows(out)}
    assert outcome.done == 8 and len(rows) == 8 and {r["status"] for r in rows.values()} == {"done"}
    for before in seen["rows"]:  # finished before the kill: kept as they were
        assert rows[before["run"]] == before
    assert seen["runs"] and seen["runs"] <= set(rows)  # task keys name their runs
    assert all(rows[rid]["worker"] != seen["killed"] for rid in seen["runs"])  # rerun on a live worker


def test_damaged_rows_are_set_aside_and_their_runs_done_again(tmp_path, client):
    """Item 6 of issue 24: each of these made every rerun a traceback, and a junk line stayed."""
    path = sweep_file(tmp_path, "grid: {seed: [0, 1, 2, 3, 4]}\nepochs: 2\n", scenes=("two_springs.yaml",))
    out = tmp_path / "out"
    assert run_sweep(load_sweep(path), out, client, progress=False).done == 5
    lines = (out / "results.csv").read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    loss = header.index("loss")
    bad_loss = lines[2].split(",")
    bad_loss[loss] = "abc"
    (out / rows[2]["history"]).unlink()
    with (out / rows[3]["history"]).open("a") as fh:
        fh.write("9,9,0.5,nan,nan,nan\n")  # a history that ends elsewhere than its row
    cut = lines[5][: lines[5].index("histories/") + 6]  # the last row, cut inside its history column
    (out / "results.csv").write_text("\n".join([lines[0], lines[1], ",".join(bad_loss), lines[3], lines[4],
                                                "\x00junk;;\xff", cut]))
    outcome = run_sweep(load_sweep(path), out, client, progress=False)
    assert (outcome.skipped, outcome.done, outcome.failed) == (1, 4, 0)
    assert [line.split(":")[0] for line in outcome.set_aside] == ["line 3", "line 4", "line 5", "line 6", "line 7"]
    assert "loss 'abc' is not a number" in outcome.set_aside[0]
    assert "histories/" in outcome.set_aside[1] and "No such file" in outcome.set_aside[1]
    assert "holds epochs 0 to 9 (4 rows), the row says 0 to 2" in outcome.set_aside[2]
    assert "cells where the header has" in outcome.set_aside[4]
    again = results_module.Results(out)
    assert again.rejected == [] and len(again.done()) == 5
    with (out / "results.rejected.csv").open(newline="") as fh:
        rejected = list(csv.reader(fh))
    assert rejected[0][:2] == ["line", "reason"] and len(rejected) == 6 and rejected[1][0] == "3"


def test_a_grid_too_large_is_refused_before_any_run_is_made(tmp_path, monkeypatch):
    values = "[" + ", ".join(str(i + 1) for i in range(1000)) + "]"
    path = sweep_file(tmp_path, f"grid: {{seed: {values}, batch: {values}, epochs: {values}}}\n",
                      scenes=("two_springs.yaml",))
    from sandbox.sweep import spec

    monkeypatch.setattr(spec, "_scene_document", lambda p: pytest.fail("a scene was read"))
    monkeypatch.setattr(spec.itertools, "product", lambda *a: pytest.fail("the grid was built"))
    with pytest.raises(SceneError) as exc:
        load_sweep(path)
    assert exc.value.problems == [
        "line 2, column 1: grid: 1,000,000,000 runs (1 scene(s) x 1,000 seed x 1,000 epochs x 1,000 batch); a sweep is "
        "limited to 100,000: make the grid smaller, or raise the limit (--max-runs)"]
    monkeypatch.undo()
    small = sweep_file(tmp_path, "grid: {seed: [0, 1, 2], lr: [1, 2, 3, 4]}\n", scenes=("two_springs.yaml",))
    with pytest.raises(SceneError, match="12 runs"):
        load_sweep(small, max_runs=11)
    assert len(load_sweep(small, max_runs=12).runs) == 12


# ---------------------------------------------------------------- results files that are damaged

RUN_IDS = [f"scene-{i:010x}" for i in range(6)]


class FakeRun:
    def __init__(self, rid):
        self.id, self.scene, self.overrides = rid, "s.yaml", (("lr", 0.5),)


def results_folder(folder: Path, losses: list) -> None:
    """A results folder as a sweep leaves it: a done row and its history per run."""
    res = results_module.Results(folder)
    for rid, loss in zip(RUN_IDS, losses):
        history = [{"epoch": e, "step": e, "loss": loss * (3 - e), "test_loss": math.nan, "accuracy": math.nan,
                    "test_accuracy": math.nan} for e in range(3)]
        res.record(FakeRun(rid), status="done", history=res.write_history(FakeRun(rid), history), error="",
                   met=True, epochs_done=2, loss_start=loss * 3, loss=loss, test_loss=None, accuracy=None,
                   test_accuracy=None, stopped="", seconds=0.1, cpu_seconds=0.1, worker="local")


damage = st.one_of(
    st.tuples(st.just("cut"), st.floats(0, 1)),
    st.tuples(st.just("cell"), st.integers(1, 6), st.integers(0, 30), st.text(max_size=6)),
    st.tuples(st.just("line"), st.integers(0, 8), st.binary(max_size=40)),
    st.tuples(st.just("history"), st.integers(0, 5), st.sampled_from(["delete", "truncate", "junk", "folder"])),
    st.tuples(st.just("duplicate"), st.integers(1, 6)),
)


@pytest.fixture(scope="module")
def sound_results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sound")
    results_folder(folder, [0.5, 1e-9, 3.25, 1e-300, 7.0, 0.1])
    return folder


@given(damages=st.lists(damage, max_size=4))
@settings(max_examples=100)
def test_any_damage_to_a_results_folder_is_set_aside_and_nothing_else(tmp_path_factory, sound_results, damages):
    folder = tmp_path_factory.mktemp("results", numbered=True)
    shutil.rmtree(folder)
    shutil.copytree(sound_results, folder)
    path = folder / "results.csv"
    for d in damages:
        data = path.read_bytes()
        lines = data.split(b"\n")
        if d[0] == "cut":
            path.write_bytes(data[: int(d[1] * len(data))])
        elif d[0] == "cell" and d[1] < len(lines):
            cells = lines[d[1]].split(b",")
            cells[d[2] % len(cells)] = d[3].encode()
            lines[d[1]] = b",".join(cells)
            path.write_bytes(b"\n".join(lines))
        elif d[0] == "line":
            lines.insert(min(d[1], len(lines)), d[2].replace(b"\n", b" "))
            path.write_bytes(b"\n".join(lines))
        elif d[0] == "history":
            history = folder / "histories" / f"{RUN_IDS[d[1]]}.csv"
            if history.is_dir():
                continue
            if d[2] == "delete":
                history.unlink(missing_ok=True)
            elif d[2] == "truncate" and history.exists():
                history.write_bytes(history.read_bytes()[:-12])
            elif d[2] == "junk":
                history.write_bytes(b"\x00\xff not a history")
            else:
                history.unlink(missing_ok=True)
                history.mkdir()
        elif d[0] == "duplicate" and d[1] < len(lines):
            lines.append(lines[d[1]])
            path.write_bytes(b"\n".join(lines))
    try:
        res = results_module.Results(folder)
    except SceneError as exc:  # only a header that no longer names run and status
        assert "is not a sweep's results file" in str(exc)
        return
    texts = [line.decode("utf-8", "replace") for line in path.read_bytes().split(b"\n")]
    rows = [t for t in texts if t.strip()][1:]  # blank lines are skipped; the first line left is the header
    assert len(res.rows) + len(res.rejected) == len(rows)
    for rid in res.done():  # kept: its history is there and ends where the row does
        history = results_module.read_history(folder / res.rows[rid]["history"])
        assert len(history) == int(res.rows[rid]["epochs_done"]) + 1
        assert history[-1]["loss"] == float(res.rows[rid]["loss"])
    n_rejected = len(res.rejected)
    said = res.set_aside()
    assert len(said) == n_rejected
    again = results_module.Results(folder)
    assert again.rejected == [] and again.rows == res.rows
    if said:
        with (folder / results_module.REJECTED).open(newline="", encoding="utf-8") as fh:
            assert len(list(csv.reader(fh))) == len(said) + 1


# ---------------------------------------------------------------- the capacity experiment


# ---------------------------------------------------------------- a sweep's own run function


def _capacity_tasks(folder: Path, count: int) -> Path:
    """A 32-node capacity network and `count` task documents next to a sweep file naming them."""
    from experiments.capacity.networks import disc_network

    disc_network(32, seed=0).save(folder / "net.npz")
    for t in range(1, count + 1):
        (folder / f"task{t}.yaml").write_text(f"network: net.npz\nseed: 0\nkind: ghost\ntargets: {t}\ntuner: prune\n")
    path = folder / "sweep.yaml"
    path.write_text("run: experiments.capacity.runs:run_task\nscenes: ['task*.yaml']\n")
    return path


def test_a_sweep_with_its_own_run_function_calls_it_on_the_workers_and_resumes(tmp_path, client):
    sweep = load_sweep(_capacity_tasks(tmp_path, 3))  # task documents: not checked as scenes
    assert len(sweep.runs) == 3
    outcome = run_sweep(sweep, tmp_path / "out", client, retries=0, progress=False)
    assert (outcome.done, outcome.failed) == (3, 0)
    rows = read_rows(tmp_path / "out")
    assert sorted(int(r["targets"]) for r in rows) == [1, 2, 3] and {r["tuner"] for r in rows} == {"prune"}
    assert all(r["met"] in ("True", "False") and float(r["cpu_seconds"]) >= 0 for r in rows)
    assert {r["worker"] for r in rows} <= {w for w in client.scheduler_info()["workers"]}  # ran on Dask workers
    assert all((tmp_path / "out" / r["history"]).exists() for r in rows)
    again = run_sweep(load_sweep(tmp_path / "sweep.yaml"), tmp_path / "out", client, retries=0, progress=False)
    assert (again.skipped, again.done) == (3, 0)


def test_a_run_function_that_does_not_import_is_named_with_its_line(tmp_path):
    path = _capacity_tasks(tmp_path, 1)
    path.write_text("scenes: ['task*.yaml']\nrun: experiments.capacity.runs:no_such\n")
    with pytest.raises(SceneError) as err:
        load_sweep(path)
    assert "line 2" in str(err.value) and "cannot import 'experiments.capacity.runs:no_such'" in str(err.value)
