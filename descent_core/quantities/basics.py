"""The numbers of the Foundations part beyond section 01's worked example: the gradient's angle in section 00, the
"Find the edge yourself" box, run on the ravine its figure draws, and the saddle escape of section 02.

Also the small helpers the other part modules share: a lab's default (or chosen) run, cached; a learning-rate edge
found by running a grid of rates; step lengths on a constant gradient."""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .. import theory
from ..landscapes import get_landscape
from ..optimizers import Stepper
from ..race import race
from . import quantity
from .foundations import gd_best_rate, worked_example

F64 = torch.float64


# --------------------------------------------------------------------------------------------------------------
# Shared helpers (every run cached: a quantity and the tests that read it share one run).


@functools.lru_cache(maxsize=None)
def lab_run(lab_id: str, **params) -> dict[str, float]:
    """Measured and expected numbers of one lab's run (its defaults unless ``params`` say otherwise)."""
    from ..labs import LABS

    result = LABS[lab_id].run(**params)
    return {**result.measured, **result.expected}


def stable_edge(surface, opt: str, low: float, high: float, points: int, steps: int, **hparams) -> float:
    """The largest learning rate of an even grid on [low, high] below the first one whose run is further from the
    minimum at the end than halfway through (every rate of the grid in one batched race)."""
    grid = np.linspace(low, high, points)
    result = race(surface, [opt], steps=steps, dtype=F64, device="cpu", record=steps // 2,
                  hparams={opt: {"lr": grid, **hparams}})
    distance = np.linalg.norm(result.paths[0] - np.asarray(get_landscape(surface).minima[0]), axis=-1)
    stable = np.isfinite(distance[:, -1]) & (distance[:, -1] < distance[:, 1]) & (result.diverged_at[0] < 0)
    unstable = np.flatnonzero(~stable)
    if unstable.size == 0 or unstable[0] == 0:
        return math.nan  # the edge is not inside the grid: widen it
    return float(grid[unstable[0] - 1])


def constant_gradient_steps(stepper: Stepper, grads, steps: int) -> np.ndarray:
    """|Δθ_t| for t = 1..steps of one scalar run per gradient in ``grads``, each gradient held constant; float64.
    Shape (steps, len(grads))."""
    g = torch.tensor(grads, dtype=F64).reshape(-1, 1)
    theta = torch.zeros_like(g)
    state, out = stepper.init(theta), []
    for _ in range(steps):
        new, state = stepper.update(theta, g, state)
        out.append((new - theta).abs()[:, 0])
        theta = new
    return torch.stack(out).numpy()


# --------------------------------------------------------------------------------------------------------------
# 00 The problem: steepest is not most useful.


@quantity("angle in degrees between −∇f and the line to the minimum at (10, 1) on f = ½(x² + 100y²)")
def problem_gradient_angle() -> float:
    surface = worked_example()
    point = torch.tensor([[10.0, 1.0]], dtype=F64)
    downhill = -surface.grad(point)[0].numpy()
    to_minimum = -point[0].numpy()
    cosine = downhill @ to_minimum / (np.linalg.norm(downhill) * np.linalg.norm(to_minimum))
    return math.degrees(math.acos(cosine))


# --------------------------------------------------------------------------------------------------------------
# 01 Gradient descent: the "Find the edge yourself" box, on the figure's own surface (the ravine, λ = (1, 20)).
# tests/test_card_agreement.py reads the box's values from the Markdown and checks that they are these.

BOX_BELOW, BOX_ABOVE, BOX_SLOW, BOX_STEPS = 0.099, 0.101, 0.01, 150


@functools.lru_cache(maxsize=1)
def ravine_box_paths() -> np.ndarray:
    """GD on the ravine at the box's three rates: paths (3, BOX_STEPS + 1, 2), float64."""
    result = race("ravine", ["gd"], steps=BOX_STEPS, dtype=F64, device="cpu",
                  hparams={"gd": {"lr": [BOX_BELOW, BOX_ABOVE, BOX_SLOW]}})
    return result.paths[0]


@quantity("GD's largest stable learning rate on the ravine (a grid of step 1e-4), its edge 2/λmax")
def ravine_gd_edge() -> float:
    return stable_edge("ravine", "gd", 0.095, 0.105, 101, 2000)


