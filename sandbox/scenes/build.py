"""Building a scene: the YAML document validated against the schema, then the network and the
task as arrays, with every problem reported at once (line, column, key).

A scene says what the network is (listed or generated), what it must learn (the task), how it
learns (the learning section), how the window shows it (view) and what it promises (expect).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from ..learning.hardware import fabricate, k_grid
from ..learning.rules import Rule
from ..learning.task import Task
from ..paths import find_scene, scene_suggestion
from ..physics.network import FIXED, HIDDEN, INPUT, OUTPUT, ROLE_NAMES, Network, disordered_network, triangular_lattice
from ..physics.rigidity import floppy_nodes, unanchored_nodes
from .csv_data import read_csv
from .messages import Locator, SceneError, explain_all
from .schema import MAX_EXAMPLES, MAX_NODES, MAX_SPRINGS, Example, SceneSpec
from .yaml_source import read_document


@dataclass
class Scene:
    """A loaded scene: the network and task as arrays, the rule, and the rest of the spec."""

    path: Path
    spec: SceneSpec
    net: Network
    task: Task
    raw: dict = field(repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    def override(self, section: str, **values) -> None:
        """Set keys of one section of the spec (e.g. override("physics", temperature=1e-4)),
        checked against the schema (SceneError naming the key if a value is not allowed), and in
        the document a save writes (`raw`). Keys used when the network is built
        (hardware.fabrication, k_levels) do not rebuild it."""
        old = getattr(self.spec, section)
        try:
            new = type(old).model_validate({**old.model_dump(), **values})
        except ValidationError as exc:
            raise SceneError(self.path, [".".join(map(str, (section,) + tuple(e["loc"]))) + ": " + e["msg"]
                                         for e in exc.errors()]) from None
        self.spec = self.spec.model_copy(update={section: new})
        self.raw = {**self.raw, section: {**(self.raw.get(section) or {}), **values}}

    def rule(self) -> Rule:
        s = self.spec.learning
        return Rule(s.rule, s.beta, s.lr, s.learn, s.k_min, s.k_max, max_change=s.max_change, lr_rest=s.lr_rest,
                    lr_decay=s.lr_decay, rest_step=s.rest_step, optimizer=s.optimizer, momentum=s.momentum)


def load_scene(path) -> Scene:
    """Read, validate and build a scene: a file, or a shipped scene by name ("allostery", from
    any folder); raises SceneError listing every problem found."""
    path = find_scene(path)
    if not path.exists() and not path.is_symlink():
        raise SceneError(path, [f"no such file; {scene_suggestion(path)}"])
    raw, marks = read_document(path)
    return build_scene(raw, path, Locator(path, raw, marks))


def build_scene(raw: dict, path, locate: Locator | None = None, lenient: bool = False) -> Scene:
    """Validate and build a scene from its document (the YAML as data). `path` is where it lives
    (data files resolve next to it). lenient=True lets nodes float or flop (the editor builds
    half-made networks and marks those nodes instead)."""
    path = Path(path)
    locate = locate or Locator(None)
    too_long = _lists_over_limits(raw, locate)
    if too_long:  # said before validating their items, which takes a second per 200,000
        raise SceneError(path, too_long)
    try:
        spec = SceneSpec.model_validate(raw)
    except ValidationError as exc:
        raise SceneError(path, explain_all(exc.errors(), raw, locate)) from None
    problems: list[str] = []
    net, ids, order = _build_network(spec, problems, locate, lenient)
    task = _build_task(spec, net, ids, order, path, problems, locate) if net is not None else None
    if spec.lesson is not None and net is not None:
        for i, step in enumerate(spec.lesson.steps):
            node = step.wait.drag if step.wait is not None else None
            if node is not None and str(node) != "any" and str(node) not in net.ids:
                problems.append(locate.at(("lesson", "steps", i, "wait", "drag")) + f"no node with id '{node}'")
    if spec.learning.k_min >= spec.learning.k_max:
        problems.append(locate.at(("learning", "k_max")) + "k_max must be larger than k_min")
    if problems:
        raise SceneError(path, problems)
    hw, ls = spec.hardware, spec.learning
    if hw.fabrication or hw.k_levels:  # built as imperfect hardware would build it
        fabricate(net, hw.fabrication, k_grid(ls.k_min, ls.k_max, hw.k_levels) if hw.k_levels else None, spec.seed)
    return Scene(path, spec, net, task, raw)



LIMITS = {("network", "nodes"): MAX_NODES, ("network", "springs"): MAX_SPRINGS, ("task", "examples"): MAX_EXAMPLES}


def _lists_over_limits(raw, locate: Locator) -> list[str]:
    """A message for each of the document's long lists (LIMITS) that is over its limit."""
    out = []
    for loc, most in LIMITS.items():
        node = raw
        for key in loc:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, list) and len(node) > most:
            out.append(locate.at(loc) + f"{len(node):,} items; at most {most:,} are allowed here")
    return out


