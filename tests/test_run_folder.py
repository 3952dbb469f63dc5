"""Nothing learned is ever lost (issue 24, items 1 to 5), tried as a user meets it: real
`python main.py train` processes, stopped by signals or kill -9, pointed at their own folder, a
file, a read-only folder, a full disk, each other. Each test waits for a file to appear (a
checkpoint), never for a time."""

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from sandbox.checkpoints import Checkpoints
from sandbox.cli import main
from sandbox.files import FolderBusy, FolderLock, write_together
from sandbox.learning.trainer import Trainer
from sandbox.scenes.build import load_scene

ROOT = Path(__file__).parent.parent
SCENES = ROOT / "scenes"
ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "SDL_VIDEODRIVER": "dummy"}
LONG = ["--epochs", "100000", "--checkpoint-every", "3", "--quiet"]  # runs until stopped


def train(*args, cwd, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", *map(str, args)], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=300)
    assert "Traceback" not in out + err, out + err
    return proc.returncode, out, err


def wait_for_epoch(folder: Path, epoch: int, proc: subprocess.Popen, scene: str | None = None) -> dict:
    """run.json of folder once it holds at least `epoch` (of the scene named `scene`, if given);
    the test fails if the run ends first."""
    deadline = time.monotonic() + 300  # a guard against hanging, not a measurement
    while time.monotonic() < deadline:
        try:
            record = json.loads((folder / "run.json").read_text())
            if record["epoch"] >= epoch and scene in (None, record["scene"]["name"]):
                return record
        except (OSError, ValueError):
            pass  # not there yet (it is replaced atomically: never half-written)
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    pytest.fail("no checkpoint appeared")


def consistent_set(folder: Path, killed: bool = False) -> dict:
    """run.json, after checking that trained.yaml and history.csv are the ones it names and
    that all three hold the same epoch (and, unless the run was killed while it may have been
    writing, that no temporary file is left)."""
    record = json.loads((folder / "run.json").read_text())
    for name in ("trained.yaml", "history.csv"):
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == record["files"][name], name
    rows = (folder / "history.csv").read_text().splitlines()
    assert int(rows[-1].split(",")[0]) == record["epoch"] == len(rows) - 2
    assert yaml.safe_load((folder / "trained.yaml").read_text())["origin"]["epochs"] == record["epoch"]
    if not killed:
        assert not [p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != ".lock"]
    return record


def resumes_where_it_stopped(folder: Path) -> None:
    """The saved network is the one of the saved epoch: its loss is the history's last."""
    last = (folder / "history.csv").read_text().splitlines()[-1].split(",")
    again = Trainer.from_scene(load_scene(folder / "trained.yaml")).record()
    assert again["loss"] == pytest.approx(float(last[2]), rel=1e-9)


# ---------------------------------------------------------------- 1: signals and kill -9


def test_sigterm_sighup_and_sigint_keep_the_last_completed_epoch_and_exit_130(tmp_path):
    runs = {sig: (tmp_path / sig, train(SCENES / "xor.yaml", *LONG, "--out", tmp_path / sig, cwd=tmp_path))
            for sig in ("SIGTERM", "SIGHUP", "SIGINT")}
    for sig, (out, proc) in runs.items():
        wait_for_epoch(out, 6, proc)
        proc.send_signal(getattr(signal, sig))
    for sig, (out, proc) in runs.items():
        code, text, err = finish(proc)
        assert code == 130
        record = consistent_set(out)
        assert record["status"] == "interrupted" and record["epoch"] >= 6
        assert record["stopped"].startswith(f"interrupted by {sig} after {record['epoch']} epochs")
        assert f"holds epoch {record['epoch']}" in err and f"{out}/trained.yaml" in err
        resumes_where_it_stopped(out)


def test_kill_9_loses_only_what_came_after_the_last_checkpoint(tmp_path):
    out = tmp_path / "run"
    proc = train(SCENES / "xor.yaml", *LONG, "--out", out, cwd=tmp_path)
    wait_for_epoch(out, 9, proc)
    proc.kill()
    proc.communicate()
    record = consistent_set(out, killed=True)
    assert record["status"] == "running" and record["epoch"] >= 9
    resumes_where_it_stopped(out)
    assert main(["train", str(SCENES / "two_springs.yaml"), "--epochs", "2", "--out", str(out), "--quiet"]) == 1
    assert consistent_set(out)["epoch"] == 2  # the folder is reused: its lock died with the process


def test_run_json_says_how_the_run_was_made(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", str(SCENES / "two_springs.yaml"), "--epochs", "7", "--lr", "2", "--seed", "3", "--out", str(out),
            "--quiet"]
    assert main(args) == 1
    record = consistent_set(out)
    assert record["status"] == "completed" and record["epoch"] == 7 and record["stopped"] == ""
    assert record["promise"]["met"] is False and record["promise"]["verdict"].startswith("promise NOT met")
    s = record["settings"]
    assert (s["rule"], s["lr"], s["beta"], s["seed"], s["epochs"], s["batch"], s["engine"]) == \
        ("centered", 2.0, 0.001, 3, 7, 1, "exact")
    assert {"k_min", "k_max", "max_change", "lr_rest", "lr_decay", "learn", "warm_start"} <= set(s)
    assert record["command"] == args
    assert record["scene"]["sha256"] == hashlib.sha256((SCENES / "two_springs.yaml").read_bytes()).hexdigest()
    assert record["versions"]["spring-sandbox"] and record["versions"]["numpy"]
    t = record["timings"]
    assert 0 < t["training_seconds"] <= t["wall_seconds"] and t["checkpoints"] == 1  # 7 epochs: the last set only
    header = (out / "history.csv").read_text().splitlines()[0]
    assert header == "epoch,step,loss,test_loss,accuracy,test_accuracy,seconds"
    assert {"loss.png", "network.png", "response.png"} <= {p.name for p in out.iterdir()}
    assert f"wrote {out}/trained.yaml, history.csv, run.json, loss.png, network.png" in capsys.readouterr().out


# ---------------------------------------------------------------- 2, 3: the folder, checked before training


def quick_run(out: Path) -> None:
    """A finished run of two springs (3 epochs, pictures too) in out."""
    from sandbox.runner import train_scene

    train_scene(load_scene(SCENES / "two_springs.yaml"), epochs=3, out_dir=out, progress=False)


def test_resuming_into_its_own_folder_is_refused_at_once(tmp_path, capsys):
    out = tmp_path / "run"
    quick_run(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["train", str(out / "trained.yaml"), "--epochs", "300", "--out", str(out), "--quiet"]) == 3
    text, err = capsys.readouterr()
    assert text == "" and err == (f"error: {out} holds the scene being trained (trained.yaml), which the run would "
                                  "replace; train into another folder (--out): a trained scene resumes from anywhere\n")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing trained, nothing touched


@pytest.mark.parametrize("where,problem", [("file", "is a file, not a folder"), ("file/sub", "Not a directory")])
def test_an_output_that_is_a_file_is_refused_before_training(tmp_path, capsys, where, problem):
    (tmp_path / "file").write_text("mine\n")
    assert main(["train", str(SCENES / "two_springs.yaml"), "--out", str(tmp_path / where), "--quiet"]) == 3
    text, err = capsys.readouterr()
    assert text == "" and problem in err and err.startswith("error: ")
    assert (tmp_path / "file").read_text() == "mine\n"


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder this process cannot write: chmod for a user, a read-only tmpfs for root."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], capture_output=True).returncode:
        pytest.skip("root cannot be refused a write without a read-only mount, and none can be made here")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_folder_is_refused_before_training(read_only_folder, capsys):
    assert main(["train", str(SCENES / "two_springs.yaml"), "--out", str(read_only_folder / "run"), "--quiet"]) == 3
    text, err = capsys.readouterr()
    assert text == ""
    assert err.startswith(f"error: cannot write into {read_only_folder / 'run'}: ")
    assert "Read-only file system" in err or "Permission denied" in err


@pytest.fixture
def small_disk(tmp_path):
    """(folder, preexec, epochs): a folder on a 32 KB tmpfs where the machine allows mounting
    one, else any folder and a per-file limit of 3,000 bytes (RLIMIT_FSIZE: writes past it fail with
    EFBIG); and enough epochs of two springs for its history to fill either."""
    folder = tmp_path / "disk"
    folder.mkdir()
    if os.geteuid() == 0 and not subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", str(folder)],
                                                capture_output=True).returncode:
        yield folder, None, 100
        subprocess.run(["umount", str(folder)], check=True)
        return
    yield folder, lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000)), 100


