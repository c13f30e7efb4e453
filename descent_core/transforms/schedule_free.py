"""Schedule-free averaging (Defazio et al. 2024): momentum replaced by an average of the iterates, and no schedule.

Three sequences share one step. z takes plain steps along the base direction d (SGD's g, or AdamW's
normalised g); x is a weighted running average of the z's; the gradient is taken at y, a point between them:

    z_{t+1} = z_t - lr_t d_t
    x_{t+1} = (1 - c_{t+1}) x_t + c_{t+1} z_{t+1}
    y_{t+1} = (1 - beta) z_{t+1} + beta x_{t+1}

In a ``Stepper`` theta is y, the point the gradient is evaluated at; z and x are state slots. x is the point a
reader evaluates (the reference's ``optimizer.eval()`` swaps it in): the registry declares it with
``OptimizerSpec.evaluation_slot = "x"`` and ``Stepper.evaluation_point`` returns it.

The averaging weights, as schedulefree 1.4.1 computes them, on the learning rate ``ctx.lr`` in force at step t
(the base lr times any schedule's ``lr_scale``):
    lr_t = ctx.lr * (t / warmup_steps while t - 1 < warmup_steps, else 1)
    lr_max = max(lr_max, lr_t)               (running, per run)
    w_t = t^r * lr_max^weight_lr_power,  c_t = w_t / sum_{s <= t} w_s   (0 while every weight is 0)
So an external schedule multiplies both the z step and, through lr_max, the weights: with warmup the early,
small-rate iterates count less in x.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from ..hyper import Scalar
from .base import Context, Transform


class ScheduleFreeState(NamedTuple):
    z: Tensor  # the plain-step sequence
    x: Tensor  # the weighted average of the z's: the point to evaluate
    lr_max: Scalar  # largest warmed-up learning rate so far (a tensor when any setting is per run)
    weight_sum: Scalar  # sum of the averaging weights so far


def warmed_up(lr: Scalar, t: int, warmup_steps: Scalar) -> Scalar:
    """lr * t / warmup_steps during the first warmup_steps steps, lr after (schedulefree's built-in warmup)."""
    if isinstance(warmup_steps, Tensor):
        return lr * torch.where(warmup_steps > t - 1, t / warmup_steps.clamp(min=1e-30), 1.0)
    return lr * (t / warmup_steps) if t - 1 < warmup_steps else lr


def averaging_weight(state: ScheduleFreeState, lr_t: Scalar, t: int, r: Scalar,
                     weight_lr_power: Scalar) -> tuple[Scalar, Scalar, Scalar]:
    """c_t = w_t / sum w with w_t = t^r lr_max^p: returns (c_t, lr_max, weight_sum)."""
    per_run = any(isinstance(v, Tensor) for v in (state.lr_max, lr_t, r, weight_lr_power))
    if per_run:
        lr_max = torch.maximum(torch.as_tensor(state.lr_max), torch.as_tensor(lr_t))
        weight = t**r * lr_max**weight_lr_power
        weight_sum = state.weight_sum + weight
        return weight / torch.clamp(weight_sum, min=1e-300), lr_max, weight_sum
    lr_max = max(state.lr_max, lr_t)
    weight = t**r * lr_max**weight_lr_power
    weight_sum = state.weight_sum + weight
    return (weight / weight_sum if weight_sum else 0.0), lr_max, weight_sum


def schedule_free(beta: Scalar, warmup_steps: Scalar = 0.0, r: Scalar = 0.0,
                  weight_lr_power: Scalar = 2.0) -> Transform:
    """Schedule-free averaging of a base direction d (see the module docstring for the three sequences and the
    weights). The output is the finished signed step y_{t+1} - y_t (``applies_lr``); ``beta`` is the
    interpolation between z and x (SGD's momentum, AdamW's b1)."""

    def init(theta: Tensor) -> ScheduleFreeState:
        return ScheduleFreeState(theta.clone(), theta.clone(), -1.0, 0.0)

    def update(d: Tensor, state: ScheduleFreeState, ctx: Context) -> tuple[Tensor, ScheduleFreeState]:
        lr_t = warmed_up(ctx.lr, ctx.t, warmup_steps)
        c, lr_max, weight_sum = averaging_weight(state, lr_t, ctx.t, r, weight_lr_power)
        z = state.z - lr_t * d
        x = torch.lerp(state.x, z, c)
        y = torch.lerp(z, x, beta)
        return y - ctx.theta, ScheduleFreeState(z, x, lr_max, weight_sum)

    return Transform(init, update, applies_lr=True)
