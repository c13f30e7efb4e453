"""Live labs: every number the guide quotes, re-measured by a small experiment that anyone can re-run.

A ``Lab`` couples one claim of a section with the experiment that checks it:

    from descent_core.labs import LABS
    result = LABS["stability_map"].run(lam_max=50.0)
    result.passed, result.verdict          # True, "GD's largest stable learning rate on the grid is ..."
    result.measured["gd_edge"]             # numbers by stable id; result.labels["gd_edge"] is what a reader sees
    result.frames["final_loss"]            # long tables, one per chart, described by result.plots

Each lab declares bounded parameters (``Param`` / ``Choice``) that a UI turns into widgets; ``Lab.run`` rejects
anything outside those bounds with ``ValueError``. Nothing here is a stored answer: the experiment runs, the
``measured`` numbers come out of it, the ``expected`` ones come from the formula the prose states, and ``passed`` is
the same comparison the tests assert. The experiments reuse the engine (``race``, ``make_stepper`` and the
named pieces of ``transforms``); the two variants torch does not offer (Adam without bias correction, ε inside the
square root) are built in ``adam_family`` from those same pieces and stepped by ``Stepper.from_transform``.
No Streamlit here.

The types, the registry and the shared helpers are in ``base``; the labs live in one module per part of the guide,
each registered by the ``lab`` decorator above its function. The parts are imported in the guide's order, so
``LABS`` lists the labs in the order a reader meets them.
"""

from .base import LABS, Choice, Lab, LabResult, Param, Plot, RefLine, Spec, get_lab, lab
# Importing a part registers its labs; the guide's order of the parts is the order of LABS.
from . import foundations, momentum, adaptive, adam_family, after_adam, practice  # noqa: F401
from . import practice_scale, practice_sharpness  # noqa: F401,E402  (Practice, continued: schedules, scale, sharpness)
from .adam_family import (adam_on_the_interval, counterexample_gradients, engine_gap, scale_by_adam_eps_inside_root,
                          scale_by_adam_without_bias_correction)
from .momentum import nesterov_accelerated, nesterov_worst_case

__all__ = [
    "LABS", "get_lab", "lab", "Lab", "LabResult", "Param", "Choice", "Spec", "Plot", "RefLine",
    "adam_on_the_interval", "counterexample_gradients", "engine_gap", "scale_by_adam_eps_inside_root",
    "scale_by_adam_without_bias_correction", "nesterov_accelerated", "nesterov_worst_case",
]
