"""descent_core: verified, batched PyTorch steppers for the optimizers of the Descent field guide.

    import descent_core as dc
    stepper = dc.make_stepper("adam", lr=1e-2)
    race = dc.race("beale", ["sgd", "adam"], steps=300)

Never imports Streamlit: the engine is usable from notebooks, tests and benchmarks alike.
"""

from .hyper import Rule
from .landscapes import LANDSCAPES, Landscape, get_landscape, quadratic
from .optimizers import OPTIMIZERS, OptimizerSpec, Stepper, StepperState, make_stepper, resolve_hparams
from .limits import MAX_PARTICLES, MAX_POINTS, MAX_STEPS
from .race import Race, clip_by_global_norm, default_device, race
from . import schedules
from .schedules import Schedule

__all__ = [
    "LANDSCAPES", "Landscape", "get_landscape", "quadratic",
    "OPTIMIZERS", "OptimizerSpec", "Stepper", "StepperState", "make_stepper", "resolve_hparams",
    "MAX_PARTICLES", "MAX_POINTS", "MAX_STEPS", "Race", "race", "clip_by_global_norm", "default_device",
    "schedules", "Schedule", "Rule",
]