def test_a_full_disk_mid_run_keeps_the_last_checkpoint_and_says_so(tmp_path, small_disk):
    folder, limit, epochs = small_disk
    out = folder / "run"
    proc = train(SCENES / "two_springs.yaml", "--epochs", epochs, "--checkpoint-every", "4", "--out", out,
                 "--quiet", cwd=tmp_path, preexec_fn=limit)
    code, text, err = finish(proc)
    record = consistent_set(out)
    kept = record["epoch"]
    assert code == 3 and 5 < kept < epochs and kept % 4 == 0 and record["status"] == "running"
    assert err.count("warning: could not write epoch") == 1  # said once
    assert f"warning: could not write epoch {kept + 4} into {out}: " in err
    assert f"checkpoint(s) not written (epochs {kept + 4} to {epochs - 4}): " in text
    assert err.splitlines()[-1].startswith(f"error: could not write epoch {epochs} into {out}: ")
    assert err.splitlines()[-1].endswith(f"; it keeps epoch {kept}")
    assert "No space left on device" in err or "File too large" in err
    resumes_where_it_stopped(out)


# ---------------------------------------------------------------- 4, 5: one run per folder, never a mix


def test_a_second_run_into_a_busy_folder_is_refused_and_the_first_goes_on(tmp_path, capsys):
    out = tmp_path / "run"
    first = train(SCENES / "xor.yaml", *LONG, "--out", out, cwd=tmp_path)
    wait_for_epoch(out, 3, first)
    assert main(["train", str(SCENES / "two_springs.yaml"), "--out", str(out), "--quiet"]) == 3
    text, err = capsys.readouterr()
    assert text == ""
    assert err == (f"error: another run (process {first.pid}) is writing into {out}; wait for it, or choose "
                   "another --out\n")
    at = json.loads((out / "run.json").read_text())["epoch"]
    wait_for_epoch(out, at + 3, first)  # it goes on
    first.send_signal(signal.SIGTERM)
    assert finish(first)[0] == 130
    assert consistent_set(out)["scene"]["name"] == "XOR" and not (out / ".lock").exists()