# ---------------------------------------------------------------- building the network

_ROLE = {"fixed": FIXED, "input": INPUT, "hidden": HIDDEN, "output": OUTPUT}


def _build_network(spec: SceneSpec, problems: list, locate: Locator, lenient: bool = False):
    ns = spec.network
    if (ns.generate is None) == (ns.nodes is None):
        problems.append(locate.at(("network",)) + "give either 'nodes' (with 'springs') or 'generate'")
        return None, None, None
    rng = np.random.default_rng(spec.seed)
    axes = None
    if ns.generate is not None:
        g = ns.generate
        if ns.springs is not None:
            problems.append(locate.at(("network", "springs")) + "'springs' goes with 'nodes', not 'generate'")
        if g.kind == "triangular":
            if g.rows * g.cols > MAX_NODES:
                problems.append(locate.at(("network", "generate")) + f"more than {MAX_NODES} nodes")
                return None, None, None
            pos, edges = triangular_lattice(g.rows, g.cols, g.spacing)
        else:
            w = g.width or math.sqrt(g.nodes)
            h = g.height or math.sqrt(g.nodes)
            pos, edges = disordered_network(g.nodes, g.coordination, w, h, rng)
        ids = _Ids(f"n{i}" for i in range(len(pos)))
        roles = np.full(len(pos), HIDDEN)
        k = g.k * (1 + g.k_spread * rng.uniform(-1, 1, len(edges)))
        L = np.linalg.norm(pos[edges[:, 1]] - pos[edges[:, 0]], axis=1)
    else:
        ids, pos, roles, axes = [], [], [], []
        seen = {}
        for i, nd in enumerate(ns.nodes):
            key = str(nd["id"])
            if key in seen:
                problems.append(locate.at(("network", "nodes", i, "id")) +
                                f"duplicate node id '{key}' (first at nodes[{seen[key]}])")
                continue
            seen[key] = len(ids)
            ids.append(key)
            pos.append(nd["pos"])
            roles.append(_ROLE[nd.get("role", "hidden")])
            slide = nd.get("slide")
            axes.append((slide != "y", slide != "x"))
        ids = _Ids(ids)
        pos = np.array(pos, dtype=float).reshape(-1, 2)
        roles = np.array(roles, dtype=np.int8)
        edges, k, L = [], [], []
        pairs = set()  # ia * N + ib, ia < ib: a set of 60,000 frozensets of names took 13 MB
        for i, s in enumerate(ns.springs or []):
            a, b = str(s["between"][0]), str(s["between"][1])
            bad = [n for n in (a, b) if n not in seen]
            if bad:
                close = _close(bad[0], seen, problems)
                problems.append(locate.at(("network", "springs", i, "between")) +
                                f"no node with id '{bad[0]}'" + (f" (did you mean '{close}'?)" if close else ""))
                continue
            if a == b:
                problems.append(locate.at(("network", "springs", i, "between")) + "a spring needs two different nodes")
                continue
            ia, ib = seen[a], seen[b]
            pair = min(ia, ib) * len(seen) + max(ia, ib)
            if pair in pairs:
                problems.append(locate.at(("network", "springs", i, "between")) + f"a second spring between '{a}' and '{b}'")
                continue
            pairs.add(pair)
            rest = s.get("rest")
            if rest is None:
                rest = float(np.linalg.norm(pos[ib] - pos[ia]))
            if rest <= 0:
                problems.append(locate.at(("network", "springs", i)) + "the two nodes sit on the same spot: give 'rest'")
                continue
            edges.append((ia, ib))
            k.append(s.get("k", 1.0))
            L.append(rest)
        edges = np.array(edges, dtype=np.int64).reshape(-1, 2)
        axes = np.array(axes, dtype=bool).reshape(-1, 2)
    if len(pos) == 0:
        problems.append(locate.at(("network",)) + "the network has no nodes")
        return None, None, None
    order = {"input": [], "output": []}  # role nodes in the order the scene lists them
    if ns.roles is not None:
        assigned = {}
        picked = {}  # selector -> nodes, for selectors given more than once
        for role_name in ("fixed", "input", "output"):
            for j, sel in enumerate(getattr(ns.roles, role_name)):
                where = ("network", "roles", role_name, j)
                for idx in _select(sel, pos, ids, where, problems, locate, picked):
                    if idx in assigned and assigned[idx] != role_name:
                        problems.append(locate.at(where) + f"node '{ids[idx]}' is already {assigned[idx]}; "
                                        f"a node cannot be both {assigned[idx]} and {role_name}")
                        continue
                    roles[idx] = _ROLE[role_name]
                    if role_name in order and assigned.get(idx) != role_name:
                        order[role_name].append(idx)
                    assigned[idx] = role_name
    net = Network(pos, edges, np.asarray(k, float), np.asarray(L, float), roles, axes, list(ids))
    for role_name in order:  # listed nodes first (in order), then the rest by index
        listed = order[role_name]
        listed_set = set(listed)
        rest = [int(i) for i in net.nodes(_ROLE[role_name]) if i not in listed_set]
        order[role_name] = np.array(listed + rest, dtype=np.int64)
    if not (net.roles == OUTPUT).any():
        problems.append(locate.at(("network",)) + "no output nodes: give some node the role 'output'")
    if len(edges) and not problems and not lenient:
        for cluster in unanchored_nodes(net):
            names = ", ".join(ids[i] for i in cluster[:8]) + (" ..." if len(cluster) > 8 else "")
            problems.append(locate.at(("network",)) + f"nothing holds node(s) {names}: no spring path "
                            "leads to a fixed or input node, so they would float away")
        if not problems:
            floppy = floppy_nodes(net)
            if floppy:
                names = ", ".join(ids[i] for i in floppy[:8]) + (" ..." if len(floppy) > 8 else "")
                problems.append(locate.at(("network",)) + f"floppy: node(s) {names} can move at no cost "
                                "(too few springs, or springs in a straight line); add springs, hold "
                                "them, or put them on a rail with 'slide'")
    elif not len(edges) and not lenient:
        problems.append(locate.at(("network",)) + "the network has no springs")
    return net, ids, order


