"""descent_core: verified, batched PyTorch steppers for the optimizers of the Descent field guide.

    import descent_core as dc
    stepper = dc.make_stepper("adam", lr=1e-2)
    race = dc.race("beale", ["sgd", "adam"], steps=300)

Never imports Streamlit: the engine is usable from notebooks, tests and benchmarks alike.

The names below load on first use (PEP 562), so ``from descent_core import content`` reads the guide's Markdown
without importing torch: the app draws its frame and menu while torch is still loading on a server's first visit.
"""

from __future__ import annotations

import importlib
import sys
import types

_EXPORTS = {
    "Rule": "hyper",
    "LANDSCAPES": "landscapes", "Landscape": "landscapes", "get_landscape": "landscapes", "quadratic": "landscapes",
    "OPTIMIZERS": "optimizers", "OptimizerSpec": "optimizers", "Stepper": "optimizers", "StepperState": "optimizers",
    "make_stepper": "optimizers", "resolve_hparams": "optimizers",
    "MAX_PARTICLES": "limits", "MAX_POINTS": "limits", "MAX_STEPS": "limits",
    "Race": "race", "race": "race", "clip_by_global_norm": "race", "default_device": "race",
    "Schedule": "schedules",
}
_MODULES = {"schedules"}

__all__ = sorted([*_EXPORTS, *_MODULES])


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__


class _Engine(types.ModuleType):
    """The package's module type: ``descent_core.race`` is both a submodule and the function it defines, and the
    import system would set the package attribute to the submodule on first import; ``dc.race`` stays the function
    (the submodule is in ``sys.modules``), as it was when every name was imported eagerly."""

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, types.ModuleType) and name in _EXPORTS and _EXPORTS[name] == name:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Engine
