"""Closed forms the guide states, written once: the labs check them against runs, the prose quotes them.

All of them concern the quadratic f = 1/2 sum_i lambda_i u_i^2 (a bowl whose curvatures are its eigenvalues).
"""

from __future__ import annotations

import math


def gd_edge(l_max: float) -> float:
    """The largest stable constant step of gradient descent: eta < 2 / lambda_max."""
    return 2.0 / l_max


def gd_best_step(l_min: float, l_max: float) -> float:
    """The step that balances the slowest and the fastest direction: eta* = 2 / (lambda_min + lambda_max)."""
    return 2.0 / (l_min + l_max)


def gd_rate(kappa: float) -> float:
    """GD's contraction per step at eta*: (kappa - 1) / (kappa + 1)."""
    return (kappa - 1.0) / (kappa + 1.0)


def heavy_ball_optimum(l_min: float, l_max: float) -> tuple[float, float, float]:
    """Polyak's optimal (eta, mu) and the rate they reach: ((2/(sqrt l_min + sqrt l_max))^2, r^2, r) with
    r = (sqrt kappa - 1) / (sqrt kappa + 1)."""
    root = math.sqrt(l_max / l_min)
    rate = (root - 1.0) / (root + 1.0)
    return (2.0 / (math.sqrt(l_min) + math.sqrt(l_max))) ** 2, rate**2, rate


def heavy_ball_edge(l_max: float, mu: float) -> float:
    """The largest stable step of heavy-ball momentum: eta lambda_max < 2 + 2 mu."""
    return (2.0 + 2.0 * mu) / l_max


def steps_per_factor(rate: float, factor: float) -> float:
    """How many steps a contraction of ``rate`` per step needs to shrink the error by ``factor``."""
    return math.log(factor) / -math.log(rate)
