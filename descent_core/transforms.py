"""The named pieces every optimizer is built from.

A ``Transform`` is a pair of pure functions, in the manner of optax:

    init(theta) -> state
    update(u, state, ctx) -> (u, state)

``u`` starts as the gradient and flows through a ``chain`` of transforms; the last one,
``scale_by_learning_rate``, turns it into the signed step that is added to the parameters. Every tensor is
batched: ``theta`` has shape ``(B, *param_shape)`` and holds B independent runs, so norms and matrices are
always taken per run (``per_run_norm``), never across the batch.

The small arithmetic helpers (``ema``, ``trace``, ``debias``) are named after the lines of the LaTeX they
implement, so an optimizer's update reads like its algorithm box.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import numpy as np
import torch
from torch import Tensor

from .hyper import Scalar


class Context(NamedTuple):
    """What a transform may read besides the running update: the step count and the parameters."""

    t: int  # 1-based step number
    theta: Tensor  # parameters before this step, (B, *param_shape)
    lr: Scalar  # learning rate in force at this step (after any schedule)
    curvature: Callable[[], Tensor] | Tensor | None  # Hessian diagonal, or a function computing it (Sophia)


class Transform(NamedTuple):
    init: Callable[[Tensor], Any]
    update: Callable[[Tensor, Any, Context], tuple[Tensor, Any]]


class Empty(NamedTuple):
    pass


def chain(*transforms: Transform) -> Transform:
    """Apply transforms in order; the state is the tuple of their states. Identities are dropped (they would only
    cost a call per step)."""
    transforms = tuple(tr for tr in transforms if tr is not IDENTITY)
    if len(transforms) == 1:
        return transforms[0]
    if not transforms:
        return IDENTITY

    def init(theta: Tensor) -> tuple:
        return tuple(tr.init(theta) for tr in transforms)

    def update(u: Tensor, state: tuple, ctx: Context) -> tuple[Tensor, tuple]:
        new_state = []
        for tr, s in zip(transforms, state):
            u, s = tr.update(u, s, ctx)
            new_state.append(s)
        return u, tuple(new_state)

    return Transform(init, update)


def stateless(fn: Callable[[Tensor, Context], Tensor]) -> Transform:
    return Transform(lambda theta: Empty(), lambda u, state, ctx: (fn(u, ctx), state))


IDENTITY = stateless(lambda u, ctx: u)


def is_zero(value: Scalar) -> bool:
    """True for a hyperparameter that is exactly zero for every run (a number, or a 0-dim constant)."""
    if isinstance(value, Tensor):
        return value.ndim == 0 and value.item() == 0.0
    return value == 0.0


# --------------------------------------------------------------------------------------------------------------
# Arithmetic helpers: one line of an update rule each.


def ema(average: Tensor, x: Tensor, decay: Scalar) -> Tensor:
    """Exponential moving average: decay * average + (1 - decay) * x."""
    return torch.lerp(average, x, 1.0 - decay)


def trace(buffer: Tensor, x: Tensor, decay: Scalar, dampening: Scalar = 0.0) -> Tensor:
    """Heavy-ball accumulator: decay * buffer + (1 - dampening) * x (torch's SGD momentum form)."""
    if isinstance(decay, float) and isinstance(dampening, float) and dampening == 0.0:
        return torch.add(x, buffer, alpha=decay)  # the same sum as one fused op
    return decay * buffer + (1.0 - dampening) * x


def plus_scaled(x: Tensor, y: Tensor, scale: Scalar) -> Tensor:
    """x + scale * y (one fused op when scale is a plain number)."""
    return torch.add(x, y, alpha=scale) if isinstance(scale, float) else x + scale * y


def debias(moment: Tensor, decay: Scalar, t: int) -> Tensor:
    """Bias correction of a zero-initialised moving average: moment / (1 - decay**t)."""
    return moment / (1.0 - decay**t)


def per_run_norm(x: Tensor) -> Tensor:
    """Euclidean norm of each run's whole parameter, shaped to broadcast: (B, 1, ..., 1)."""
    return torch.linalg.vector_norm(x, dim=_PARAM_DIMS[x.ndim], keepdim=True)


_PARAM_DIMS = {n: tuple(range(1, n)) for n in range(2, 9)}  # every axis but the batch axis


def safe_ratio(numerator: Tensor, denominator: Tensor) -> Tensor:
    """numerator / denominator, and 1 wherever either is zero (the convention for trust ratios)."""
    zero, one = constant(0.0, numerator), constant(1.0, numerator)
    return torch.where((numerator > zero) & (denominator > zero), numerator / denominator, one)


_CONSTANTS: dict[tuple, Tensor] = {}


def constant(value: float, like: Tensor) -> Tensor:
    """A cached 0-dim tensor: comparing or selecting against it costs half what a Python number does, since
    torch wraps a number into a fresh tensor on every call (races make tens of thousands of these calls)."""
    key = (value, like.dtype, like.device)
    if key not in _CONSTANTS:
        _CONSTANTS[key] = torch.tensor(value, dtype=like.dtype, device=like.device)
    return _CONSTANTS[key]


# --------------------------------------------------------------------------------------------------------------
# Transforms that add a term.


def add_weights(weight_decay: Scalar) -> Transform:
    """u <- u + wd * theta. Where it sits in a chain decides what it means (the two names below)."""
    if is_zero(weight_decay):
        return IDENTITY
    return stateless(lambda u, ctx: u + weight_decay * ctx.theta)


def add_l2_penalty(weight_decay: Scalar) -> Transform:
    """g <- g + wd * theta before preconditioning: weight decay as an L2 penalty on the loss (torch's
    ``weight_decay`` in SGD/Adam), so adaptive methods rescale it along with the gradient."""
    return add_weights(weight_decay)


def add_decayed_weights(weight_decay: Scalar) -> Transform:
    """d <- d + wd * theta after preconditioning: decoupled weight decay, theta <- theta (1 - lr wd) - lr d."""
    return add_weights(weight_decay)


def scale_by_learning_rate() -> Transform:
    """The signed step: -lr * d."""
    return stateless(lambda u, ctx: -ctx.lr * u)


def scale_by_decay_schedule(lr_decay: Scalar) -> Transform:
    """AdaGrad's built-in decay: d <- d / (1 + (t - 1) * lr_decay)."""
    if is_zero(lr_decay):
        return IDENTITY
    return stateless(lambda u, ctx: u / (1.0 + (ctx.t - 1) * lr_decay))


# --------------------------------------------------------------------------------------------------------------
# Momentum.


class Buffer(NamedTuple):
    b: Tensor


def heavy_ball(momentum: Scalar, dampening: Scalar = 0.0, nesterov: bool = False) -> Transform:
    """torch SGD momentum: b_1 = g, b_t = mu b + (1 - dampening) g; step along b, or g + mu b with Nesterov."""

    def update(g: Tensor, state: Buffer, ctx: Context) -> tuple[Tensor, Buffer]:
        b = g if ctx.t == 1 else trace(state.b, g, momentum, dampening)
        return (plus_scaled(g, b, momentum) if nesterov else b), Buffer(b)  # Nesterov: g + mu b

    return Transform(lambda theta: Buffer(torch.zeros_like(theta)), update)


def momentum_trace(momentum: Scalar) -> Transform:
    """v <- mu v + u, started at zero (LARS and RMSprop keep their velocity this way)."""

    def update(u: Tensor, state: Buffer, ctx: Context) -> tuple[Tensor, Buffer]:
        b = trace(state.b, u, momentum)
        return b, Buffer(b)

    return Transform(lambda theta: Buffer(torch.zeros_like(theta)), update)


# --------------------------------------------------------------------------------------------------------------
# Diagonal preconditioners.


class SumOfSquares(NamedTuple):
    sum_sq: Tensor


def scale_by_sum_of_squares(eps: Scalar, initial_accumulator_value: Scalar = 0.0) -> Transform:
    """AdaGrad: s <- s + g^2; d = g / (sqrt(s) + eps)."""

    def init(theta: Tensor) -> SumOfSquares:
        return SumOfSquares(torch.zeros_like(theta) + initial_accumulator_value)

    def update(g: Tensor, state: SumOfSquares, ctx: Context) -> tuple[Tensor, SumOfSquares]:
        s = state.sum_sq + g * g
        return g / (s.sqrt() + eps), SumOfSquares(s)

    return Transform(init, update)


class RmsState(NamedTuple):
    v: Tensor
    g_avg: Tensor | None


def scale_by_rms(alpha: Scalar, eps: Scalar, centered: bool = False) -> Transform:
    """RMSProp: v <- EMA_alpha(g^2); d = g / (sqrt(v) + eps), or sqrt(v - gbar^2) when centered."""

    def init(theta: Tensor) -> RmsState:
        return RmsState(torch.zeros_like(theta), torch.zeros_like(theta) if centered else None)

    def update(g: Tensor, state: RmsState, ctx: Context) -> tuple[Tensor, RmsState]:
        v = ema(state.v, g * g, alpha)
        if centered:
            g_avg = ema(state.g_avg, g, alpha)
            return g / ((v - g_avg * g_avg).sqrt() + eps), RmsState(v, g_avg)
        return g / (v.sqrt() + eps), RmsState(v, None)

    return Transform(init, update)


class DeltaState(NamedTuple):
    v: Tensor  # EMA of g^2
    u: Tensor  # EMA of squared updates


def scale_by_delta_ratio(rho: Scalar, eps: Scalar) -> Transform:
    """AdaDelta: d = sqrt(u + eps) / sqrt(v + eps) * g, with u the running average of past d^2 (units match theta)."""

    def init(theta: Tensor) -> DeltaState:
        return DeltaState(torch.zeros_like(theta), torch.zeros_like(theta))

    def update(g: Tensor, state: DeltaState, ctx: Context) -> tuple[Tensor, DeltaState]:
        v = ema(state.v, g * g, rho)
        d = (state.u + eps).sqrt() / (v + eps).sqrt() * g
        u = ema(state.u, d * d, rho)
        return d, DeltaState(v, u)

    return Transform(init, update)


# --------------------------------------------------------------------------------------------------------------
# The Adam family.


class Moments(NamedTuple):
    m: Tensor
    v: Tensor
    v_max: Tensor | None


def scale_by_adam(b1: Scalar, b2: Scalar, eps: Scalar, amsgrad: bool = False) -> Transform:
    """Adam = momentum (EMA of g) + RMSProp (EMA of g^2) + bias correction.

    AMSGrad keeps the running max of the *uncorrected* v and divides it by the current correction, as torch does.
    """

    def init(theta: Tensor) -> Moments:
        zeros = torch.zeros_like(theta)
        return Moments(zeros, zeros.clone(), zeros.clone() if amsgrad else None)

    def update(g: Tensor, state: Moments, ctx: Context) -> tuple[Tensor, Moments]:
        m = ema(state.m, g, b1)
        v = ema(state.v, g * g, b2)
        v_max = torch.maximum(state.v_max, v) if amsgrad else None
        m_hat = debias(m, b1, ctx.t)
        v_hat = debias(v_max if amsgrad else v, b2, ctx.t)
        return m_hat / (v_hat.sqrt() + eps), Moments(m, v, v_max)

    return Transform(init, update)


class NadamState(NamedTuple):
    m: Tensor
    v: Tensor
    mu_product: Tensor | np.float32  # prod of mu_1..t; a scalar unless b1 or momentum_decay vary per run


def nadam_momentum(b1: Scalar, t: int, momentum_decay: Scalar) -> Scalar:
    """torch's NAdam momentum schedule: mu_t = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))."""
    return b1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))


