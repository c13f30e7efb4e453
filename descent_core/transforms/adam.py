"""The Adam family: Adam/AMSGrad, NAdam's look-ahead and RAdam's rectified warmup."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from ..hyper import Scalar
from .base import Context, Transform, debias, ema


class Moments(NamedTuple):
    m: Tensor
    v: Tensor
    v_max: Tensor | None


def zero_moments(theta: Tensor, amsgrad: bool = False) -> Moments:
    zeros = torch.zeros_like(theta)
    return Moments(zeros, zeros.clone(), zeros.clone() if amsgrad else None)


def scale_by_adam(b1: Scalar, b2: Scalar, eps: Scalar, amsgrad: bool = False) -> Transform:
    """Adam = momentum (EMA of g) + RMSProp (EMA of g^2) + bias correction.

    AMSGrad keeps the running max of the *uncorrected* v and divides it by the current correction, as torch does.
    """

    def update(g: Tensor, state: Moments, ctx: Context) -> tuple[Tensor, Moments]:
        m = ema(state.m, g, b1)
        v = ema(state.v, g * g, b2)
        v_max = torch.maximum(state.v_max, v) if amsgrad else None
        m_hat = debias(m, b1, ctx.t)
        v_hat = debias(v_max if amsgrad else v, b2, ctx.t)
        return m_hat / (v_hat.sqrt() + eps), Moments(m, v, v_max)

    return Transform(lambda theta: zero_moments(theta, amsgrad), update)


class NadamState(NamedTuple):
    m: Tensor
    v: Tensor
    mu_product: Tensor | np.float32  # prod of mu_1..t; a scalar unless b1 or momentum_decay vary per run


def nadam_momentum(b1: Scalar, t: int, momentum_decay: Scalar) -> Scalar:
    """torch's NAdam momentum schedule: mu_t = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))."""
    return b1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))


def float32_product(product: Tensor | np.float32, factor: Scalar) -> Tensor | np.float32:
    """product * factor rounded to float32: torch keeps NAdam's running product of momentum coefficients in the
    default dtype even for float64 parameters, and matching torch to 1e-6 needs the same rounding."""
    return product * (factor.float() if isinstance(factor, Tensor) else np.float32(factor))


def scale_by_nadam(b1: Scalar, b2: Scalar, eps: Scalar, momentum_decay: Scalar) -> Transform:
    """NAdam = Adam whose step mixes the current gradient and the *next* step's momentum (a Nesterov look-ahead).

    d = (1 - mu_t) / (1 - prod mu_{1..t}) * g / denom + mu_{t+1} / (1 - prod mu_{1..t+1}) * m / denom.
    """
    per_run = isinstance(b1, Tensor) or isinstance(momentum_decay, Tensor)

    def init(theta: Tensor) -> NadamState:
        zeros = torch.zeros_like(theta)
        one = torch.ones_like(theta[..., :1], dtype=torch.float32) if per_run else np.float32(1.0)
        return NadamState(zeros, zeros.clone(), one)

    def update(g: Tensor, state: NadamState, ctx: Context) -> tuple[Tensor, NadamState]:
        mu = nadam_momentum(b1, ctx.t, momentum_decay)
        mu_next = nadam_momentum(b1, ctx.t + 1, momentum_decay)
        mu_product = float32_product(state.mu_product, mu)
        product = mu_product.to(g.dtype) if per_run else float(mu_product)
        m = ema(state.m, g, b1)
        v = ema(state.v, g * g, b2)
        denom = debias(v, b2, ctx.t).sqrt() + eps
        gradient_weight = (1.0 - mu) / (1.0 - product)
        momentum_weight = mu_next / (1.0 - product * mu_next)
        return (gradient_weight * g + momentum_weight * m) / denom, NadamState(m, v, mu_product)

    return Transform(init, update)


RADAM_THRESHOLD = 5.0  # torch switches the adaptive step on once n_t > 5; the paper says 4


def radam_rectifier(b2: Scalar, t: int) -> tuple[Scalar, Scalar]:
    """RAdam's (n_t, omega_t): the number of gradients v_t effectively averages, and the rectifier.

    n_inf = 2/(1 - b2) - 1, n_t = n_inf - 2 t b2^t / (1 - b2^t),
    omega_t = sqrt((n_t - 4)(n_t - 2) n_inf / ((n_inf - 4)(n_inf - 2) n_t)). (The paper writes rho and r.)
    """
    n_inf = 2.0 / (1.0 - b2) - 1.0
    n_t = n_inf - 2.0 * t * b2**t / (1.0 - b2**t)
    floor = RADAM_THRESHOLD + 1e-12  # omega is only used above the threshold; this keeps the root real below it
    n_safe = torch.clamp(n_t, min=floor) if isinstance(n_t, Tensor) else max(n_t, floor)
    omega_t = ((n_safe - 4) * (n_safe - 2) * n_inf / ((n_inf - 4) * (n_inf - 2) * n_safe)) ** 0.5
    return n_t, omega_t


def scale_by_radam(b1: Scalar, b2: Scalar, eps: Scalar) -> Transform:
    """RAdam = Adam whose adaptive factor is switched on only once its variance is tractable (n_t > 5, torch's
    threshold). Before that it is plain bias-corrected momentum."""

    def update(g: Tensor, state: Moments, ctx: Context) -> tuple[Tensor, Moments]:
        m = ema(state.m, g, b1)
        v = ema(state.v, g * g, b2)
        m_hat = debias(m, b1, ctx.t)
        n_t, omega_t = radam_rectifier(b2, ctx.t)
        rectified = m_hat * (omega_t * (1.0 - b2**ctx.t) ** 0.5) / (v.sqrt() + eps)  # omega_t m_hat / sqrt(v_hat)
        if isinstance(n_t, Tensor):
            d = torch.where(n_t > RADAM_THRESHOLD, rectified, m_hat)
        else:
            d = rectified if n_t > RADAM_THRESHOLD else m_hat
        return d, Moments(m, v, None)

    return Transform(lambda theta: zero_moments(theta), update)
