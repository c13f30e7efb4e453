"""The numbers of the Momentum part beyond Polyak's optimum (which ``foundations`` measures): momentum's effective
learning rate, heavy ball's widened edge, Nesterov's first step, its constant-momentum rate and the nesterov_rate
lab's bounds."""

from __future__ import annotations

import functools

import numpy as np

from ..optimizers import make_stepper
from . import quantity
from .basics import constant_gradient_steps, lab_run, stable_edge
from .foundations import LAMBDAS, distances, worked_example

# --------------------------------------------------------------------------------------------------------------
# 03 Momentum: what the buffer does to the step.


@functools.lru_cache(maxsize=1)
def steady_multipliers() -> np.ndarray:
    """Heavy ball's step after 3000 steps of a constant unit gradient, in units of η, for μ = 0.9 and 0.99."""
    stepper = make_stepper("momentum", lr=1.0, momentum=[0.9, 0.99])
    return constant_gradient_steps(stepper, [1.0, 1.0], 3000)[-1]


@quantity("heavy ball's steady step on a constant gradient at μ = 0.9, in units of η·g")
def momentum_multiplier_09() -> float:
    return float(steady_multipliers()[0])


@quantity("heavy ball's steady step on a constant gradient at μ = 0.99, in units of η·g")
def momentum_multiplier_099() -> float:
    return float(steady_multipliers()[1])


@quantity("momentum_effective_lr: heavy ball's steady step on a gradient that flips sign every step, μ = 0.9")
def momentum_multiplier_alternating() -> float:
    return lab_run("momentum_effective_lr")["alternating_multiplier"]


@quantity("momentum_effective_lr: how much more the steady direction is amplified than the flipping one, μ = 0.9")
def momentum_amplification_ratio() -> float:
    run = lab_run("momentum_effective_lr")
    return run["constant_multiplier"] / run["alternating_multiplier"]


@quantity("heavy ball's largest stable step on the worked example with μ = 0.5 (grid of step 1e-5)")
def heavy_ball_edge_half() -> float:
    return stable_edge(worked_example(), "momentum", 0.0295, 0.0305, 101, 2000, momentum=0.5)


@quantity("plain GD's largest stable step on the worked example (grid of step 1e-5)")
def gd_edge_measured() -> float:
    return stable_edge(worked_example(), "gd", 0.0195, 0.0205, 101, 2000)


# --------------------------------------------------------------------------------------------------------------
# 04 Nesterov.


@quantity("Nesterov's first step in units of η·g1 at μ = 0.9 (torch's nesterov=True)")
def nesterov_first_step() -> float:
    stepper = make_stepper("nesterov", lr=1.0, momentum=0.9)
    return float(constant_gradient_steps(stepper, [1.0], 1)[0, 0])


@quantity("Nesterov's measured contraction per step on the worked example at η = 1/λmax, μ = (√κ−1)/(√κ+1)")
def nesterov_constant_rate() -> float:
    root = np.sqrt(LAMBDAS[1] / LAMBDAS[0])
    d = distances("nesterov", 600, lr=1.0 / LAMBDAS[1], momentum=float((root - 1) / (root + 1)))
    return float((d[600] / d[300]) ** (1 / 300))


@quantity("nesterov_rate: the peak of (t+1)²(f − f*) as a fraction of the bound 2L‖x0 − x*‖²")
def nesterov_lab_bound_ratio() -> float:
    return lab_run("nesterov_rate")["nesterov_bound_ratio"]


@quantity("nesterov_rate: the peak of t(f − f*) for GD as a fraction of L‖x0 − x*‖²/2")
def nesterov_lab_gd_bound_ratio() -> float:
    return lab_run("nesterov_rate")["gd_bound_ratio"]