def scale_by_nadam(b1: Scalar, b2: Scalar, eps: Scalar, momentum_decay: Scalar) -> Transform:
    """NAdam = Adam whose step mixes the current gradient and the *next* step's momentum (a Nesterov look-ahead).

    d = (1 - mu_t) / (1 - prod mu_{1..t}) * g / denom + mu_{t+1} / (1 - prod mu_{1..t+1}) * m / denom.
    torch keeps the running product in float32 even for float64 parameters; so do we, to match it.
    """
    per_run = isinstance(b1, Tensor) or isinstance(momentum_decay, Tensor)

    def init(theta: Tensor) -> NadamState:
        zeros = torch.zeros_like(theta)
        one = torch.ones_like(theta[..., :1], dtype=torch.float32) if per_run else np.float32(1.0)
        return NadamState(zeros, zeros.clone(), one)

    def update(g: Tensor, state: NadamState, ctx: Context) -> tuple[Tensor, NadamState]:
        mu = nadam_momentum(b1, ctx.t, momentum_decay)
        mu_next = nadam_momentum(b1, ctx.t + 1, momentum_decay)
        mu_product = state.mu_product * (mu.float() if per_run else np.float32(mu))
        product = mu_product.to(g.dtype) if per_run else float(mu_product)
        m = ema(state.m, g, b1)
        v = ema(state.v, g * g, b2)
        denom = debias(v, b2, ctx.t).sqrt() + eps
        gradient_weight = (1.0 - mu) / (1.0 - product)
        momentum_weight = mu_next / (1.0 - product * mu_next)
        return (gradient_weight * g + momentum_weight * m) / denom, NadamState(m, v, mu_product)

    return Transform(init, update)


