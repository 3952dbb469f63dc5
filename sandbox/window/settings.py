"""The learning settings a window changes while training runs (no reset): the rule, what
learns, the learning rate, beta, the engine and the drag. What cannot run now is refused with
the reason."""

from __future__ import annotations

from dataclasses import replace

from ..learning.rules import LEARNS
from .engines import coupled_unavailable, make_engine, settles_quickly

RULE_CYCLE = ("centered", "one-sided", "coupled")


class Settings:
    def __init__(self, session):
        self.session = session
        self._coupled = (None, "")

    @property
    def coupled_reason(self) -> str:
        """Why coupled learning cannot run now ('' if it can); kept until the engine or the
        network changes."""
        s = self.session
        key = (s.engine_name, s.generation, s.version)
        if self._coupled[0] != key:
            self._coupled = (key, coupled_unavailable(s.trainer))
        return self._coupled[1]

    def set_rule(self, **changes) -> bool:
        """Change learning settings (kind, beta, lr, learn) without resetting training. Coupled
        learning where it cannot run is refused with the reason (False)."""
        s = self.session
        if changes.get("kind") == "coupled" and (why := self.coupled_reason):
            s.warn(f"not available: {why}")
            return False
        s.trainer.rule = replace(s.trainer.rule, **changes)
        return True

    def cycle_rule(self) -> None:
        """The next rule of RULE_CYCLE that can run now."""
        s = self.session
        s.command()
        kind = s.rule.kind if s.rule.kind in RULE_CYCLE else RULE_CYCLE[-1]
        for j in range(1, len(RULE_CYCLE) + 1):
            nxt = RULE_CYCLE[(RULE_CYCLE.index(kind) + j) % len(RULE_CYCLE)]
            if nxt != "coupled" or not self.coupled_reason:
                self.set_rule(kind=nxt)
                if nxt != RULE_CYCLE[(RULE_CYCLE.index(kind) + 1) % len(RULE_CYCLE)]:
                    s.say(f"rule: {nxt} (coupled skipped: {self.coupled_reason})")
                return

    def cycle_learn(self) -> None:
        self.session.command()
        self.set_rule(learn=LEARNS[(LEARNS.index(self.session.rule.learn) + 1) % len(LEARNS)])

    def scale_lr(self, factor: float) -> None:
        self.session.command()
        self.set_rule(lr=self.session.rule.lr * factor)

    def scale_beta(self, factor: float) -> None:
        self.session.command()
        self.set_rule(beta=min(1.0, self.session.rule.beta * factor))

    def set_engine(self, name: str) -> None:
        """Switch engine. The physical one is checked first (off this thread): on a network the
        world settles slowly it says what a phase will cost."""
        s = self.session
        s.command()
        if name == s.engine_name:
            return
        if name == "physical" and s.rule.kind == "coupled":
            s.warn("not available: the physical engine cannot do coupled learning (U changes the rule)")
            return
        if s.training.fast:
            s.training.pace, s.training.engine_before_fast = "normal", None
        s.jobs.cancel(("stage", "check"))
        if name == "exact":
            s.jobs.after(lambda: self.use_engine("exact"))
            return
        scene = s.scene

        def then(quick: bool):
            self.use_engine("physical")
            if not quick:
                s.warn("physical engine: the pymunk world settles this network slowly (seconds or more a "
                       "phase, shown live; Esc stops a phase, P goes back to exact)")
        s.jobs.submit("check", "checking how fast the pymunk world settles this network",
                      lambda: settles_quickly(scene), then)

    def toggle_engine(self) -> None:
        self.set_engine("exact" if self.session.engine_name == "physical" else "physical")

    def use_engine(self, name: str) -> None:
        s = self.session
        if name == "physical" and s.rule.kind == "coupled":
            s.warn("coupled learning runs on the exact engine only: staying on exact")
            name = "exact"
        if name != s.engine_name:
            s.trainer.engine = make_engine(name, s.scene.spec.physics, s.trainer.seed)
        s.training.stages = None

    def set_drag(self, drag: float) -> None:
        s = self.session

        def apply():
            s.scene.spec.physics.drag = drag
            if s.engine_name == "physical":
                self.use_engine("physical")
        s.jobs.after(apply, cancel=("stage",))
