"""Scene files: the YAML format, its validation with clear messages, loading and atomic saving.

A scene says what the network is (listed or generated), what it must learn (the task), how it
learns (the learning section), how the window shows it (view) and what it promises (expect).
The README has the reference table of every key; `scenes/annotated.yaml` is a commented example.
"""

from __future__ import annotations

import csv
import difflib
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .learning import LEARNS, RULES, Rule
from .network import (
    FIXED,
    HIDDEN,
    INPUT,
    OUTPUT,
    ROLE_NAMES,
    Network,
    disordered_network,
    floppy_nodes,
    triangular_lattice,
    unanchored_nodes,
)
from .task import Task

MAX_FILE_BYTES = 20_000_000
MAX_NODES = 200_000
ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"


class SceneError(Exception):
    """A scene file has problems. `problems` lists every one, each naming the place."""

    def __init__(self, path, problems):
        self.path = str(path)
        self.problems = list(problems)
        super().__init__(self.path + ":\n" + "\n".join("  - " + p for p in self.problems))


# ---------------------------------------------------------------- the schema

Pair = tuple[float, float]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)

    @field_validator("*", mode="after")
    @classmethod
    def _finite(cls, v):
        for x in (v if isinstance(v, (list, tuple)) else [v]):
            if isinstance(x, float) and not math.isfinite(x):
                raise ValueError("must be a finite number")
        return v


class Physics(Strict):
    drag: float = Field(1.0, gt=0, description="viscous drag coefficient gamma (force per speed)")
    mass: float = Field(1.0, gt=0, description="mass of each node in the live world")


LIMIT = 1e6  # largest coordinate or length a scene may use


class NodeSpec(Strict):
    id: Union[str, int]
    pos: Pair

    @field_validator("pos")
    @classmethod
    def _bounded(cls, v):
        if any(abs(c) > LIMIT for c in v):
            raise ValueError(f"coordinates must lie within +-{LIMIT:g}")
        return v
    role: Literal["fixed", "input", "hidden", "output"] = "hidden"
    slide: Literal["x", "y"] | None = None


class SpringSpec(Strict):
    between: tuple[Union[str, int], Union[str, int]]
    k: float = Field(1.0, gt=0, le=1e9)
    rest: float | None = Field(None, gt=0, le=LIMIT)


class Generate(Strict):
    kind: Literal["triangular", "disordered"]
    rows: int = Field(6, ge=2, le=400)
    cols: int = Field(6, ge=2, le=400)
    spacing: float = Field(1.0, gt=0)
    nodes: int = Field(100, ge=4, le=5000, description="disordered networks: at most 5,000 nodes")
    coordination: float = Field(4.6, ge=3.0, le=6.0)
    width: float | None = Field(None, gt=0)
    height: float | None = Field(None, gt=0)
    k: float = Field(1.0, gt=0)
    k_spread: float = Field(0.0, ge=0, lt=1, description="k drawn uniformly in k*(1 +- spread)")


Selector = Union[str, int, dict]


class Roles(Strict):
    fixed: list[Selector] = []
    input: list[Selector] = []
    output: list[Selector] = []


class NetworkSpec(Strict):
    nodes: list[NodeSpec] | None = None
    springs: list[SpringSpec] | None = None
    generate: Generate | None = None
    roles: Roles | None = None


class Example(Strict):
    inputs: Union[float, list[Union[float, Pair]]]
    targets: Union[float, list[Union[float, Pair]], None] = None
    label: int | None = Field(None, ge=0)


class CsvSpec(Strict):
    file: str
    inputs: list[str]
    label: str
    classes: list[str] | None = None
    scale: float = Field(0.3, gt=0)
    bias: float | None = Field(None, description="one more input, held at this value in every example")


class TaskSpec(Strict):
    inputs: list[Union[str, int]] | None = None
    outputs: list[Union[str, int]] | None = None
    input: Literal["displacement", "x", "y", "strain"] = "displacement"
    output: Literal["position", "x", "y", "strain"] = "position"
    examples: list[Example] | None = None
    csv: CsvSpec | None = None
    classify: bool = False
    classify_cost: Literal["squared", "margin"] = "squared"
    margin: float = Field(0.3, gt=0)
    test_fraction: float = Field(0.0, ge=0, lt=1)