@quantity("per-step factor on the steep coordinate |y| at the box's rate below the edge")
def ravine_box_factor_below() -> float:
    y = np.abs(ravine_box_paths()[0, :, 1])
    return float((y[-1] / y[0]) ** (1 / BOX_STEPS))


@quantity("per-step factor on the steep coordinate |y| at the box's rate above the edge, until it leaves")
def ravine_box_factor_above() -> float:
    y = np.abs(ravine_box_paths()[1, :, 1])
    return float((y[40] / y[0]) ** (1 / 40))


@quantity("first step at which the run above the edge leaves the plot (|y| > 5)")
def ravine_box_leaves_at() -> float:
    y = np.abs(ravine_box_paths()[1, :, 1])
    return float(np.argmax(y > get_landscape("ravine").bounds[1][1]))


@quantity("first step at which the slow run's steep coordinate is below 1% of its start")
def ravine_box_steep_gone_at() -> float:
    y = np.abs(ravine_box_paths()[2, :, 1])
    return float(np.argmax(y < 0.01 * y[0]))


@quantity("fraction of the flat coordinate left after the box's steps at the slow rate")
def ravine_box_flat_left() -> float:
    x = np.abs(ravine_box_paths()[2, :, 0])
    return float(x[-1] / x[0])


@quantity("how far apart the box's two rates around the edge are, in percent of the lower one")
def ravine_box_gap_percent() -> float:
    return 100 * (BOX_ABOVE - BOX_BELOW) / BOX_BELOW


@quantity("steps GD needs per factor e at its best step on the worked example, 1/−ln r", tolerance=0.5)
def gd_steps_per_e() -> float:
    return theory.steps_per_factor(gd_best_rate(), math.e)


# --------------------------------------------------------------------------------------------------------------
# 02 SGD: leaving the saddle of x² − y² (the saddle_escape lab's default run: start (1.5, 0.001), η = 0.01).


@quantity("saddle_escape: SGD's steps to |y| > 1")
def saddle_sgd_escape() -> float:
    return lab_run("saddle_escape")["sgd_escape"]


@quantity("saddle_escape: SGD's predicted steps ln(1/|y0|)/ln(1+2η), rounded up")
def saddle_sgd_predicted() -> float:
    return lab_run("saddle_escape")["sgd_escape_predicted"]


@quantity("saddle_escape: heavy ball's steps to |y| > 1")
def saddle_momentum_escape() -> float:
    return lab_run("saddle_escape")["momentum_escape"]


@quantity("saddle_escape: AdaGrad's steps to |y| > 1")
def saddle_adagrad_escape() -> float:
    return lab_run("saddle_escape")["adagrad_escape"]


@quantity("saddle_escape: RMSProp's steps to |y| > 1")
def saddle_rmsprop_escape() -> float:
    return lab_run("saddle_escape")["rmsprop_escape"]


@quantity("saddle_escape: Adam's steps to |y| > 1")
def saddle_adam_escape() -> float:
    return lab_run("saddle_escape")["adam_escape"]


@functools.lru_cache(maxsize=1)
def saddle_adagrad_y_steps() -> np.ndarray:
    """AdaGrad's |Δy| per step, in units of η, on the lab's saddle run."""
    result = race("saddle", ["adagrad"], steps=1300, starts=[(1.5, 0.001)], dtype=F64, device="cpu",
                  hparams={"adagrad": {"lr": 0.01}})
    return np.abs(np.diff(result.paths[0, 0, :, 1])) / 0.01


@quantity("AdaGrad's step along y at step 100 of the saddle run, in units of η")
def saddle_adagrad_y_step_100() -> float:
    return float(saddle_adagrad_y_steps()[99])


@quantity("AdaGrad's step along y at step 1000 of the saddle run, in units of η")
def saddle_adagrad_y_step_1000() -> float:
    return float(saddle_adagrad_y_steps()[999])


@quantity("AdaDelta's distance from its start after 100 steps on the saddle (from (1.5, 0.001))")
def saddle_adadelta_moved_100() -> float:
    result = race("saddle", ["adadelta"], steps=100, starts=[(1.5, 0.001)], dtype=F64, device="cpu",
                  hparams={"adadelta": {}})
    path = result.paths[0, 0]
    return float(np.linalg.norm(path[-1] - path[0]))
