"""Spring sandbox: masses and springs that learn by equilibrium propagation.

The API a script needs, imported on first use (so `python main.py --help` stays fast):

    import sandbox
    scene = sandbox.load_scene("allostery")                # a shipped scene by name, or a file
    trainer = sandbox.Trainer.from_scene(scene)
    history = trainer.fit(50)                              # list of dicts, one per epoch
    rows = sandbox.gradient_check(scene.net, scene.task, 0)  # EP against the exact gradient

A scene's temperature and hardware come with it (`scene.override("physics", temperature=1e-7)`
before `from_scene` warms it); `Hardware` is the imperfect-hardware model on its own.
`Network` and `Task` are the arrays underneath; `Rule` holds the learning hyperparameters;
`Engine` and `Cost` are the interfaces (typing.Protocol) a solver and a cost follow. docs/api.md
lists every name with a worked example.
"""

from importlib import import_module

__version__ = "0.2.0"

_API = {
    "load_scene": "sandbox.scenes.build",
    "Scene": "sandbox.scenes.build",
    "SceneError": "sandbox.scenes.messages",
    "library_scenes": "sandbox.paths",
    "Trainer": "sandbox.learning.trainer",
    "Guard": "sandbox.learning.trainer",
    "DivergenceError": "sandbox.learning.trainer",
    "Rule": "sandbox.learning.rules",
    "Hardware": "sandbox.learning.hardware",
    "gradient_check": "sandbox.learning.rules",
    "exact_gradient": "sandbox.learning.rules",
    "Task": "sandbox.learning.task",
    "Network": "sandbox.physics.network",
    "NewtonSolver": "sandbox.physics.equilibrium",
    "PositionCost": "sandbox.physics.costs",
    "DistanceCost": "sandbox.physics.costs",
    "MarginCost": "sandbox.physics.costs",
    "Clamp": "sandbox.physics.costs",
    "Engine": "sandbox.physics.interfaces",
    "Cost": "sandbox.physics.interfaces",
    "TargetCost": "sandbox.physics.interfaces",
}
__all__ = sorted(_API) + ["__version__"]


def __getattr__(name):
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")


def __dir__():
    return __all__