class LearningSpec(Strict):
    rule: Literal[RULES] = "centered"
    beta: float = Field(1e-3, gt=0)
    lr: float = Field(0.1, gt=0)
    learn: Literal[LEARNS] = "stiffness"
    k_min: float = Field(1e-3, gt=0)
    k_max: float = Field(1e3, gt=0)
    max_change: float = Field(0.5, gt=0, le=1, description="largest relative change of k or L per update")
    epochs: int = Field(100, ge=1, le=10_000_000)
    batch: int = Field(1, ge=1)


class ViewSpec(Strict):
    scale: float | None = Field(None, gt=0, description="pixels per length unit (default: fit)")
    colors: dict[str, tuple[int, int, int]] = {}
    panels: dict[str, bool] = {}


class Expect(Strict):
    loss_below: float | None = Field(None, gt=0)
    loss_drop: float | None = Field(None, gt=1, description="initial / final train loss at least")
    accuracy_at_least: float | None = Field(None, ge=0, le=1)
    test_accuracy_at_least: float | None = Field(None, ge=0, le=1)
    test_loss_below: float | None = Field(None, gt=0)


class SceneSpec(Strict):
    name: str
    description: str = ""
    seed: int = 0
    physics: Physics = Physics()
    network: NetworkSpec
    task: TaskSpec
    learning: LearningSpec = LearningSpec()
    view: ViewSpec = ViewSpec()
    expect: Expect = Expect()
    origin: dict | None = None


# ---------------------------------------------------------------- the loaded scene


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

    def rule(self) -> Rule:
        s = self.spec.learning
        return Rule(s.rule, s.beta, s.lr, s.learn, s.k_min, s.k_max, max_change=s.max_change)


def load_scene(path) -> Scene:
    """Read, validate and build a scene; raises SceneError listing every problem found."""
    path = Path(path)
    return build_scene(_read_yaml(path), path, _Locator(path))


def build_scene(raw: dict, path, locate: _Locator | None = None, lenient: bool = False) -> Scene:
    """Validate and build a scene from its document (the YAML as data). `path` is where it lives
    (data files resolve next to it). lenient=True lets nodes float or flop (the editor builds
    half-made networks and marks those nodes instead)."""
    path = Path(path)
    locate = locate or _Locator(None)
    try:
        spec = SceneSpec.model_validate(raw)
    except ValidationError as exc:
        raise SceneError(path, [_explain(err, raw, locate) for err in exc.errors()]) from None
    problems: list[str] = []
    net, ids, order = _build_network(spec, problems, locate, lenient)
    task = _build_task(spec, net, ids, order, path, problems, locate) if net is not None else None
    if spec.learning.k_min >= spec.learning.k_max:
        problems.append(locate.at(("learning", "k_max")) + "k_max must be larger than k_min")
    if problems:
        raise SceneError(path, problems)
    return Scene(path, spec, net, task, raw)


