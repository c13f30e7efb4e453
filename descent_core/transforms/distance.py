"""Learning-rate-free steps: Prodigy (Mishchenko & Defazio 2024) estimates D = ||theta_0 - theta*||, the distance
to the solution, from the gradients seen so far, and takes Adam steps of size d * lr.

The estimate d only grows. With s the running sum of (weighted) gradients and theta_0 the start,

    d_hat = d_coef * sum_k w_k <g_k, theta_0 - theta_k> / ||s||_1,     d <- max(d, d_hat)  (capped by growth_rate)

a lower bound on D for convex losses (the numerator is at most D times the gradient sum, whose norm the
denominator bounds). d is a state slot, per run: a lab can plot it against the true distance.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from ..hyper import Scalar
from .base import _PARAM_DIMS, Context, Transform, ema, is_zero, per_run_sum, plus_scaled


class ProdigyState(NamedTuple):
    m: Tensor  # EMA of d * g
    v: Tensor  # EMA of d^2 * g^2
    s: Tensor  # beta3-discounted sum of the weighted gradients
    theta0: Tensor  # the starting point (every slice_p-th coordinate)
    d: Tensor  # the distance estimate, per run (B, 1, ..., 1)
    d_max: Tensor  # largest d_hat so far
    d_numerator: Tensor  # beta3-discounted sum of w_k <g_k, theta_0 - theta_k>


def momentum_numerator(m: Tensor, g: Tensor, d_new: Tensor, b1: Scalar) -> Tensor:
    """m, or with b1 = 0 the reference's d_new * g: prodigyopt keeps no m then and scales g by the d just updated,
    where m = d_old * g would use the previous one."""
    if isinstance(b1, Tensor):
        return torch.where(b1 > 0, m, d_new * g)
    return m if b1 > 0 else d_new * g


def scale_by_prodigy(b1: Scalar, b2: Scalar, beta3: Scalar | None, eps: Scalar, weight_decay: Scalar,
                     decouple: bool, use_bias_correction: bool, safeguard_warmup: bool, d0: Scalar,
                     d_coef: Scalar, growth_rate: Scalar, slice_p: int) -> Transform:
    """Prodigy, as prodigyopt 1.1.2 steps it (one parameter tensor = one run: d is per run):

        dlr = d lr bc,  bc = sqrt(1 - b2^t) / (1 - b1^t) with use_bias_correction, else 1
        r <- b3 r + (d / d0) dlr <g, theta_0 - theta>,   s <- b3 s + (d / d0) dlr g   (d instead of dlr: safeguard)
        m <- b1 m + (1 - b1) d g,   v <- b2 v + (1 - b2) d^2 g^2
        d_hat = d_coef r / ||s||_1;  d <- max(d, d_hat) while d = d0;  d_max <- max(d_max, d_hat);
        d <- min(d_max, growth_rate d)
        direction = d_old bc (m / (sqrt(v) + d eps) + wd theta)  (decoupled decay), and theta <- theta - lr direction

    With b1 = 0 the numerator is d_new g (the reference's). b3 = sqrt(b2) by default. A run whose gradients were
    all zero keeps d (the reference skips such a step; it also leaves its step count alone, which only
    use_bias_correction would notice).
    """
    b3 = b2**0.5 if beta3 is None else beta3
    decays = decouple and not is_zero(weight_decay)

    def sliced(x: Tensor) -> Tensor:
        return x if slice_p == 1 else x.flatten(1)[:, ::slice_p]

    def init(theta: Tensor) -> ProdigyState:
        zeros = torch.zeros_like(theta)
        d = torch.zeros_like(per_run_sum(theta)) + d0
        return ProdigyState(zeros, zeros.clone(), torch.zeros_like(sliced(theta)), sliced(theta).clone(), d,
                            d.clone(), torch.zeros_like(d))

    def update(g: Tensor, state: ProdigyState, ctx: Context) -> tuple[Tensor, ProdigyState]:
        d = state.d
        bc = (1.0 - b2**ctx.t) ** 0.5 / (1.0 - b1**ctx.t) if use_bias_correction else 1.0
        weight = d * d * (ctx.lr * bc / d0)  # (d / d0) dlr
        g_slice = sliced(g)
        progress = per_run_sum(g_slice * (state.theta0 - sliced(ctx.theta)))
        s_weight = (d * d / d0) if safeguard_warmup else weight
        if slice_p != 1:
            progress, s_weight = progress.reshape(d.shape), s_weight.reshape(-1, 1)
        s = plus_scaled(s_weight * g_slice, state.s, b3)
        numerator = plus_scaled(weight * progress, state.d_numerator, b3)
        dg = d * g
        m = ema(state.m, dg, b1)  # b1 m + (1 - b1) d g
        v = ema(state.v, dg * dg, b2)  # b2 v + (1 - b2) d^2 g^2
        denominator = torch.linalg.vector_norm(s, ord=1, dim=_PARAM_DIMS[s.ndim], keepdim=True)
        d_hat = d_coef * numerator / denominator.reshape(d.shape)  # NaN for a run without any gradient yet
        d_max = torch.fmax(state.d_max, d_hat)  # fmax: a NaN d_hat leaves d_max as it was
        if isinstance(growth_rate, float) and growth_rate == float("inf"):
            d_new = d_max  # min(d_max, inf * d): the default, without the lines below
        else:
            d_new = torch.where(d == d0, torch.fmax(d, d_hat), d)
            d_new = torch.fmin(d_max, d_new * growth_rate)
        direction = momentum_numerator(m, g, d_new, b1) / torch.addcmul(v.sqrt(), d_new, eps)
        if decays:
            direction = direction + weight_decay * ctx.theta
        return (d * bc if use_bias_correction else d) * direction, ProdigyState(m, v, s, state.theta0, d_new, d_max,
                                                                               numerator)

    return Transform(init, update)
