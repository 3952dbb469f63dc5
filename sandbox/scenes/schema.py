"""The scene format as pydantic models: every key, its type, default and bounds.

The README has the reference table of every key; `scenes/annotated.yaml` is a commented example.
"""

from __future__ import annotations

import math
from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..learning.rules import LEARNS, RULES

MAX_NODES = 200_000

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
    lr_rest: float | None = Field(None, gt=0, description="learning rate of rest lengths (default: lr)")
    lr_decay: float = Field(0.0, ge=0, description="the rate at epoch t is lr / (1 + lr_decay t)")
    learn: Literal[LEARNS] = "stiffness"
    k_min: float = Field(1e-3, gt=0)
    k_max: float = Field(1e3, gt=0)
    max_change: float = Field(0.5, gt=0, le=1, description="largest change per update: of k relative to k, of L relative to the spring's extension")
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


