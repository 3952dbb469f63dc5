"""Editing a scene: each edit turns the scene's document (the YAML as data) into a new one.

The window's editor never touches arrays directly: it edits the document, and the document is
built and validated exactly as a file would be (`build_scene`), so what the editor shows is what
a saved file will load as. The network is listed node by node and spring by spring (learned k
and L kept), and the task names its input and output nodes, so an edit stays local: a new input
gets a zero clamp in every example, a new output a zero target, and a node that loses its role
takes its entries with it.
"""

from __future__ import annotations

import copy

import numpy as np

from ..physics.network import ROLE_NAMES, Network
from ..physics.rigidity import floppy_nodes, unanchored_nodes
from ..scenes.build import Scene, random_split
from ..scenes.save import scene_document


class EditError(ValueError):
    """An edit this scene cannot take; the message says why, for the status line."""


def document(scene: Scene) -> dict:
    """A deep copy of the scene's document with the network listed and the task explicit."""
    doc = copy.deepcopy(scene_document(scene))
    doc.pop("origin", None)
    return doc


def loose_nodes(net: Network) -> list[int]:
    """Free nodes that nothing holds in place: ones no spring path ties to a held node, ones
    with fewer springs than directions to move in, else the floppy ones (they move at no cost;
    that check is skipped on large networks, where the first two catch what editing does)."""
    floating = {i for cluster in unanchored_nodes(net) for i in cluster}
    degree = np.bincount(net.edges.ravel(), minlength=net.n_nodes)
    directions = np.where(net.held, 0, net.axes.sum(axis=1))
    swinging = set(np.flatnonzero(degree < directions).tolist())
    return sorted(floating | swinging) or floppy_nodes(net)


# ------------------------------------------------------------------ nodes and springs


def _nodes(doc) -> list[dict]:
    return doc["network"]["nodes"]


def _index(doc, node_id) -> int:
    for i, nd in enumerate(_nodes(doc)):
        if str(nd["id"]) == str(node_id):
            return i
    raise EditError(f"no node '{node_id}'")


def new_id(doc) -> str | int:
    """An id no node has: the next integer if the ids are integers, else n<number>."""
    ids = [nd["id"] for nd in _nodes(doc)]
    if ids and all(str(i).isdigit() for i in ids):  # numbered nodes: the next number
        return max(int(i) for i in ids) + 1
    taken = {str(i) for i in ids}
    n = len(ids)
    while f"n{n}" in taken:
        n += 1
    return f"n{n}"


def add_node(doc, p, connect_to=None) -> str | int:
    """A hidden node at world point p (2,); with connect_to, a spring to that node too."""
    node_id = new_id(doc)
    _nodes(doc).append({"id": node_id, "pos": [float(p[0]), float(p[1])], "role": "hidden"})
    if connect_to is not None:
        toggle_spring(doc, connect_to, node_id)
    return node_id


def move_node(doc, node_id, p) -> None:
    """Move a node's reference position to p (2,); its springs take their new lengths as rest
    lengths, so the drawing is the relaxed shape."""
    nd = _nodes(doc)[_index(doc, node_id)]
    nd["pos"] = [float(p[0]), float(p[1])]
    where = {str(n["id"]): np.array(n["pos"], float) for n in _nodes(doc)}
    for s in doc["network"]["springs"]:
        a, b = (str(v) for v in s["between"])
        if str(node_id) in (a, b):
            s["rest"] = float(np.linalg.norm(where[b] - where[a]))


def remove_node(doc, node_id) -> None:
    """Remove a node, its springs, and its entries in the task."""
    set_role(doc, node_id, "hidden")
    i = _index(doc, node_id)
    del _nodes(doc)[i]
    springs = doc["network"]["springs"]
    springs[:] = [s for s in springs if str(node_id) not in (str(v) for v in s["between"])]


def _spring_at(doc, a, b) -> int | None:
    pair = {str(a), str(b)}
    for j, s in enumerate(doc["network"]["springs"]):
        if {str(v) for v in s["between"]} == pair:
            return j
    return None


def toggle_spring(doc, a, b) -> bool:
    """Add a spring between nodes a and b (the median stiffness, resting at their distance), or
    remove the one that is there. True if a spring was added."""
    if str(a) == str(b):
        raise EditError("a spring needs two different nodes")
    springs = doc["network"]["springs"]
    j = _spring_at(doc, a, b)
    if j is not None:
        del springs[j]
        return False
    pa, pb = (np.array(_nodes(doc)[_index(doc, n)]["pos"], float) for n in (a, b))
    rest = float(np.linalg.norm(pb - pa))
    if rest <= 0:
        raise EditError("the two nodes sit on the same spot")
    k = float(np.median([s.get("k", 1.0) for s in springs])) if springs else 1.0
    springs.append({"between": [a, b], "k": k, "rest": rest})
    return True


