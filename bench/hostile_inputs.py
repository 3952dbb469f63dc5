"""The inputs of issue 24's timings, written into a folder: `python -m bench.hostile_inputs DIR`.

Then time each as a user would, e.g. `/usr/bin/time -f "%e s %U+%S s %M KB" python main.py
validate DIR/flow-20000.yaml` (the sweep files: `python main.py sweep DIR/grid-1e9.yaml --out
DIR/out`). Flow nesting 5,000 and 20,000 deep, 16 MB of comments, a 5,000-digit seed, listed
networks of 5,000, 20,000 and 50,176 nodes (as `train` saves one), 200,000 listed nodes,
300,000 examples, and sweep grids of 10^6 and 10^9 runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sandbox.paths import SCENES


def write_all(folder: Path) -> list[Path]:
    from bench.benchmarks import listed_scene

    folder.mkdir(parents=True, exist_ok=True)
    two = (SCENES / "two_springs.yaml").read_text()
    files = {
        "flow-5000.yaml": "name: " + "[" * 5000 + "]" * 5000 + "\n",
        "flow-20000.yaml": "name: " + "[" * 20000 + "]" * 20000 + "\n",
        "comments-16mb.yaml": "name: c\n" + ("# " + "x" * 78 + "\n") * 200_000,
        "seed-5000-digits.yaml": two.replace("seed: 1", "seed: " + "9" * 5000),
        "nodes-200000.yaml": "name: many\nnetwork:\n  nodes:\n" + "".join(
            f"    - {{id: n{i}, pos: [{i % 400}.0, {i // 400}.0], role: {'fixed' if i < 400 else 'hidden'}}}\n"
            for i in range(200_000)) + "  springs: []\ntask: {examples: [{inputs: [], targets: []}]}\n",
        "examples-300000.yaml": two.split("  examples:")[0] + "  examples:\n" + "".join(
            f"    - {{inputs: [{i % 7 * 0.01}], targets: [{i % 5 * 0.01}]}}\n" for i in range(300_000)),
    }
    values = lambda n: "[" + ", ".join(str(i + 1) for i in range(n)) + "]"  # noqa: E731
    scene = (SCENES / "two_springs.yaml").resolve()
    files["grid-1e6.yaml"] = f"scenes: ['{scene}']\ngrid: {{seed: {values(1000)}, epochs: {values(1000)}}}\n"
    files["grid-1e9.yaml"] = (f"scenes: ['{scene}']\ngrid: {{seed: {values(1000)}, epochs: {values(1000)}, "
                              f"batch: {values(1000)}}}\n")
    out = []
    for name, text in files.items():
        (folder / name).write_text(text)
        out.append(folder / name)
    for rows, cols in ((50, 100), (100, 200), (224, 224)):
        path = listed_scene(folder, rows, cols)
        out.append(path.rename(folder / f"listed-{rows * cols}.yaml"))
    return out


if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1])):
        print(f"{path} ({path.stat().st_size:,} bytes)")