class _Ids(list):
    """Node ids in order, with the index of each (list.index is linear: a 100,000-node scene
    naming its nodes would take quadratic time)."""

    def __init__(self, ids):
        super().__init__(ids)
        self.index_of = {k: i for i, k in enumerate(self)}


def _close(word: str, options, problems: list) -> str | None:
    """The closest of options to word, for a did-you-mean, while few problems are listed
    (difflib is linear in the options: one lookup per dangling spring would be quadratic)."""
    if len(problems) >= SceneError.MAX_SHOWN:
        return None
    close = difflib.get_close_matches(word, list(options), n=1)
    return close[0] if close else None


_NAMED = {"bottom_row": (1, min), "top_row": (1, max), "left_column": (0, min), "right_column": (0, max)}


def _select(sel, pos, ids, where, problems, locate, picked: dict) -> list[int]:
    """Node indices picked by a role selector: an id, a named set, or {nearest: [x, y]}.
    picked: what named sets picked so far (a selector repeated 100,000 times is one search)."""
    if isinstance(sel, dict):
        if set(sel) == {"nearest"} and isinstance(sel["nearest"], (list, tuple)) and len(sel["nearest"]) == 2:
            try:
                p = np.array(sel["nearest"], dtype=float)
            except (TypeError, ValueError):
                p = np.array([np.nan, np.nan])
            if np.isfinite(p).all():
                if "tree" not in picked:
                    from scipy.spatial import cKDTree

                    picked["tree"] = cKDTree(pos)
                return [int(picked["tree"].query(p)[1])]
        problems.append(locate.at(where) + "a selector mapping must be {nearest: [x, y]} with two finite numbers")
        return []
    key = str(sel)
    if key in _NAMED:
        if key not in picked:
            axis, pick = _NAMED[key]
            edge = pick(pos[:, axis])
            tol = 1e-6 + 0.25 * np.ptp(pos[:, 1 - axis]) / max(1, math.sqrt(len(pos)))
            picked[key] = [int(i) for i in np.flatnonzero(np.abs(pos[:, axis] - edge) < min(tol, 0.3))]
        return picked[key]
    if key in ids.index_of:
        return [ids.index_of[key]]
    close = _close(key, list(_NAMED) + ids, problems)
    problems.append(locate.at(where) + f"no node or set named '{key}'" + (f" (did you mean '{close}'?)" if close else "")
                    + "; use a node id, bottom_row, top_row, left_column, right_column or {nearest: [x, y]}")
    return []


