"""Labs of the guide's Adaptive rates part: AdaGrad's step shrinking like 1/√t where RMSProp's levels off."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from ..landscapes import Landscape
from ..race import race
from .base import F64, DEVICE, LabResult, Param, Plot, close, fmt, lab, log_indices, loglog_slope, lr_param


def _slope_landscape(g: float) -> Landscape:
    gradient = torch.tensor([g, 0.0], dtype=F64)
    return Landscape("lab_slope", "constant slope", lambda xy: g * xy[..., 0] + 0.0 * xy[..., 1], (0.0, 0.0),
                     ((-1e6, 1e6), (-1.0, 1.0)), gradient=lambda xy: gradient.to(xy.dtype).expand(xy.shape))


@lab(title="AdaGrad's shrinking step", section="adagrad",
     claim="On a constant gradient AdaGrad's step falls like η/√t because its sum of squares only grows, while "
           "RMSProp's leaky average settles and its step levels off near η.",
     params=(lr_param(low=1e-3, high=1.0, default=0.1),
             Param("alpha", "RMSProp decay α", 0.5, 0.999, 0.99, step=0.001),
             Param("steps", "steps", 100, 5000, 1000, integer=True, step=100)))
def adagrad_decay(lr: float, alpha: float, steps: int) -> LabResult:
    """AdaGrad and RMSProp racing down a constant slope: the step length of each, over time."""
    g = 2.0
    result = race(_slope_landscape(g), ["adagrad", "rmsprop"], steps=steps, dtype=F64,
                  hparams={"adagrad": {"lr": lr}, "rmsprop": {"lr": lr, "alpha": alpha}}, device=DEVICE,
                  record_grads=True)
    step = result.effective_step()[:, 0, :, 0] * g / lr  # |Δθ_t| / η, (2, steps)
    t = np.arange(1, steps + 1)
    tail = t >= steps // 2
    slopes = [loglog_slope(t[tail], step[i, tail]) for i in range(2)]
    passed = close(slopes[0], -0.5, abs_=0.01) and close(slopes[1], 0.0, abs_=0.05)
    verdict = (f"Over the second half of the run AdaGrad's step falls like t^{fmt(slopes[0])} (theory t^−0.5: "
               f"{fmt(step[0, -1])}·η at step {steps}, η/√t = {fmt(1 / math.sqrt(steps))}·η), while RMSProp's "
               f"follows t^{fmt(slopes[1])} and stands at {fmt(step[1, -1])}·η. "
               + ("AdaGrad keeps decaying; RMSProp does not." if passed else
                  "RMSProp's average has not filled yet (it needs a few times 1/(1−α) steps): run longer."))
    keep = log_indices(steps)
    frame = pd.concat([pd.DataFrame({"step": t[keep], "step length / η": step[i, keep], "method": name,
                                     "kind": "measured"}) for i, name in enumerate(("AdaGrad", "RMSProp"))]
                      + [pd.DataFrame({"step": t[keep], "step length / η": 1 / np.sqrt(t[keep]), "method": "η/√t",
                                       "kind": "theory"})], ignore_index=True)
    return LabResult(
        passed=passed,
        measured={"adagrad_slope": slopes[0], "rmsprop_slope": slopes[1],
                  "adagrad_final_step": float(step[0, -1]), "rmsprop_final_step": float(step[1, -1])},
        expected={"adagrad_slope_theory": -0.5, "rmsprop_slope_theory": 0.0,
                  "inverse_sqrt_final": 1 / math.sqrt(steps)},
        labels={"adagrad_slope": "AdaGrad log-log slope", "rmsprop_slope": "RMSProp log-log slope",
                "adagrad_final_step": f"AdaGrad step / η at t = {steps}",
                "rmsprop_final_step": f"RMSProp step / η at t = {steps}",
                "adagrad_slope_theory": "AdaGrad slope", "rmsprop_slope_theory": "RMSProp slope",
                "inverse_sqrt_final": f"η/√t at t = {steps}"},
        verdict=verdict, frames={"steps": frame},
        plots=(Plot("steps", "step", "step length / η", "method", "Step length on a constant slope", x_log=True,
                    y_log=True, dash="kind", colors=(("AdaGrad", "adagrad"), ("RMSProp", "rmsprop"))),),
        settings={"gradient": f"constant, g = {g:g}",
                  "slope fit": f"log-log least squares over steps {steps // 2} to {steps}",
                  "tolerances": "AdaGrad ±0.01, RMSProp ±0.05"},
    )