def _read_yaml(path: Path):
    if not path.exists():
        raise SceneError(path, ["no such file"])
    if path.is_dir():
        raise SceneError(path, ["is a directory, not a scene file"])
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SceneError(path, [f"file is {size / 1e6:.0f} MB; scene files are limited to "
                                f"{MAX_FILE_BYTES / 1e6:.0f} MB"])
    data = path.read_bytes()
    if b"\0" in data:
        raise SceneError(path, ["is a binary file, not YAML text"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SceneError(path, [f"is not UTF-8 text (byte {exc.start})"]) from None
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                m = event.start_mark
                raise SceneError(path, [f"line {m.line + 1}, column {m.column + 1}: YAML aliases "
                                        "(*name) are not allowed in scene files"])
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SceneError(path, [f"{where}not valid YAML: {problem}"]) from None
    except RecursionError:
        raise SceneError(path, ["YAML is nested too deeply"]) from None
    if raw is None:
        raise SceneError(path, ["the file is empty"])
    if not isinstance(raw, dict):
        raise SceneError(path, [f"the top level must be a mapping of keys (name:, network:, "
                                f"task:...), not a {type(raw).__name__}"])
    return raw


class _Locator:
    """Finds the line and column of a key path in the YAML file, for messages."""

    def __init__(self, path: Path | None):
        self.path = path
        self._root = None
        if path is None:  # a document built in memory: key paths without lines
            return
        try:
            self._root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except Exception:  # noqa: BLE001 - positions are a nicety; the message stands without
            self._root = None

    def at(self, loc) -> str:
        node, mark = self._root, None
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                hit = [(k, v) for k, v in node.value if k.value == str(key)]
                if not hit:
                    break
                mark = hit[0][0].start_mark
                node = hit[0][1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
                mark = node.start_mark
            else:
                break
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        keys = ".".join(str(k) if not isinstance(k, int) else f"[{k}]" for k in loc)
        return f"{where}{keys.replace('.[', '[')}: " if keys else where


def _explain(err: dict, raw, locate: _Locator) -> str:
    loc = _document_path(err["loc"], raw)
    msg = err["msg"]
    if err["type"] == "extra_forbidden" and loc:
        model = _model_at(loc[:-1])
        known = list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        msg = f"unknown key '{loc[-1]}'" + (f" (did you mean '{close[0]}'?)" if close else "")
        if known:
            msg += f"; allowed here: {', '.join(known)}"
    elif err["type"] == "missing":
        msg = "this key is required"
    elif err["type"] == "literal_error":
        msg = f"got {err.get('input')!r}: {msg[0].lower() + msg[1:]}"
    return locate.at(loc) + msg


def _document_path(loc, raw) -> tuple:
    """pydantic's error location without its union-branch names: only the steps that really
    lead through the document (a missing key, the last step, is kept)."""
    out, node = [], raw
    for i, step in enumerate(loc):
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        elif i == len(loc) - 1 and isinstance(node, dict) and not isinstance(step, int):
            pass  # a required key that is missing
        else:
            continue
        out.append(step)
    return tuple(out)


def _model_at(loc):
    model = SceneSpec
    for key in loc:
        if isinstance(key, int):
            continue
        f = model.model_fields.get(key)
        if f is None:
            return None
        ann = f.annotation
        found = None
        for cand in _flatten_types(ann):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                found = cand
        if found is None:
            return None
        model = found
    return model


def _flatten_types(ann):
    args = getattr(ann, "__args__", None)
    if not args:
        return [ann]
    out = []
    for a in args:
        out.extend(_flatten_types(a))
    return out


# ---------------------------------------------------------------- building the network

_ROLE = {"fixed": FIXED, "input": INPUT, "hidden": HIDDEN, "output": OUTPUT}


def _build_network(spec: SceneSpec, problems: list, locate: _Locator, lenient: bool = False):
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
        ids = [f"n{i}" for i in range(len(pos))]
        roles = np.full(len(pos), HIDDEN)
        k = g.k * (1 + g.k_spread * rng.uniform(-1, 1, len(edges)))
        L = np.linalg.norm(pos[edges[:, 1]] - pos[edges[:, 0]], axis=1)
    else:
        ids, pos, roles, axes = [], [], [], []
        seen = {}
        for i, nd in enumerate(ns.nodes):
            key = str(nd.id)
            if key in seen:
                problems.append(locate.at(("network", "nodes", i, "id")) +
                                f"duplicate node id '{key}' (first at nodes[{seen[key]}])")
                continue
            seen[key] = len(ids)
            ids.append(key)
            pos.append(nd.pos)
            roles.append(_ROLE[nd.role])
            axes.append((nd.slide != "y", nd.slide != "x"))
        pos = np.array(pos, dtype=float).reshape(-1, 2)
        roles = np.array(roles, dtype=np.int8)
        edges, k, L = [], [], []
        pairs = set()
        for i, s in enumerate(ns.springs or []):
            a, b = str(s.between[0]), str(s.between[1])
            bad = [n for n in (a, b) if n not in seen]
            if bad:
                close = difflib.get_close_matches(bad[0], list(seen), n=1)
                problems.append(locate.at(("network", "springs", i, "between")) +
                                f"no node with id '{bad[0]}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
                continue
            if a == b:
                problems.append(locate.at(("network", "springs", i, "between")) + "a spring needs two different nodes")
                continue
            if frozenset((a, b)) in pairs:
                problems.append(locate.at(("network", "springs", i, "between")) + f"a second spring between '{a}' and '{b}'")
                continue
            pairs.add(frozenset((a, b)))
            ia, ib = seen[a], seen[b]
            rest = s.rest if s.rest is not None else float(np.linalg.norm(pos[ib] - pos[ia]))
            if rest <= 0:
                problems.append(locate.at(("network", "springs", i)) + "the two nodes sit on the same spot: give 'rest'")
                continue
            edges.append((ia, ib))
            k.append(s.k)
            L.append(rest)
        edges = np.array(edges, dtype=np.int64).reshape(-1, 2)
        axes = np.array(axes, dtype=bool).reshape(-1, 2)
    if len(pos) == 0:
        problems.append(locate.at(("network",)) + "the network has no nodes")
        return None, None, None
    order = {"input": [], "output": []}  # role nodes in the order the scene lists them
    if ns.roles is not None:
        assigned = {}
        for role_name in ("fixed", "input", "output"):
            for j, sel in enumerate(getattr(ns.roles, role_name)):
                where = ("network", "roles", role_name, j)
                for idx in _select(sel, pos, ids, where, problems, locate):
                    if idx in assigned and assigned[idx] != role_name:
                        problems.append(locate.at(where) + f"node '{ids[idx]}' is already {assigned[idx]}; "
                                        f"a node cannot be both {assigned[idx]} and {role_name}")
                        continue
                    assigned[idx] = role_name
                    roles[idx] = _ROLE[role_name]
                    if role_name in order and idx not in order[role_name]:
                        order[role_name].append(idx)
    net = Network(pos, edges, np.asarray(k, float), np.asarray(L, float), roles, axes, ids)
    for role_name in order:  # listed nodes first (in order), then the rest by index
        listed = order[role_name]
        rest = [int(i) for i in net.nodes(_ROLE[role_name]) if i not in listed]
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


_NAMED = {"bottom_row": (1, min), "top_row": (1, max), "left_column": (0, min), "right_column": (0, max)}


def _select(sel, pos, ids, where, problems, locate) -> list[int]:
    """Node indices picked by a role selector: an id, a named set, or {nearest: [x, y]}."""
    if isinstance(sel, dict):
        if set(sel) == {"nearest"} and isinstance(sel["nearest"], (list, tuple)) and len(sel["nearest"]) == 2:
            try:
                p = np.array(sel["nearest"], dtype=float)
            except (TypeError, ValueError):
                p = np.array([np.nan, np.nan])
            if np.isfinite(p).all():
                return [int(np.argmin(np.linalg.norm(pos - p, axis=1)))]
        problems.append(locate.at(where) + "a selector mapping must be {nearest: [x, y]} with two finite numbers")
        return []
    key = str(sel)
    if key in _NAMED:
        axis, pick = _NAMED[key]
        edge = pick(pos[:, axis])
        tol = 1e-6 + 0.25 * np.ptp(pos[:, 1 - axis]) / max(1, math.sqrt(len(pos)))
        return [int(i) for i in np.flatnonzero(np.abs(pos[:, axis] - edge) < min(tol, 0.3))]
    if key in ids:
        return [ids.index(key)]
    close = difflib.get_close_matches(key, list(_NAMED) + ids, n=1)
    problems.append(locate.at(where) + f"no node or set named '{key}'" + (f" (did you mean '{close[0]}'?)" if close else "")
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
        if key not in ids:
            problems.append(locate.at(where + (j,)) + f"no node with id '{key}'")
            continue
        out.append(ids.index(key))
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
        rows = _read_csv(ts.csv, path, problems, locate)
        if rows is None:
            return None
        values, labels = rows
        if values.shape[1] != len(inputs):
            problems.append(locate.at(("task", "csv", "inputs")) + f"{values.shape[1]} input columns for {len(inputs)} input nodes")
            return None
        examples = [Example(inputs=list(v), label=int(c)) for v, c in zip(values, labels)]
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
        c = _input_clamp(ex.inputs, ts.input, inputs, net, locate.at(where + ("inputs",)), problems)
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
        t = _target_values(tv, ts.output, n_targets, net, outputs, pair_out, locate.at(where + ("targets",)), problems)
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
    rng = np.random.default_rng(spec.seed)
    order = rng.permutation(n)
    n_test = int(round(ts.test_fraction * n))
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    if len(train) == 0:
        problems.append(locate.at(("task", "test_fraction")) + "leaves no training examples")
        return None
    kind = "distance" if pair_out is not None else "position"
    if ts.classify and ts.classify_cost == "margin":
        kind = "margin"
    return Task(inputs, np.array(clamps), kind, pair_out if pair_out is not None else outputs,
                np.array(targets), mask, np.array(label_list) if ts.classify else None, axis, train, test,
                ts.margin)


def _input_clamp(values, mode, inputs, net, where, problems):
    """(M, 2) displacements of the input nodes for one example."""
    m = len(inputs)
    if mode == "strain":
        if not isinstance(values, (int, float)):
            problems.append(where + "a 'strain' input is one number")
            return None
        a, b = inputs
        d = net.pos[b] - net.pos[a]
        return np.array([-0.5 * values * d, 0.5 * values * d])
    vals = values if isinstance(values, list) else [values]
    if len(vals) != m:
        problems.append(where + f"{len(vals)} values for {m} input nodes")
        return None
    out = np.zeros((m, 2))
    for i, v in enumerate(vals):
        if mode == "displacement":
            if not isinstance(v, (tuple, list)):
                problems.append(where + f"value {i} must be a displacement [dx, dy]")
                return None
            out[i] = v
        else:
            if isinstance(v, (tuple, list)):
                problems.append(where + f"value {i} must be one number (input mode '{mode}')")
                return None
            out[i, {"x": 0, "y": 1}[mode]] = v
    return out


def _target_values(values, mode, n, net, outputs, pairs, where, problems):
    """(P, 2) target displacements, or (P,) target distances for one example."""
    vals = values if isinstance(values, list) else [values]
    if len(vals) != n:
        problems.append(where + f"{len(vals)} targets for {n} outputs" + (" (pairs)" if pairs is not None else ""))
        return None
    if mode == "strain":
        if any(isinstance(v, (tuple, list)) for v in vals):
            problems.append(where + "'strain' targets are numbers")
            return None
        d0 = np.linalg.norm(net.pos[pairs[:, 1]] - net.pos[pairs[:, 0]], axis=1)
        return d0 * (1 + np.array(vals, dtype=float))
    out = np.zeros((n, 2))
    for i, v in enumerate(vals):
        if mode == "position":
            if not isinstance(v, (tuple, list)):
                problems.append(where + f"target {i} must be a displacement [dx, dy]")
                return None
            out[i] = v
        else:
            if isinstance(v, (tuple, list)):
                problems.append(where + f"target {i} must be one number (output mode '{mode}')")
                return None
            out[i, {"x": 0, "y": 1}[mode]] = v
    return out


def resolve_data_file(name: str, scene_path: Path) -> Path:
    """A data file named in a scene: next to the scene, or in the project's assets/."""
    p = Path(name)
    for cand in (scene_path.parent / p, ASSETS / p):
        if cand.is_file():
            return cand
    return scene_path.parent / p


def _read_csv(spec: CsvSpec, scene_path: Path, problems, locate):
    """Input columns min-max scaled to [-scale, scale] (S, M), and class indices (S,)."""
    where = ("task", "csv")
    f = resolve_data_file(spec.file, scene_path)
    if not f.is_file():
        problems.append(locate.at(where + ("file",)) + f"CSV file '{spec.file}' not found (looked next to the scene and in assets/)")
        return None
    try:
        with open(f, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(locate.at(where + ("file",)) + f"cannot read CSV '{spec.file}': {exc}")
        return None
    if not rows:
        problems.append(locate.at(where + ("file",)) + f"CSV '{spec.file}' has no rows")
        return None
    header = list(rows[0].keys())
    missing = [c for c in spec.inputs + [spec.label] if c not in header]
    if missing:
        problems.append(locate.at(where) + f"CSV '{spec.file}' has no column(s) {', '.join(missing)}; its columns are {', '.join(header)}")
        return None
    values = np.zeros((len(rows), len(spec.inputs)))
    for r, row in enumerate(rows):
        for c, col in enumerate(spec.inputs):
            try:
                values[r, c] = float(row[col])
            except (TypeError, ValueError):
                problems.append(locate.at(where) + f"CSV '{spec.file}' row {r + 2}, column '{col}': {row[col]!r} is not a number")
                return None
            if not math.isfinite(values[r, c]):
                problems.append(locate.at(where) + f"CSV '{spec.file}' row {r + 2}, column '{col}': not a finite number")
                return None
    classes = spec.classes or sorted({row[spec.label] for row in rows})
    labels = []
    for r, row in enumerate(rows):
        if row[spec.label] not in classes:
            problems.append(locate.at(where + ("classes",)) + f"CSV row {r + 2}: class {row[spec.label]!r} is not in classes")
            return None
        labels.append(classes.index(row[spec.label]))
    lo, hi = values.min(axis=0), values.max(axis=0)
    scaled = spec.scale * (2 * (values - lo) / np.where(hi > lo, hi - lo, 1) - 1)
    if spec.bias is not None:  # a constant input: the network's bias, as in a neuron
        scaled = np.column_stack([scaled, np.full(len(scaled), spec.bias)])
    return scaled, np.array(labels)


# ---------------------------------------------------------------- saving


def scene_document(scene: Scene, net: Network | None = None, origin: dict | None = None,
                   settings: dict | None = None) -> dict:
    """The scene as a YAML-ready dict, with the network listed node by node and spring by spring
    (so it keeps learned k and L exactly), and an `origin` record of where it came from.
    settings: {section: {key: value}} that replace the file's (e.g. a learning rate tuned live)."""
    net = net or scene.net
    doc = {k: v for k, v in scene.raw.items() if k not in ("network", "origin")}
    for section, values in (settings or {}).items():
        doc[section] = {**doc.get(section, {}), **values}
    nodes = []
    for i in range(net.n_nodes):
        nd = {"id": net.ids[i], "pos": [float(net.pos[i, 0]), float(net.pos[i, 1])],
              "role": ROLE_NAMES[net.roles[i]]}
        if not net.held[i] and not net.axes[i].all():
            nd["slide"] = "x" if net.axes[i, 0] else "y"
        nodes.append(nd)
    springs = [{"between": [net.ids[a], net.ids[b]], "k": float(kk), "rest": float(ll)}
               for (a, b), kk, ll in zip(net.edges, net.k, net.L)]
    doc["network"] = {"nodes": nodes, "springs": springs}
    task = dict(doc.get("task", {}))
    if task.get("inputs") is None:
        task["inputs"] = [net.ids[i] for i in scene.task.inputs]
    if task.get("outputs") is None:
        task["outputs"] = [net.ids[i] for i in np.asarray(scene.task.outputs).ravel()]
    doc["task"] = task
    if origin:
        doc["origin"] = origin
    return doc


def save_scene(scene: Scene, out_path, net: Network | None = None, origin: dict | None = None,
               overwrite_source: bool = False, settings: dict | None = None) -> Path:
    """Write the scene atomically (temp file, then rename). Refuses to write over the scene it
    was loaded from unless overwrite_source=True. A CSV reference is rewritten relative to the
    new file so the saved scene opens from where it lands."""
    out_path = Path(out_path)
    if out_path.resolve() == scene.path.resolve() and not overwrite_source:
        raise SceneError(out_path, ["refusing to overwrite the source scene; choose another file "
                                    "(or ask for it explicitly)"])
    doc = scene_document(scene, net, origin, settings)
    csv_spec = doc.get("task", {}).get("csv")
    if csv_spec:
        src = resolve_data_file(csv_spec["file"], scene.path).resolve()
        doc["task"]["csv"] = dict(csv_spec, file=os.path.relpath(src, out_path.resolve().parent))
    write_atomic(out_path, yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True))
    return out_path


class _Dumper(yaml.SafeDumper):
    """Writes short lists of numbers or names on one line ([x, y]), the rest as blocks."""


def _represent_list(dumper, data):
    flow = len(data) <= 8 and all(isinstance(v, (int, float, str)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_dict(dumper, data):
    flow = len(data) <= 4 and all(
        isinstance(v, (int, float, str)) or (isinstance(v, list) and len(v) <= 8
                                             and all(isinstance(w, (int, float, str)) for w in v))
        for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)


def write_atomic(path, text: str | bytes) -> None:
    """Write a file so that a crash leaves either the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; a saved scene is an ordinary file
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8") if isinstance(text, str) else text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