# ---------------------------------------------------------------- building the task


def _node_list(names, default, ids, where, problems, locate):
    """Indices of the named nodes, or `default` (the role's nodes in listed order)."""
    if names is None:
        return default
    out = []
    for j, n in enumerate(names):
        key = str(n)
        if key not in ids.index_of:
            problems.append(locate.at(where + (j,)) + f"no node with id '{key}'")
            continue
        out.append(ids.index_of[key])
    return np.array(out, dtype=np.int64)


def _build_task(spec: SceneSpec, net: Network, ids, order, path: Path, problems, locate):
    ts = spec.task
    inputs = _node_list(ts.inputs, order["input"], ids, ("task", "inputs"), problems, locate)
    outputs = _node_list(ts.outputs, order["output"], ids, ("task", "outputs"), problems, locate)
    for i in inputs:
        if net.roles[i] != INPUT:
            problems.append(locate.at(("task", "inputs")) + f"node '{ids[i]}' is {ROLE_NAMES[net.roles[i]]}, not input")
    for o in outputs:
        if net.held[o]:
            problems.append(locate.at(("task", "outputs")) + f"node '{ids[o]}' is held ({ROLE_NAMES[net.roles[o]]}); outputs must be free")
    if len(outputs) == 0:
        return None
    if ts.input == "strain" and len(inputs) != 2:
        problems.append(locate.at(("task", "input")) + f"'strain' input needs exactly two input nodes, found {len(inputs)}")
        return None
    if ts.output == "strain" and len(outputs) % 2:
        problems.append(locate.at(("task", "output")) + "'strain' output needs output nodes in pairs")
        return None
    if (ts.examples is None) == (ts.csv is None):
        problems.append(locate.at(("task",)) + "give either 'examples' or 'csv'")
        return None
    labels = None
    if ts.csv is not None:
        rows = read_csv(ts.csv, path, problems, locate)
        if rows is None:
            return None
        values, labels = rows
        examples = _csv_examples(values, labels, ts, len(inputs), problems, locate)
        if examples is None:
            return None
    else:
        examples = ts.examples
    if not examples:
        problems.append(locate.at(("task", "examples")) + "no examples")
        return None
    pair_out = outputs.reshape(-1, 2) if ts.output == "strain" else None
    n_targets = len(pair_out) if pair_out is not None else len(outputs)
    clamps, targets, label_list = [], [], []
    for s, ex in enumerate(examples):
        where = ("task", "examples", s)
        c = _input_clamp(ex.inputs, ts.input, inputs, net, lambda w=where: locate.at(w + ("inputs",)), problems)
        if ts.classify:
            if ex.label is None:
                problems.append(locate.at(where) + "classification examples need a 'label'")
                continue
            if ex.label >= len(outputs):
                problems.append(locate.at(where + ("label",)) + f"label {ex.label} but only {len(outputs)} outputs")
                continue
            tv = [ts.margin if o == ex.label else 0.0 for o in range(len(outputs))]
        else:
            tv = ex.targets
            if tv is None:
                problems.append(locate.at(where) + "each example needs 'targets'")
                continue
        t = _target_values(tv, ts.output, n_targets, net, outputs, pair_out,
                           lambda w=where: locate.at(w + ("targets",)), problems)
        if c is None or t is None:
            continue
        clamps.append(c)
        targets.append(t)
        label_list.append(ex.label if ex.label is not None else -1)
    if problems:
        return None
    axis = {"y": 1}.get(ts.output, 0)
    mask = None
    if ts.output in ("x", "y"):
        mask = np.zeros((len(outputs), 2), bool)
        mask[:, axis] = True
    n = len(clamps)
    if any(ex.test is not None for ex in examples):  # the examples say which are held out
        held = np.array([bool(ex.test) for ex in examples])
        test, train = np.flatnonzero(held), np.flatnonzero(~held)
    else:
        test, train = random_split(spec.seed, n, ts.test_fraction)
    if len(train) == 0:
        problems.append(locate.at(("task", "test_fraction")) + "leaves no training examples")
        return None
    kind = "distance" if pair_out is not None else "position"
    if ts.classify and ts.classify_cost == "margin":
        kind = "margin"
    return Task(inputs, np.array(clamps), kind, pair_out if pair_out is not None else outputs,
                np.array(targets), mask, np.array(label_list) if ts.classify else None, axis, train, test,
                ts.margin, ts.csv.classes if ts.classify and ts.csv is not None else None)


