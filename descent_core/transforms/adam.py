"""The Adam family: Adam/AMSGrad, NAdam's look-ahead and RAdam's rectified warmup; after Adam, ADOPT's
decorrelated second moment and AdEMAMix's mixture of a fast and a slow momentum."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from ..hyper import Scalar
from .base import Context, Transform, debias, ema, plus_scaled


class Moments(NamedTuple):
    m: Tensor
    v: Tensor
    v_max: Tensor | None


def zero_moments(theta: Tensor, amsgrad: bool = False) -> Moments:
    zeros = torch.zeros_like(theta)
    return Moments(zeros, zeros.clone(), zeros.clone() if amsgrad else None)


def scale_by_adam(b1: Scalar, b2: Scalar, eps: Scalar, amsgrad: bool = False,
                  eps_before_correction: bool = False) -> Transform:
    """Adam = momentum (EMA of g) + RMSProp (EMA of g^2) + bias correction.

    AMSGrad keeps the running max of the *uncorrected* v and divides it by the current correction, as torch does.
    ``eps_before_correction`` adds eps to sqrt(v) before correcting it, d = m_hat sqrt(1 - b2^t) / (sqrt(v) + eps),
    as Hugging Face's AdamW and pytorch_optimizer do (torch: m_hat / (sqrt(v_hat) + eps)).
    """

    def update(g: Tensor, state: Moments, ctx: Context) -> tuple[Tensor, Moments]:
        m = ema(state.m, g, b1)
        v = ema(state.v, g * g, b2)
        v_max = torch.maximum(state.v_max, v) if amsgrad else None
        if eps_before_correction:  # one factor sqrt(1 - b2^t) / (1 - b1^t) on m
            correction = (1.0 - b2**ctx.t) ** 0.5 / (1.0 - b1**ctx.t)
            return m * correction / ((v_max if amsgrad else v).sqrt() + eps), Moments(m, v, v_max)
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


class SecondMoment(NamedTuple):
    v: Tensor


def scale_by_second_moment(b2: Scalar, eps: Scalar) -> Transform:
    """Adam's denominator alone (Adam with b1 = 0): v <- EMA_b2(g^2), d = g / (sqrt(v / (1 - b2^t)) + eps).
    Schedule-Free AdamW feeds this to its averaging, which plays the part of the momentum."""

    def update(g: Tensor, state: SecondMoment, ctx: Context) -> tuple[Tensor, SecondMoment]:
        v = ema(state.v, g * g, b2)
        return g / (debias(v, b2, ctx.t).sqrt() + eps), SecondMoment(v)

    return Transform(lambda theta: SecondMoment(torch.zeros_like(theta)), update)


@dataclass(frozen=True)
class PowerOfStep:
    """clip(t) = t ** power: ADOPT's default ``clip_lambda`` (t^(1/4)), printable where a race lists its settings."""

    power: float = 0.25

    def __call__(self, step: int) -> float:
        return step**self.power

    def __repr__(self) -> str:
        return f"step ** {self.power:g}"


def scale_by_adopt(b1: Scalar, b2: Scalar, eps: Scalar, clip_lambda) -> Transform:
    """ADOPT (Taniguchi et al. 2024): normalise g by the second moment of the *previous* steps, then average.

    v_1 = g_1^2 and no step; then n = clip(g / max(sqrt(v_{t-1}), eps), c_t), m <- EMA_b1(n), d = m,
    v_t = EMA_b2(v_{t-1}, g^2). Because v_{t-1} does not contain g_t, the step is unbiased for any b2, which is
    why ADOPT converges where Adam (Reddi's counterexample) does not. c_t = clip_lambda(t), t^(1/4) by default,
    None for no clipping (pytorch_optimizer's semantics).
    """

    def init(theta: Tensor) -> Moments:
        return zero_moments(theta)

    def update(g: Tensor, state: Moments, ctx: Context) -> tuple[Tensor, Moments]:
        if ctx.t == 1:
            return torch.zeros_like(g), Moments(state.m, g * g, None)
        n = g / torch.maximum(state.v.sqrt(), eps)
        if clip_lambda is not None:
            c = clip_lambda(ctx.t)
            n = n.clamp(-c, c)
        m = ema(state.m, n, b1)
        return m, Moments(m, ema(state.v, g * g, b2), None)

    return Transform(init, update)


class AdemamixState(NamedTuple):
    m: Tensor  # fast EMA of g (b1)
    v: Tensor  # EMA of g^2 (b2)
    m_slow: Tensor  # slow EMA of g (b3)


def log(x: Scalar) -> Scalar:
    return torch.log(x) if isinstance(x, Tensor) else math.log(x)


def smaller(x: Scalar, y: Scalar) -> Scalar:
    """min(x, y) for numbers or per-run tensors (in the tensors' own dtype)."""
    if isinstance(x, Tensor) and isinstance(y, Tensor):
        return torch.minimum(x, y)
    if isinstance(x, Tensor) or isinstance(y, Tensor):
        tensor, number = (x, y) if isinstance(x, Tensor) else (y, x)
        return tensor.clamp(max=number)
    return min(x, y)


def ademamix_schedules(alpha: Scalar, b1: Scalar, b3: Scalar, t_alpha_beta3: Scalar | None, t: int):
    """AdEMAMix's warmups of alpha and b3 over t_alpha_beta3 steps (None: none): alpha_t = min(t alpha / T, alpha),
    b3_t = min(exp(ln b1 ln b3 / ((1 - t/T) ln b3 + (t/T) ln b1)), b3), which grows the slow EMA's half-life
    linearly from b1's to b3's."""
    if t_alpha_beta3 is None:
        return alpha, b3
    fraction = t / t_alpha_beta3
    alpha_t = smaller(fraction * alpha, alpha)
    log_b1, log_b3 = log(b1), log(b3)
    exponent = log_b1 * log_b3 / ((1.0 - fraction) * log_b3 + fraction * log_b1)
    b3_t = smaller(torch.exp(exponent) if isinstance(exponent, Tensor) else math.exp(exponent), b3)
    return alpha_t, b3_t


def scale_by_ademamix(b1: Scalar, b2: Scalar, b3: Scalar, alpha: Scalar, t_alpha_beta3: Scalar | None,
                      eps: Scalar) -> Transform:
    """AdEMAMix (Pagliardini et al. 2024) = Adam whose numerator adds a slow momentum to the fast one:
    d = (m_hat + alpha m_slow) / (sqrt(v_hat) + eps), m_slow <- EMA_b3(g) with b3 = 0.9999 (no bias correction:
    the slow EMA is meant to remember about 10,000 gradients, and alpha, warmed up, keeps its early smallness)."""

    def init(theta: Tensor) -> AdemamixState:
        zeros = torch.zeros_like(theta)
        return AdemamixState(zeros, zeros.clone(), zeros.clone())

    def update(g: Tensor, state: AdemamixState, ctx: Context) -> tuple[Tensor, AdemamixState]:
        alpha_t, b3_t = ademamix_schedules(alpha, b1, b3, t_alpha_beta3, ctx.t)
        m = ema(state.m, g, b1)
        v = ema(state.v, g * g, b2)
        m_slow = ema(state.m_slow, g, b3_t)
        d = plus_scaled(debias(m, b1, ctx.t), m_slow, alpha_t) / (debias(v, b2, ctx.t).sqrt() + eps)
        return d, AdemamixState(m, v, m_slow)

    return Transform(init, update)