def radam_rectification(b2: Scalar, t: int) -> tuple[Scalar, Scalar]:
    """RAdam's variance rectification: (rho_t, r_t) with rho_inf = 2/(1-b2) - 1."""
    rho_inf = 2.0 / (1.0 - b2) - 1.0
    rho_t = rho_inf - 2.0 * t * b2**t / (1.0 - b2**t)
    safe_rho_t = torch.clamp(rho_t, min=5.0 + 1e-12) if isinstance(rho_t, Tensor) else max(rho_t, 5.0 + 1e-12)
    r_t = ((safe_rho_t - 4) * (safe_rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * safe_rho_t)) ** 0.5
    return rho_t, r_t


def scale_by_radam(b1: Scalar, b2: Scalar, eps: Scalar) -> Transform:
    """RAdam = Adam whose adaptive factor is switched on only once its variance is tractable (rho_t > 5, torch's
    threshold; the paper says 4). Before that it is plain bias-corrected momentum."""

    def init(theta: Tensor) -> Moments:
        zeros = torch.zeros_like(theta)
        return Moments(zeros, zeros.clone(), None)

    def update(g: Tensor, state: Moments, ctx: Context) -> tuple[Tensor, Moments]:
        m = ema(state.m, g, b1)
        v = ema(state.v, g * g, b2)
        m_hat = debias(m, b1, ctx.t)
        rho_t, r_t = radam_rectification(b2, ctx.t)
        rectified = m_hat * (r_t * (1.0 - b2**ctx.t) ** 0.5) / (v.sqrt() + eps)  # r_t * m_hat / sqrt(v_hat)
        if isinstance(rho_t, Tensor):
            d = torch.where(rho_t > 5.0, rectified, m_hat)
        else:
            d = rectified if rho_t > 5.0 else m_hat
        return d, Moments(m, v, None)

    return Transform(init, update)


