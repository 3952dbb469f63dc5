"""A network on disk: the `network:` section of a scene file, every node and spring listed.

    network:
      nodes:
      - {id: a, pos: [0.0, 0.0], role: fixed}
      - {id: b, pos: [1.0, 0.5], role: output, slide: x}
      springs:
      - {between: [a, b], k: 1.0, rest: 1.118033988749895}

Numbers are written as Python's repr, so k, L and positions read back to the last bit. Give it
a `name:` and a `task:` and it is a scene; `load_network` also reads the network of a scene file
that lists its nodes (a `trained.yaml`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import yaml

from .. import yaml_text
from ..files import write_atomic
from .network import ROLE_NAMES, Network

MAX_BYTES = 200_000_000


def network_document(net: Network, labels: dict[str, str] | None = None) -> dict:
    """The network as a YAML-ready {"network": {"nodes": [...], "springs": [...]}}; labels:
    {node id: the name the window shows} for the nodes that have one."""
    labels = labels or {}
    nodes = []
    for i in range(net.n_nodes):
        nd = {"id": net.ids[i], "pos": [float(net.pos[i, 0]), float(net.pos[i, 1])], "role": ROLE_NAMES[net.roles[i]]}
        slide = _slide(net, i)
        if slide:
            nd["slide"] = slide
        if str(net.ids[i]) in labels:
            nd["label"] = labels[str(net.ids[i])]
        nodes.append(nd)
    springs = [{"between": [net.ids[a], net.ids[b]], "k": float(k), "rest": float(L)}
               for (a, b), k, L in zip(net.edges.tolist(), net.k, net.L)]
    return {"network": {"nodes": nodes, "springs": springs}}


def _slide(net: Network, i: int) -> str:
    """'x' or 'y' for a node on a rail, else ''."""
    if not net.axes[i].any():
        raise ValueError(f"Network.save: node {net.ids[i]!r} may move along neither axis; a scene cannot "
                         "say that: make it fixed")
    return "" if net.axes[i].all() else ("x" if net.axes[i, 0] else "y")


_PLAIN_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORDS = {w for word in ("yes", "no", "true", "false", "on", "off", "null") for w in (word, word.title(), word.upper())}


def network_text(net: Network, labels: dict[str, str] | None = None) -> str | None:
    """The `network:` section exactly as yaml_text.dump(network_document(net)) writes it (a node
    or a spring a line), 20 times faster: a checkpoint of a 20,000-node network is this text.
    None where the dumper would write otherwise: a name it would quote, a line it might wrap
    (over 80 columns), or nodes with labels."""
    if labels:
        return None
    ids = net.ids
    if not all(_PLAIN_ID.fullmatch(i) and i not in _WORDS for i in ids):
        return None
    f = yaml_text.float_text
    lines = ["network:", "  nodes:"]
    for i in range(net.n_nodes):
        slide = _slide(net, i)
        lines.append(f"  - {{id: {ids[i]}, pos: [{f(net.pos[i, 0])}, {f(net.pos[i, 1])}], "
                     f"role: {ROLE_NAMES[net.roles[i]]}" + (f", slide: {slide}}}" if slide else "}"))
    lines.append("  springs:" if net.n_springs else "  springs: []")
    for (a, b), k, rest in zip(net.edges.tolist(), net.k.tolist(), net.L.tolist()):
        lines.append(f"  - {{between: [{ids[a]}, {ids[b]}], k: {f(k)}, rest: {f(rest)}}}")
    if any(len(line) > 80 for line in lines):
        return None
    return "\n".join(lines) + "\n"


def save_network(net: Network, path) -> None:
    """Write net to path (YAML), atomically."""
    text = network_text(net) or yaml_text.dump(network_document(net))
    write_atomic(Path(path), "# a spring network (sandbox.Network.save): a scene's network section\n" + text)


def load_network(path) -> Network:
    """The network listed in the YAML file at path; ValueError naming the file and the problem."""
    path = Path(path)

    def fail(problem):
        return ValueError(f"{path}: {problem}")

    try:
        if path.stat().st_size > MAX_BYTES:
            raise fail(f"larger than {MAX_BYTES:,} bytes")
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(exc.strerror or str(exc)) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise fail(f"not a YAML network file ({str(exc).splitlines()[0]})") from None
    section = doc.get("network") if isinstance(doc, dict) else None
    if not isinstance(section, dict):
        raise fail("no 'network:' section")
    if "nodes" not in section:
        raise fail("the network is generated, not listed: load the scene (sandbox.load_scene) and take its .net")
    try:
        nodes, springs = section["nodes"], section.get("springs") or []
        ids = [str(nd["id"]) for nd in nodes]
        index = {name: i for i, name in enumerate(ids)}
        pos = [nd["pos"] for nd in nodes]
        roles = [ROLE_NAMES.index(nd.get("role", "hidden")) for nd in nodes]
        axes = [(nd.get("slide") != "y", nd.get("slide") != "x") for nd in nodes]
        edges = [(index[str(s["between"][0])], index[str(s["between"][1])]) for s in springs]
        pos_arr = np.array(pos, dtype=float).reshape(-1, 2)
        k = [float(s.get("k", 1.0)) for s in springs]
        L = [float(s["rest"]) if s.get("rest") is not None else float(np.linalg.norm(pos_arr[b] - pos_arr[a]))
             for s, (a, b) in zip(springs, edges)]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise fail(f"a node or spring is malformed ({type(exc).__name__}: {exc})") from None
    try:
        return Network(pos_arr, np.array(edges, dtype=np.int64).reshape(-1, 2), k, L, roles, axes, ids)
    except ValueError as exc:
        raise fail(str(exc)) from None
