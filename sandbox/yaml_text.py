"""YAML as the scene files write it: short lists of numbers or names on one line ([x, y]), short
mappings of them too ({id: a, pos: [0, 1]}), the rest as blocks; floats as Python's repr, so
they read back exactly."""

from __future__ import annotations

import math

import yaml


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # libyaml's emitter: 4x faster, same text
    """A safe dumper with the flow style below."""


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


def dump(doc) -> str:
    """The YAML text of doc (plain dicts, lists, numbers and strings), keys in their order."""
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def float_text(v) -> str:
    """A float as `dump` writes it (PyYAML's SafeRepresenter)."""
    v = float(v)
    if v != v:
        return ".nan"
    if v in (math.inf, -math.inf):
        return ".inf" if v > 0 else "-.inf"
    text = repr(v).lower()
    return text.replace("e", ".0e", 1) if "." not in text and "e" in text else text