def test_a_new_run_over_an_older_one_never_leaves_a_mix_even_killed(tmp_path):
    out = tmp_path / "run"
    quick_run(out)
    older = {p.name: p.read_bytes() for p in out.iterdir()}
    assert {"loss.png", "network.png", "run.json"} <= set(older)
    proc = train(SCENES / "xor.yaml", "--epochs", "100000", "--checkpoint-every", "0", "--checkpoint-seconds", "0",
                 "--out", out, cwd=tmp_path)
    deadline = time.monotonic() + 300  # killed once it holds the folder, before any checkpoint: the older run stays whole
    while not (out / ".lock").exists() or (out / ".lock").read_text().strip() != str(proc.pid):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    proc.kill()
    proc.communicate()
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != ".lock"} == older
    proc = train(SCENES / "xor.yaml", *LONG, "--out", out, cwd=tmp_path)
    wait_for_epoch(out, 0, proc, scene="XOR")  # the new run's first set
    proc.kill()
    _, err = proc.communicate()
    assert consistent_set(out, killed=True)["scene"]["name"] == "XOR"
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {"history.csv", "run.json", "trained.yaml"}
    assert f"replacing the older run in {out} (epoch 3 of {SCENES / 'two_springs.yaml'}, completed)" in err


# ---------------------------------------------------------------- the pieces


