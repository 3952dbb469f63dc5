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