def scale_stiffness(doc, spring: int, factor: float) -> float:
    """Multiply spring `spring`'s stiffness by factor (its index in the network's list);
    returns the new k."""
    springs = doc["network"]["springs"]
    if not 0 <= spring < len(springs):
        raise EditError(f"no spring {spring}")
    springs[spring]["k"] = float(springs[spring].get("k", 1.0)) * factor
    return springs[spring]["k"]


# ------------------------------------------------------------------ roles and the task


def _task(doc) -> dict:
    return doc["task"]


def _listed(doc, key) -> list:
    return [str(v) for v in (_task(doc).get(key) or [])]


def _examples(doc, what: str) -> list:
    task = _task(doc)
    if task.get("csv") is not None:
        raise EditError(f"this scene reads its examples from {task['csv']['file']}: {what} there")
    return task.get("examples") or []


def _entries(ex, key) -> list:
    """An example's inputs or targets as a list (a lone number becomes a list of one)."""
    v = ex.get(key)
    v = [] if v is None else v if isinstance(v, list) else [v]
    ex[key] = v
    return v


def _zero(mode: str):
    return [0.0, 0.0] if mode in ("displacement", "position") else 0.0


def set_role(doc, node_id, role: str) -> None:
    """Give a node a role (fixed, input, hidden, output), keeping the task consistent."""
    if role not in ROLE_NAMES:
        raise EditError(f"unknown role '{role}'")
    i = _index(doc, node_id)
    nd = _nodes(doc)[i]
    old = nd.get("role", "hidden")
    if old == role:
        return
    task = _task(doc)
    for side, key, mode_key, default_mode in (("input", "inputs", "input", "displacement"),
                                               ("output", "outputs", "output", "position")):
        if role != side and old != side:
            continue
        mode = task.get(mode_key, default_mode)
        if mode == "strain":  # pairs are made with set_pair
            if role == side:
                raise EditError(f"this scene's {key} are pairs of nodes: give the role to two nodes in turn")
            if side == "input":
                raise EditError("the input is a pair of nodes: make another pair to move it")
            _drop_output_pair(doc, node_id)
            continue
        listed = _listed(doc, key)
        if side == "output" and task.get("classify"):
            # one output per class: targets come from the labels, not from examples
            if old == side and listed.index(str(node_id)) < len(listed) - 1:
                raise EditError("outputs of a classifier stand for classes: only the last one can go")
            task[key] = [v for v in task[key] if str(v) != str(node_id)] + ([node_id] if role == side else [])
            continue
        examples = _examples(doc, f"change its {key}")
        entry_key = "inputs" if side == "input" else "targets"
        if old == side:
            j = listed.index(str(node_id))
            task[key] = [v for v in task[key] if str(v) != str(node_id)]
            for ex in examples:
                del _entries(ex, entry_key)[j]
        else:
            task[key] = list(task.get(key) or []) + [node_id]
            for ex in examples:
                _entries(ex, entry_key).append(_zero(mode))
    nd["role"] = role
    if role in ("fixed", "input"):  # held nodes slide on no rail
        nd.pop("slide", None)


def set_pair(doc, side: str, a, b) -> None:
    """In a strain scene, make nodes a and b a pair: the input pair (the old one turns hidden),
    or one more output pair (its target in every example: strain 0, to be dragged)."""
    task = _task(doc)
    if task.get(side) != "strain":
        raise EditError(f"this scene's {side}s are not strains between pairs")
    if str(a) == str(b):
        raise EditError("a pair needs two different nodes")
    for n in (a, b):
        if _nodes(doc)[_index(doc, n)].get("role") in ("input", "output"):
            raise EditError(f"node {n} is an {_nodes(doc)[_index(doc, n)]['role']} already")
    if side == "input":
        for old in task["inputs"]:
            _nodes(doc)[_index(doc, old)]["role"] = "hidden"
        task["inputs"] = [a, b]
    else:
        task["outputs"] = list(task["outputs"]) + [a, b]
        for ex in _examples(doc, "add outputs"):
            _entries(ex, "targets").append(0.0)
    for n in (a, b):
        nd = _nodes(doc)[_index(doc, n)]
        nd["role"] = side
        if side == "input":
            nd.pop("slide", None)


