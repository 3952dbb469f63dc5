"""One BLAS thread, whatever the import order: a 32 x 32 lattice built in code, importing only
the physics first (as a script does), then the learning layer; the relax time, 10 epochs, and
how many threads every BLAS library loaded runs on.

    python -m bench.blas_threads

Each line is a fresh process (the limit is process-wide). Run it from an older checkout (its
folder on PYTHONPATH) to compare: before the fix, scipy's own OpenBLAS, loaded after the limit
was set, ran on every core.
"""

import subprocess
import sys

ONE_RUN = r"""
import time
import numpy as np
from sandbox.physics.network import FIXED, HIDDEN, INPUT, OUTPUT, Network, triangular_lattice
from sandbox.physics.equilibrium import NewtonSolver
side = 32
pos, edges = triangular_lattice(side, side)
rng = np.random.default_rng(0)
roles = np.full(len(pos), HIDDEN)
roles[:side] = FIXED
mid = side // 2
inp, out = [mid * side + 1, mid * side + 3], [mid * side + side - 4, mid * side + side - 2]
roles[inp], roles[out] = INPUT, OUTPUT
L = np.linalg.norm(pos[edges[:, 1]] - pos[edges[:, 0]], axis=1) * (1 + 0.05 * rng.standard_normal(len(edges)))
net = Network(pos, edges, rng.uniform(0.5, 1.5, len(edges)), L, roles)
NewtonSolver().relax(net, net.pos)  # the first: imports
t = time.perf_counter(); NewtonSolver().relax(net, net.pos); relax = time.perf_counter() - t
from sandbox.learning.rules import Rule
from sandbox.learning.task import Task
from sandbox.learning.trainer import Trainer
d0 = np.linalg.norm(pos[out[1]] - pos[out[0]])
task = Task(np.array(inp), np.array([[[-0.1, 0.0], [0.1, 0.0]]]), "distance", np.array([out]), np.array([[0.9 * d0]]))
tr = Trainer(net, task, Rule(kind="centered", beta=1e-3, lr=1.0))
t = time.perf_counter(); tr.fit(10); fit = time.perf_counter() - t
from threadpoolctl import threadpool_info
threads = sorted(d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas")
print(f"relax {relax * 1e3:6.0f} ms   10 epochs {fit:5.2f} s   BLAS threads {threads}")
"""


def main(repeat: int = 5) -> int:
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", ONE_RUN], capture_output=True, text=True)
        print(done.stdout.strip() or done.stderr.strip().splitlines()[-1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