# --------------------------------------------------------------------------------------------------------------
# Frontier optimizers.


class LionState(NamedTuple):
    m: Tensor


def scale_by_lion(b1: Scalar, b2: Scalar) -> Transform:
    """Lion: d = sign(b1 m + (1 - b1) g), then m <- b2 m + (1 - b2) g. Every coordinate moves by exactly lr."""

    def update(g: Tensor, state: LionState, ctx: Context) -> tuple[Tensor, LionState]:
        direction = torch.sign(ema(state.m, g, b1))
        return direction, LionState(ema(state.m, g, b2))

    return Transform(lambda theta: LionState(torch.zeros_like(theta)), update)


def scale_by_trust_ratio() -> Transform:
    """LAMB's layer-wise rescaling: d <- d * ||theta|| / ||d|| (1 when either norm is 0), per run."""
    return stateless(lambda u, ctx: u * safe_ratio(per_run_norm(ctx.theta), per_run_norm(u)))


def scale_by_lars_trust(trust_coefficient: Scalar, weight_decay: Scalar) -> Transform:
    """LARS: d = eta ||w|| / (||g|| + wd ||w||) * (g + wd w), norms per run (1 when a norm is 0)."""

    def direction(g: Tensor, ctx: Context) -> Tensor:
        w_norm, g_norm = per_run_norm(ctx.theta), per_run_norm(g)
        local_lr = trust_coefficient * safe_ratio(w_norm, g_norm + weight_decay * w_norm)
        return local_lr * (g + weight_decay * ctx.theta)

    def direction_without_decay(g: Tensor, ctx: Context) -> Tensor:  # the same with wd = 0, two ops fewer
        return trust_coefficient * safe_ratio(per_run_norm(ctx.theta), per_run_norm(g)) * g

    return stateless(direction_without_decay if is_zero(weight_decay) else direction)