def _csv_examples(values: np.ndarray, labels: np.ndarray, ts, n_inputs: int, problems, locate):
    """Examples from a CSV's scaled input columns (S, C) and class indices (S,): one column per
    input node, or with `input: displacement` two (dx, dy), taken in pairs; a bias column (the
    last, when csv.bias is set) moves its node by (bias, 0). None, with a problem, if the counts
    disagree."""
    bias = ts.csv.bias is not None
    if ts.input != "displacement":
        if values.shape[1] == n_inputs:
            return [Example(inputs=list(v), label=int(c)) for v, c in zip(values, labels)]
        problems.append(locate.at(("task", "csv", "inputs")) + f"{values.shape[1]} input columns for {n_inputs} input nodes")
        return None
    data = values[:, :-1] if bias else values
    if data.shape[1] != 2 * (n_inputs - bias):
        problems.append(locate.at(("task", "csv", "inputs")) + f"{data.shape[1]} input columns for {n_inputs - bias} "
                        f"input nodes{' (and the bias)' if bias else ''}: 'input: displacement' takes two "
                        "columns (dx, dy) per input node")
        return None
    pairs = data.reshape(len(data), -1, 2)
    if bias:
        pairs = np.concatenate([pairs, np.stack([values[:, -1], np.zeros(len(values))], axis=1)[:, None]], axis=1)
    return [Example(inputs=[tuple(p) for p in row], label=int(c)) for row, c in zip(pairs, labels)]


def random_split(seed: int, n: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Test and train indices (sorted) of n examples: round(fraction * n) held out at random."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(fraction * n))
    return np.sort(order[:n_test]), np.sort(order[n_test:])


def _input_clamp(values, mode, inputs, net, where, problems):
    """(M, 2) displacements of the input nodes for one example. where() names the place in messages."""
    m = len(inputs)
    if mode == "strain":
        if not isinstance(values, (int, float)):
            problems.append(where() + "a 'strain' input is one number")
            return None
        a, b = inputs
        d = net.pos[b] - net.pos[a]
        return np.array([-0.5 * values * d, 0.5 * values * d])
    vals = values if isinstance(values, list) else [values]
    if len(vals) != m:
        problems.append(where() + f"{len(vals)} values for {m} input nodes")
        return None
    out = np.zeros((m, 2))
    for i, v in enumerate(vals):
        if mode == "displacement":
            if not isinstance(v, (tuple, list)):
                problems.append(where() + f"value {i} must be a displacement [dx, dy]")
                return None
            out[i] = v
        else:
            if isinstance(v, (tuple, list)):
                problems.append(where() + f"value {i} must be one number (input mode '{mode}')")
                return None
            out[i, {"x": 0, "y": 1}[mode]] = v
    return out


def _target_values(values, mode, n, net, outputs, pairs, where, problems):
    """(P, 2) target displacements, or (P,) target distances for one example. where() names the place."""
    vals = values if isinstance(values, list) else [values]
    if len(vals) != n:
        problems.append(where() + f"{len(vals)} targets for {n} outputs" + (" (pairs)" if pairs is not None else ""))
        return None
    if mode == "strain":
        if any(isinstance(v, (tuple, list)) for v in vals):
            problems.append(where() + "'strain' targets are numbers")
            return None
        d0 = np.linalg.norm(net.pos[pairs[:, 1]] - net.pos[pairs[:, 0]], axis=1)
        return d0 * (1 + np.array(vals, dtype=float))
    out = np.zeros((n, 2))
    for i, v in enumerate(vals):
        if mode == "position":
            if not isinstance(v, (tuple, list)):
                problems.append(where() + f"target {i} must be a displacement [dx, dy]")
                return None
            out[i] = v
        else:
            if isinstance(v, (tuple, list)):
                problems.append(where() + f"target {i} must be one number (output mode '{mode}')")
                return None
            out[i, {"x": 0, "y": 1}[mode]] = v
    return out
