"""`bench --quick` runs and its JSON rows are well formed (speed itself is not a test)."""

import json

from sandbox.cli import main


def test_bench_quick_json_is_well_formed(capsys):
    assert main(["bench", "--quick", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    cases = {r["case"] for r in rows}
    assert {"relax: Newton (ours)", "relax: L-BFGS-B (scipy)", "relax: FIRE", "relax: pymunk world",
            "EP step (warm) / factorize+solve", "draw a frame (window, panels)",
            "validate a listed scene / yaml.load(C)"} <= cases
    for r in rows:
        assert {"case", "nodes", "seconds", "ratio"} <= set(r)
        assert r["seconds"] >= 0 and r["ratio"] > 0
    parse = next(r for r in rows if r["case"] == "validate a listed scene / yaml.load(C)")
    assert parse["nodes"] == 500 and parse["yaml_load_seconds"] > 0 and parse["validate_peak_mb"] > 10
    for r in rows:
        if r["case"].startswith("relax:"):
            assert r["residual"] < 1e-8  # every method was run to (about) the same tolerance


def test_the_sampling_profiler_charges_time_to_the_function_that_spends_it():
    import signal
    import time

    from bench.profile import sample

    def spin(seconds):  # CPU time in a function of its own, then in its caller
        t = time.process_time()
        while time.process_time() - t < seconds:
            sum(range(200))

    def work():
        spin(0.15)
        t = time.process_time()
        while time.process_time() - t < 0.05:
            sum(range(200))

    handler = signal.getsignal(signal.SIGPROF)
    inclusive, own, total = sample(work)
    assert total >= 30  # 0.2 s of CPU: 400 samples at 0.5 ms, 50 where the kernel's profiling timer ticks at 4 ms
    assert inclusive["test_bench.py:work"] == total
    assert 0.5 < inclusive["test_bench.py:spin"] / total < 0.95  # three quarters of it
    assert signal.getsignal(signal.SIGPROF) is handler  # put back