class ShampooState(NamedTuple):
    left: Tensor  # (B, m, m): eps I + sum G G^T  (for a vector: the full-matrix sum of g g^T)
    right: Tensor | None  # (B, n, n): eps I + sum G^T G  (matrices only)


def precise_dtype(device: torch.device) -> torch.dtype:
    """float64 wherever the device has it (Apple's mps does not)."""
    return torch.float32 if device.type == "mps" else torch.float64


def inverse_root(matrix: Tensor, power: float) -> Tensor:
    """matrix^(-1/power) of batched symmetric positive-definite matrices, via an eigendecomposition.

    A run that already diverged hands in NaN. The CPU solver returns NaN for it and leaves the other runs alone;
    a solver that refuses instead gets the identity in place of the broken matrices and is asked again.
    """
    try:
        eigenvalues, eigenvectors = torch.linalg.eigh(matrix)
    except torch.linalg.LinAlgError:
        finite = torch.isfinite(matrix).all(dim=-1, keepdim=True).all(dim=-2, keepdim=True)
        eigenvalues, eigenvectors = torch.linalg.eigh(torch.where(finite, matrix, identity(matrix)))
    scaled = eigenvectors * eigenvalues.clamp(min=1e-30).pow(-1.0 / power).unsqueeze(-2)
    return scaled @ eigenvectors.transpose(-1, -2)


_IDENTITIES: dict[tuple, Tensor] = {}


def identity(like: Tensor) -> Tensor:
    """A cached identity matrix matching the last two axes of ``like``."""
    key = (like.shape[-1], like.dtype, like.device)
    if key not in _IDENTITIES:
        _IDENTITIES[key] = torch.eye(like.shape[-1], dtype=like.dtype, device=like.device)
    return _IDENTITIES[key]


def scale_by_shampoo(eps: Scalar) -> Transform:
    """Shampoo. A vector parameter: full-matrix AdaGrad, d = (eps I + sum g g^T)^(-1/2) g.
    A matrix parameter G: L += G G^T, R += G^T G, d = L^(-1/4) G R^(-1/4).

    The statistics are kept in float64 even for float32 parameters: after a few large gradients the sums are
    nearly rank one, and float32 rounds their small eigenvalue (eps) away, so its inverse root would explode.
    """

    def identity_stack(theta: Tensor, size: int) -> Tensor:
        eye = torch.eye(size, dtype=precise_dtype(theta.device), device=theta.device)
        return (bind_eps(theta) * eye).expand(theta.shape[0], size, size).clone()

    def bind_eps(theta: Tensor):
        return eps.reshape(-1, 1, 1).to(precise_dtype(theta.device)) if isinstance(eps, Tensor) else eps

    def init(theta: Tensor) -> ShampooState:
        if theta.ndim not in (2, 3):
            raise ValueError(f"shampoo handles vector or matrix parameters, got shape {tuple(theta.shape[1:])}")
        if theta.ndim == 2:
            return ShampooState(identity_stack(theta, theta.shape[1]), None)
        return ShampooState(identity_stack(theta, theta.shape[1]), identity_stack(theta, theta.shape[2]))

    def update(g: Tensor, state: ShampooState, ctx: Context) -> tuple[Tensor, ShampooState]:
        G = g.to(state.left.dtype)
        if g.ndim == 2:
            left = torch.baddbmm(state.left, G.unsqueeze(-1), G.unsqueeze(-2))  # + g g^T
            d = (inverse_root(left, 2.0) @ G.unsqueeze(-1)).squeeze(-1)
            return d.to(g.dtype), ShampooState(left, None)
        left = state.left + G @ G.transpose(-1, -2)
        right = state.right + G.transpose(-1, -2) @ G
        return (inverse_root(left, 4.0) @ G @ inverse_root(right, 4.0)).to(g.dtype), ShampooState(left, right)

    return Transform(init, update)


class SophiaState(NamedTuple):
    m: Tensor
    h: Tensor