def test_a_set_that_cannot_be_written_leaves_the_previous_one_and_no_temporary_file(tmp_path, monkeypatch):
    write_together(tmp_path, {"a.txt": "old a", "b.txt": "old b"})
    real = os.fsync
    calls = []

    def full(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(fd)

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space"):
        write_together(tmp_path, {"a.txt": "new a", "b.txt": "new b"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert (tmp_path / "a.txt").read_text() == "old a" and (tmp_path / "b.txt").read_text() == "old b"


def test_a_signal_during_a_set_waits_until_it_is_written(tmp_path, monkeypatch):
    real = os.replace

    def replace_then_signal(a, b):
        real(a, b)
        os.kill(os.getpid(), signal.SIGINT)  # held back until all are renamed

    monkeypatch.setattr(os, "replace", replace_then_signal)
    with pytest.raises(KeyboardInterrupt):
        write_together(tmp_path, {"a.txt": "1", "b.txt": "2", "c.txt": "3"})
    assert sorted(p.read_text() for p in tmp_path.iterdir()) == ["1", "2", "3"]


def test_a_folder_lock_is_one_process_at_a_time_and_gone_when_released(tmp_path):
    probe = ("import sys; from sandbox.files import FolderLock, FolderBusy\n"
             "try:\n    FolderLock(sys.argv[1]).acquire()\nexcept FolderBusy as e:\n    print(e)")
    with FolderLock(tmp_path):
        held = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
        assert held.stdout.strip() == f"process {os.getpid()}"
    assert not (tmp_path / ".lock").exists()
    free = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert free.stdout == "" and free.returncode == 0
    with pytest.raises(FolderBusy):  # two holders in one process conflict too
        with FolderLock(tmp_path), FolderLock(tmp_path):
            pass


@pytest.mark.parametrize("since,seconds,cost,due", [
    (100, 0.5, 0.001, True),  # 100 epochs
    (99, 9.9, 0.001, False),
    (1, 10.0, 0.001, True),  # 10 s
    (100, 0.5, 0.02, False),  # not sooner than 50 times its cost (1 s)
    (100, 1.0, 0.02, True),
])
def test_checkpoints_come_every_100_epochs_or_10_s_and_cost_at_most_2_percent(since, seconds, cost, due):
    assert Checkpoints().due(since, seconds, cost) is due
    assert Checkpoints(epochs=0, seconds=0).due(10**6, 10**6, 0.0) is False
    assert Checkpoints(epochs=1, seconds=0, spacing=0).due(1, 0.0, 10.0) is True  # as asked, whatever it costs


def test_a_checkpoint_writes_the_network_as_the_dumper_does_twenty_times_faster(tmp_path):
    from sandbox.physics.network_file import network_text
    from sandbox.scenes.save import scene_document, scene_text
    from sandbox.yaml_text import dump

    origin = {"scene": "x.yaml", "epochs": 3, "metrics": {"loss": 1e-05, "test_loss": None}}
    for name in ("two_springs", "xor", "allostery", "iris", "large"):  # rails, a CSV, 2,250 nodes
        path = SCENES / f"{name}.yaml"
        scene = load_scene(path)
        scene.net.k = scene.net.k * (1 + 1e-7 * np.arange(scene.net.n_springs))  # learned: long numbers
        assert network_text(scene.net) is not None, path
        assert scene_text(scene, tmp_path / "t.yaml", origin=origin) == dump(scene_document(scene, origin=origin)), path
    scene = load_scene(SCENES / "two_springs.yaml")
    scene.net.ids[1] = "yes"  # the dumper quotes it: its own rules are used
    assert network_text(scene.net) is None
    assert "'yes'" in scene_text(scene, tmp_path / "t.yaml")
    scene = load_scene(SCENES / "two_springs.yaml")
    scene.net.ids[0] = "a" * 90  # over 80 columns: the dumper wraps
    assert network_text(scene.net) is None
    assert "a" * 90 + ",\n    pos:" in scene_text(scene, tmp_path / "t.yaml")


def test_ctrl_c_in_a_script_keeps_the_last_completed_epoch_in_its_folder(tmp_path):
    """train_scene as a script calls it: the set of the last completed epoch, the lock let go."""
    from sandbox.runner import train_scene

    scene = load_scene(SCENES / "two_springs.yaml")

    def interrupt(trainer):
        if trainer.epochs_done == 4:
            raise KeyboardInterrupt

    shutil.rmtree(tmp_path, ignore_errors=True)
    res = train_scene(scene, epochs=20, out_dir=tmp_path / "run", progress=False, frame_hook=interrupt,
                      checkpoints=Checkpoints(epochs=1, seconds=0, spacing=0))
    assert res.interrupted and res.saved_epoch == 4 and res.output_error == ""
    record = consistent_set(tmp_path / "run")
    assert record["status"] == "interrupted" and record["epoch"] == 4
    assert not (tmp_path / "run" / ".lock").exists()