def _drop_output_pair(doc, node_id) -> None:
    """Remove the output pair node_id belongs to: its partner turns hidden, its targets go."""
    task = _task(doc)
    listed = _listed(doc, "outputs")
    p = listed.index(str(node_id)) // 2
    partner = listed[2 * p + 1 - listed.index(str(node_id)) % 2]
    task["outputs"] = [v for j, v in enumerate(task["outputs"]) if j // 2 != p]
    _nodes(doc)[_index(doc, partner)]["role"] = "hidden"
    for ex in _examples(doc, "remove outputs"):
        del _entries(ex, "targets")[p]


def _set_entry(doc, s: int, key: str, mode: str, j: int, d) -> None:
    examples = _examples(doc, f"edit its {key}")
    if not 0 <= s < len(examples):
        raise EditError(f"no example {s}")
    entries = _entries(examples[s], key)
    if mode in ("displacement", "position"):
        entries[j] = [float(d[0]), float(d[1])]
    elif mode in ("x", "y"):
        entries[j] = float(d[{"x": 0, "y": 1}[mode]])
    else:
        raise EditError(f"this scene's {key} are strains: change them in the file")


def set_clamp(doc, s: int, node_id, d) -> None:
    """Example s holds input node_id displaced by d (2,) from its reference position."""
    j = _listed(doc, "inputs").index(str(node_id))
    _set_entry(doc, s, "inputs", _task(doc).get("input", "displacement"), j, d)


def set_target(doc, s: int, node_id, d) -> None:
    """Example s wants output node_id displaced by d (2,) from its reference position."""
    if _task(doc).get("classify"):
        raise EditError("a classifier's targets come from the labels of its examples")
    j = _listed(doc, "outputs").index(str(node_id))
    _set_entry(doc, s, "targets", _task(doc).get("output", "position"), j, d)


def set_strain(doc, s: int, key: str, value: float, pair: int = 0) -> None:
    """Example s's strain: of the input pair (key "inputs") or of output pair `pair` (key
    "targets"), the relative change of the pair's distance."""
    mode_key = "input" if key == "inputs" else "output"
    if _task(doc).get(mode_key) != "strain":
        raise EditError(f"this scene's {key} are not strains")
    examples = _examples(doc, f"edit its {key}")
    if key == "inputs":
        examples[s]["inputs"] = float(value)
    else:
        _entries(examples[s], "targets")[pair] = float(value)


def pin_split(doc) -> None:
    """Write the held-out split into the examples (`test: true` on each held-out one), so that
    adding or removing an example keeps the others where they are (a random split of a new
    number of examples would shuffle them all)."""
    task = _task(doc)
    examples = task.get("examples") or []
    if not task.get("test_fraction") or any("test" in ex for ex in examples):
        return
    test, _ = random_split(doc.get("seed", 0), len(examples), task["test_fraction"])
    for j in test:
        examples[j]["test"] = True


def add_example(doc, s: int) -> int:
    """A copy of example s appended to the examples; returns its index."""
    examples = _examples(doc, "add examples")
    pin_split(doc)
    examples.append(copy.deepcopy(examples[s]))
    return len(examples) - 1


def remove_example(doc, s: int) -> None:
    examples = _examples(doc, "remove examples")
    pin_split(doc)
    if len(examples) <= 1:
        raise EditError("a scene needs at least one example")
    del examples[s]


# ------------------------------------------------------------------ examples as numbers


def input_entry(mode: str, numbers) -> float | list:
    """An example's `inputs` as the file writes them, from its input numbers (D,): one number per
    input (x, y), [dx, dy] per input (displacement), or the pair's strain."""
    v = [float(a) for a in np.ravel(numbers)]
    if mode == "strain":
        return v[0]
    if mode == "displacement":
        return [v[i:i + 2] for i in range(0, len(v), 2)]
    return v


def target_entry(mode: str, numbers) -> list:
    """An example's `targets` as the file writes them, from its target numbers (P',)."""
    v = [float(a) for a in np.ravel(numbers)]
    if mode == "position":
        return [v[i:i + 2] for i in range(0, len(v), 2)]
    return v


def _example(doc, inputs, targets, label) -> dict:
    task = _task(doc)
    ex = {"inputs": input_entry(task.get("input", "displacement"), inputs)}
    if task.get("classify"):
        if label is None:
            raise EditError("a classifier's examples need a class")
        ex["label"] = int(label)
    else:
        if targets is None:
            raise EditError("an example needs its targets")
        ex["targets"] = target_entry(task.get("output", "position"), targets)
    return ex


def add_example_at(doc, inputs, targets=None, label=None) -> int:
    """A new example (appended) with input numbers (D,) and target numbers (P',), or a class
    label for a classifier; returns its index."""
    examples = _examples(doc, "add examples")
    pin_split(doc)
    examples.append(_example(doc, inputs, targets, label))
    return len(examples) - 1


def set_example(doc, s: int, inputs, targets=None, label=None) -> None:
    """Example s takes new input numbers (D,) and target numbers (P',) (or a class label)."""
    examples = _examples(doc, "move examples")
    if not 0 <= s < len(examples):
        raise EditError(f"no example {s}")
    pin_split(doc)
    examples[s] = {**_example(doc, inputs, targets, label), **({"test": True} if examples[s].get("test") else {})}