def scale_by_sophia(b1: Scalar, b2: Scalar, rho: Scalar, eps: Scalar, update_period: int) -> Transform:
    """Sophia: m <- EMA_b1(g); every k steps h <- EMA_b2(h_hat); d = clip(m / max(rho h, eps), 1).

    h starts at zero, so until the first curvature refresh (step k) every step is lr * sign(m). ``h_hat`` is the
    Hessian diagonal passed in ``ctx.curvature`` (Sophia-H with the exact diagonal on analytic surfaces); without
    one it falls back to the Gauss-Newton-style estimate g * g.
    """

    def update(g: Tensor, state: SophiaState, ctx: Context) -> tuple[Tensor, SophiaState]:
        m = ema(state.m, g, b1)
        h = state.h
        if ctx.t % update_period == 0:
            h = ema(h, curvature_estimate(ctx, g), b2)
        d = torch.clamp(m / torch.clamp(rho * h, min=eps), -1.0, 1.0)
        return d, SophiaState(m, h)

    return Transform(lambda theta: SophiaState(torch.zeros_like(theta), torch.zeros_like(theta)), update)


def curvature_estimate(ctx: Context, g: Tensor) -> Tensor:
    """The caller's Hessian diagonal (computed lazily: only refresh steps pay for it), else g * g."""
    if ctx.curvature is None:
        return g * g
    return ctx.curvature() if callable(ctx.curvature) else ctx.curvature


class MuonBuffer(NamedTuple):
    b: Tensor


def newton_schulz(x: Tensor, coefficients: tuple[float, float, float], steps: int, eps: float) -> Tensor:
    """Approximately orthogonalise each matrix of a batch (B, rows, cols): U S V^T -> U S' V^T, S' near 1.

    The quintic X <- a X + (b A + c A^2) X with A = X X^T, run in bfloat16 like torch.optim.Muon. Its
    coefficients (3.4445, -4.7750, 2.0315) maximise the slope at zero, so small singular values grow fast; the
    price is that the singular values end up scattered around 1 (about 0.7 to 1.2) instead of converging to it.
    """
    a, b, c = coefficients
    tall = x.shape[-2] > x.shape[-1]
    y = x.bfloat16()
    if tall:
        y = y.transpose(-1, -2)
    y = y / torch.linalg.vector_norm(y, dim=(-2, -1), keepdim=True).clamp(min=eps)
    for _ in range(steps):
        gram = y @ y.transpose(-1, -2)
        polynomial = torch.baddbmm(gram, gram, gram, beta=b, alpha=c)
        y = torch.baddbmm(y, polynomial, y, beta=a)
    return y.transpose(-1, -2) if tall else y


def scale_by_muon(momentum: Scalar, nesterov: bool, ns_coefficients: tuple[float, float, float], ns_steps: int,
                  eps: float, adjust_lr_fn: str | None) -> Transform:
    """Muon = momentum whose update matrix is orthogonalised by Newton-Schulz, then scaled by its shape.

    A 1-D parameter of length n is treated as a 1 x n matrix; on a 2-D point the step is then about
    0.68 * lr * u / ||u||: normalised Nesterov momentum.
    """

    def update(g: Tensor, state: MuonBuffer, ctx: Context) -> tuple[Tensor, MuonBuffer]:
        b = ema(state.b, g, momentum)
        u = torch.lerp(g, b, momentum) if nesterov else b  # g + mu (b - g): the Nesterov look-ahead
        as_matrix = u if u.ndim == 3 else u.unsqueeze(-2)
        orthogonal = newton_schulz(as_matrix, ns_coefficients, ns_steps, eps)
        d = orthogonal.reshape(u.shape).to(u.dtype)
        scale = muon_shape_scale(*as_matrix.shape[-2:], adjust_lr_fn)
        return (d if scale == 1.0 else d * scale), MuonBuffer(b)

    return Transform(lambda theta: MuonBuffer(torch.zeros_like(theta)), update)


def muon_shape_scale(rows: int, cols: int, adjust_lr_fn: str | None) -> float:
    """torch.optim.Muon's learning-rate adjustment for a rows x cols update."""
    if adjust_lr_fn in (None, "original"):
        return math.sqrt(max(1.0, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(rows, cols))
    return 1.0
