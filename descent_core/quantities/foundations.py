"""The numbers of the Foundations and Momentum parts: the worked example lambda = (1, 100) of sections 01 and 03."""

from __future__ import annotations

import functools

import numpy as np
import torch

from .. import theory
from ..landscapes import Landscape, quadratic
from ..race import race
from . import quantity

F64 = torch.float64
LAMBDAS = (1.0, 100.0)  # the worked example of sections 01 and 03: kappa = 100


def worked_example(start=(1.0, 1.0)) -> Landscape:
    bowl = quadratic(*LAMBDAS)
    return Landscape("worked_example", "f = ½(x² + 100y²)", bowl.loss, start, ((-2.0, 2.0), (-2.0, 2.0)),
                     ((0.0, 0.0),), **bowl.closed_forms())


@functools.lru_cache(maxsize=8)
def distances(opt: str, steps: int, **hparams) -> np.ndarray:
    """Distance to the minimum after every step of one run on the worked example, float64."""
    result = race(worked_example(), [opt], steps=steps, dtype=F64, device="cpu", hparams={opt: dict(hparams)})
    return np.linalg.norm(result.paths[0, 0], axis=-1)


# --------------------------------------------------------------------------------------------------------------
# 01 Gradient descent: the worked example, lambda = (1, 100).


@quantity("GD's largest stable step, 2/λmax")
def gd_edge() -> float:
    return theory.gd_edge(LAMBDAS[1])


@quantity("GD's best step 2/(λmin + λmax)")
def gd_best_lr() -> float:
    return theory.gd_best_step(*LAMBDAS)


@quantity("GD's measured contraction per step at its best step")
def gd_best_rate() -> float:
    d = distances("gd", 200, lr=theory.gd_best_step(*LAMBDAS))
    return float(np.median(d[1:] / d[:-1]))


@quantity("steps GD needs per factor 10⁶ at its best step", tolerance=1.0)
def gd_steps_per_million() -> float:
    return theory.steps_per_factor(gd_best_rate(), 1e6)


@quantity("distance to the minimum after 2000 steps at η = 0.0199")
def gd_error_below_edge() -> float:
    return distances("gd", 2000, lr=0.0199)[-1]


@quantity("distance to the minimum after 2000 steps at η = 0.0201")
def gd_error_above_edge() -> float:
    return distances("gd", 2000, lr=0.0201)[-1]


@quantity("growth of the steep coordinate per step at η = 0.0201")
def gd_growth_above_edge() -> float:
    d = distances("gd", 2000, lr=0.0201)
    return float((d[-1] / d[-101]) ** (1 / 100))


@quantity("relative gap between 0.0199 and 0.0201, in percent")
def gd_edge_gap_percent() -> float:
    return 100 * (0.0201 - 0.0199) / 0.0199


# --------------------------------------------------------------------------------------------------------------
# 03 Momentum: Polyak's optimum on the same example.


@quantity("heavy ball's optimal step")
def heavy_ball_lr() -> float:
    return theory.heavy_ball_optimum(*LAMBDAS)[0]


@quantity("heavy ball's optimal momentum")
def heavy_ball_mu() -> float:
    return theory.heavy_ball_optimum(*LAMBDAS)[1]


@quantity("heavy ball's rate at its optimum, (√κ−1)/(√κ+1)")
def heavy_ball_rate() -> float:
    return theory.heavy_ball_optimum(*LAMBDAS)[2]


@quantity("heavy ball's contraction measured over steps 200-400 at its optimum")
def heavy_ball_window_rate() -> float:
    lr, mu, _ = theory.heavy_ball_optimum(*LAMBDAS)
    d = distances("momentum", 400, lr=lr, momentum=mu)
    return float((d[400] / d[200]) ** (1 / 200))


@quantity("steps heavy ball needs per factor 10⁶ at its optimum", tolerance=1.0)
def heavy_ball_steps_per_million() -> float:
    return theory.steps_per_factor(heavy_ball_rate(), 1e6)
