"""Labs of the guide's Practice part on sharpness: full-batch gradient descent at the edge of stability (the top
Hessian eigenvalue of a small network rising to 2/η and hovering there), and sharpness-aware minimisation leaving a
sharp minimum for a flat one."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from .. import network
from .base import F64, LabResult, Param, Plot, RefLine, fmt, lab

# --------------------------------------------------------------------------------------------------------------
# The edge of stability: network.py's 2-32-32-1 tanh MLP, mean squared error on labels ±1, full batch.


def mlp_setup(n: int = 100, hidden: int = 32, seed: int = 0) -> tuple[Tensor, Tensor, list[Tensor]]:
    """Moons points X (n, 2), targets ±1 (n,), and network.init_params' weights in float64 (run axis of size 1)."""
    data = network.make_dataset("moons", n=n, seed=seed)
    X = torch.tensor(data.X, dtype=F64)
    targets = 2.0 * torch.tensor(data.y, dtype=F64) - 1.0
    return X, targets, [p.to(F64) for p in network.init_params(hidden, seed=seed).values()]


def mlp_loss_and_grad(params: Sequence[Tensor], X: Tensor, targets: Tensor) -> tuple[Tensor, list[Tensor]]:
    """½·mean((logit − target)²) of network.forward's model for R runs at once, and its gradient by hand-written
    backpropagation (a few batched matmuls: autograd's bookkeeping would cost more than the arithmetic).
    ``params`` are (W1, b1, W2, b2, W3, b3) with a leading run axis, as network.init_params makes them."""
    W1, b1, W2, b2, W3, b3 = params
    h1 = torch.tanh(X @ W1 + b1[:, None])
    h2 = torch.tanh(h1 @ W2 + b2[:, None])
    residual = (h2 @ W3).squeeze(-1) + b3 - targets  # (R, n)
    loss = 0.5 * (residual * residual).mean(-1)
    d_out = (residual / X.shape[0])[..., None]  # (R, n, 1)
    d_z2 = (d_out @ W3.transpose(1, 2)) * (1.0 - h2 * h2)
    d_z1 = (d_z2 @ W2.transpose(1, 2)) * (1.0 - h1 * h1)
    grads = [X.T @ d_z1, d_z1.sum(1), h1.transpose(1, 2) @ d_z2, d_z2.sum(1), h2.transpose(1, 2) @ d_out,
             d_out.sum(1)]
    return loss, grads


def _per_run(values: Tensor, like: Tensor) -> Tensor:
    return values.reshape(-1, *([1] * (like.ndim - 1)))


def _dot(a: Sequence[Tensor], b: Sequence[Tensor]) -> Tensor:
    return sum((x * y).flatten(1).sum(1) for x, y in zip(a, b))


def hessian_vector(params: Sequence[Tensor], v: Sequence[Tensor], X: Tensor, targets: Tensor,
                   h: float = 1e-5) -> list[Tensor]:
    """H v by a central difference of the exact gradient, (∇L(θ + hv) − ∇L(θ − hv)) / 2h, per run; in float64 its
    error is about h² ≈ 1e-10 of the result (tests check it against autograd's double backward)."""
    _, plus = mlp_loss_and_grad([p + h * d for p, d in zip(params, v)], X, targets)
    _, minus = mlp_loss_and_grad([p - h * d for p, d in zip(params, v)], X, targets)
    return [(a - b) / (2.0 * h) for a, b in zip(plus, minus)]


def power_iteration(params, v, X, targets, iterations: int) -> tuple[Tensor, list[Tensor]]:
    """The top Hessian eigenvalue per run (its Rayleigh quotient) after ``iterations`` products, warm-started at
    ``v`` (unit norm per run); returns it and the new direction."""
    sharpness = None
    for _ in range(iterations):
        hv = hessian_vector(params, v, X, targets)
        sharpness = _dot(hv, v)
        norm = _dot(hv, hv).sqrt()
        v = [x / _per_run(norm, x) for x in hv]
    return sharpness, v


def edge_of_stability_runs(lrs: Sequence[float], steps: int, every: int = 10, iterations: int = 3,
                           n: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Full-batch GD at each learning rate from the same weights: the loss after every step (steps + 1, R) and the
    sharpness every ``every`` steps (steps // every + 1, R), by power iteration warm-started from the last
    direction (30 products at the start, ``iterations`` after)."""
    X, targets, initial = mlp_setup(n, seed=seed)
    runs = len(lrs)
    lr = torch.tensor(lrs, dtype=F64)
    params = [p.expand(runs, *p.shape[1:]).clone() for p in initial]
    generator = torch.Generator().manual_seed(seed)
    v = [torch.randn(p.shape, generator=generator, dtype=F64) for p in params]
    v = [x / _per_run(_dot(v, v).sqrt(), x) for x in v]
    losses, sharpness = [], []
    for step in range(steps + 1):
        loss, grads = mlp_loss_and_grad(params, X, targets)
        losses.append(loss)
        if step % every == 0:
            top, v = power_iteration(params, v, X, targets, iterations if step else 30)
            sharpness.append(top)
        if step < steps:
            params = [p - _per_run(lr, p) * g for p, g in zip(params, grads)]
    return torch.stack(losses).numpy(), torch.stack(sharpness).numpy()


@lab(title="Gradient descent at the edge of stability", section="sharpness",
     claim="Under full-batch gradient descent a small network's sharpness, the top Hessian eigenvalue, rises until "
           "it reaches 2/η and then hovers there while the loss keeps falling, for each of two learning rates.",
     params=(Param("lr_a", "learning rate η₁", 0.02, 0.5, 0.2, step=0.01),
             Param("lr_b", "learning rate η₂", 0.02, 0.5, 0.3, step=0.01),
             Param("steps", "steps", 200, 1500, 600, integer=True, step=100)))
def edge_of_stability(lr_a: float, lr_b: float, steps: int) -> LabResult:
    """network.py's 2-32-32-1 tanh MLP on 100 moons points, squared error, GD at two rates from the same weights."""
    every = 10
    lrs = (lr_a, lr_b)
    with network.single_thread():  # tiny matrices: a second thread only spin-waits on a shared machine
        losses, sharp = edge_of_stability_runs(lrs, steps, every=every)
    half = slice(len(sharp) // 2, None)
    hover = sharp[half].mean(axis=0)  # mean sharpness over the second half, per rate
    ratios = [float(hover[i] * lrs[i] / 2.0) for i in range(2)]
    start = float(sharp[0, 0])
    peaks = sharp.max(axis=0)
    fell = [float(losses[-1, i] / losses[0, i]) for i in range(2)]
    rises = [float((np.diff(losses[:, i]) > 0).mean()) for i in range(2)]
    ok = [start < 2.0 / lr and abs(r - 1.0) <= 0.15 and peak >= 0.95 * 2.0 / lr and f < 0.2
          for lr, r, peak, f in zip(lrs, ratios, peaks, fell)]
    passed = all(ok)
    verdict = (f"The sharpness starts at {fmt(start)}. At η = {lr_a:g} (2/η = {fmt(2 / lr_a)}) it peaks at "
               f"{fmt(peaks[0])} and averages {fmt(hover[0])} over the second half ({fmt(ratios[0])} × 2/η); at "
               f"η = {lr_b:g} (2/η = {fmt(2 / lr_b)}) it peaks at {fmt(peaks[1])} and averages {fmt(hover[1])} "
               f"({fmt(ratios[1])} × 2/η). The loss falls to {fmt(fell[0])} and {fmt(fell[1])} of its start, rising on "
               f"{rises[0]:.0%} and {rises[1]:.0%} of the steps. "
               + ("Each run sits at its own 2/η." if passed else
                  "Not every run reached and held 2/η: a small rate leaves the sharpness below it for longer than "
                  "this run lasts."))
    t = np.arange(steps + 1)
    ts = t[::every]
    frames = {"sharpness": pd.concat([pd.DataFrame({"step": ts, "sharpness λmax": sharp[:, i], "run": f"η = {lr:g}"})
                                      for i, lr in enumerate(lrs)], ignore_index=True),
              "loss": pd.concat([pd.DataFrame({"step": t, "loss": losses[:, i], "run": f"η = {lr:g}"})
                                 for i, lr in enumerate(lrs)], ignore_index=True)}
    return LabResult(
        passed=passed,
        measured={"sharpness_start": start, "hover_a": float(hover[0]), "hover_b": float(hover[1]),
                  "hover_ratio_a": ratios[0], "hover_ratio_b": ratios[1], "peak_a": float(peaks[0]),
                  "peak_b": float(peaks[1]), "loss_fall_a": fell[0], "loss_fall_b": fell[1],
                  "rising_steps_a": rises[0], "rising_steps_b": rises[1]},
        expected={"edge_a": 2.0 / lr_a, "edge_b": 2.0 / lr_b, "hover_ratio_tolerance": 0.15},
        labels={"sharpness_start": "sharpness at the start", "hover_a": f"mean sharpness, second half, η = {lr_a:g}",
                "hover_b": f"mean sharpness, second half, η = {lr_b:g}", "hover_ratio_a": f"that / (2/η), η = {lr_a:g}",
                "hover_ratio_b": f"that / (2/η), η = {lr_b:g}", "peak_a": f"peak sharpness, η = {lr_a:g}",
                "peak_b": f"peak sharpness, η = {lr_b:g}", "loss_fall_a": f"final / first loss, η = {lr_a:g}",
                "loss_fall_b": f"final / first loss, η = {lr_b:g}",
                "rising_steps_a": f"steps where the loss rose, η = {lr_a:g}",
                "rising_steps_b": f"steps where the loss rose, η = {lr_b:g}", "edge_a": f"2/η, η = {lr_a:g}",
                "edge_b": f"2/η, η = {lr_b:g}", "hover_ratio_tolerance": "allowed |ratio − 1|"},
        verdict=verdict, frames=frames,
        plots=(Plot("sharpness", "step", "sharpness λmax", "run", "Top Hessian eigenvalue (power iteration)",
                    refs=(RefLine("y", 2.0 / lr_a, f"2/{lr_a:g}"), RefLine("y", 2.0 / lr_b, f"2/{lr_b:g}"))),
               Plot("loss", "step", "loss", "run", "Training loss (full batch)", y_log=True)),
        settings={"model": "network.py's 2-32-32-1 tanh MLP, Glorot-uniform start (seed 0)",
                  "data": "100 moons points, targets ±1, ½·mean squared error, every step on the full batch",
                  "sharpness": f"every {every} steps: power iteration on Hessian-vector products (central "
                               "differences of the exact gradient), warm-started, 3 products (30 at the start)"},
    )


# --------------------------------------------------------------------------------------------------------------
# Sharpness-aware minimisation on a surface with a sharp and a flat minimum.

SHARP, FLAT = (-1.0, 0.0), (1.0, 0.0)
SHARP_CURVATURE, FLAT_CURVATURE, SOFTNESS = 40.0, 1.0, 0.05


def two_minima(theta: Tensor) -> tuple[Tensor, Tensor]:
    """f = −τ log(exp(−q_s/τ) + exp(−q_f/τ)), a smooth minimum of two bowls q_s = ½·40‖θ − (−1, 0)‖² and
    q_f = ½‖θ − (1, 0)‖²: two minima of equal loss, curvature 40 and 1. Returns the loss and its gradient."""
    sharp, flat = torch.tensor(SHARP, dtype=theta.dtype), torch.tensor(FLAT, dtype=theta.dtype)
    q_s = 0.5 * SHARP_CURVATURE * ((theta - sharp) ** 2).sum(-1)
    q_f = 0.5 * FLAT_CURVATURE * ((theta - flat) ** 2).sum(-1)
    loss = -SOFTNESS * torch.logaddexp(-q_s / SOFTNESS, -q_f / SOFTNESS)
    w = torch.sigmoid((q_f - q_s) / SOFTNESS)[..., None]  # how much of the gradient the sharp bowl owns
    grad = w * SHARP_CURVATURE * (theta - sharp) + (1.0 - w) * FLAT_CURVATURE * (theta - flat)
    return loss, grad


def sam_run(starts: Tensor, lr: float, rho: float, steps: int) -> Tensor:
    """Gradient descent (rho = 0) or SAM (Foret et al. 2021): ε = ρ g/‖g‖, then θ ← θ − η ∇f(θ + ε). Every start is
    one run of the batch; returns the end points."""
    theta = starts.clone()
    for _ in range(steps):
        _, g = two_minima(theta)
        if rho > 0:
            _, g = two_minima(theta + rho * g / g.norm(dim=-1, keepdim=True).clamp_min(1e-300))
        theta = theta - lr * g
    return theta


def curvature_at(points: Tensor, h: float = 1e-4) -> Tensor:
    """The largest Hessian eigenvalue of the surface at each point, from central differences of the gradient."""
    columns = []
    for axis in range(2):
        shift = torch.zeros(2, dtype=points.dtype)
        shift[axis] = h
        columns.append((two_minima(points + shift)[1] - two_minima(points - shift)[1]) / (2 * h))
    hessian = torch.stack(columns, dim=-1)
    return torch.linalg.eigvalsh(0.5 * (hessian + hessian.transpose(-1, -2)))[..., -1]


@lab(title="Sharpness-aware minimisation leaves a sharp minimum", section="sharpness",
     claim="From starts where gradient descent settles in the sharp minimum (curvature 40), SAM with the same step "
           "bounces out and ends in the flat one (curvature 1), because its normalised ascent sets up a two-step "
           "cycle of amplitude ηλρ/(2 − ηλ) that the sharp basin cannot hold.",
     params=(Param("lr", "learning rate η", 0.005, 0.049, 0.045, step=0.001),
             Param("rho", "SAM radius ρ", 0.0, 0.3, 0.1, step=0.01),
             Param("steps", "steps", 100, 1000, 300, integer=True, step=50)))
def sam_flat_minimum(lr: float, rho: float, steps: int) -> LabResult:
    """96 starts on rings of radius 0.05 to 0.2 around the sharp minimum; GD and SAM from each."""
    angles = torch.linspace(0, 2 * math.pi, 25, dtype=F64)[:-1]
    radii = torch.tensor([0.05, 0.1, 0.15, 0.2], dtype=F64)
    starts = torch.stack([(SHARP[0] + radii[:, None] * torch.cos(angles)).flatten(),
                          (SHARP[1] + radii[:, None] * torch.sin(angles)).flatten()], dim=-1)
    gd, sam = sam_run(starts, lr, 0.0, steps), sam_run(starts, lr, rho, steps)
    sharp, flat = torch.tensor(SHARP, dtype=F64), torch.tensor(FLAT, dtype=F64)
    gd_sharp = (gd - sharp).norm(dim=-1) < 0.05
    sam_flat = (sam - flat).norm(dim=-1) < 0.05
    share_gd = float(gd_sharp.double().mean())
    share_sam = float((sam_flat & gd_sharp).double().sum() / gd_sharp.double().sum().clamp_min(1))
    lam_gd, lam_sam = float(curvature_at(gd).median()), float(curvature_at(sam).median())
    amplitude = lr * SHARP_CURVATURE * rho / (2.0 - lr * SHARP_CURVATURE)
    basin = 2.0 / (math.sqrt(SHARP_CURVATURE / FLAT_CURVATURE) + 1.0)  # where the bowls cross on the line between
    passed = share_gd >= 0.9 and share_sam >= 0.9 and lam_sam < lam_gd / 10
    verdict = (f"Gradient descent at η = {lr:g} ends in the sharp minimum from {share_gd:.0%} of the {len(starts)} "
               f"starts (median curvature at its end points {fmt(lam_gd)}). SAM with ρ = {rho:g} ends in the flat "
               f"minimum from {share_sam:.0%} of those starts (median curvature {fmt(lam_sam)}). Its cycle in the "
               f"sharp bowl would have amplitude ηλρ/(2 − ηλ) = {fmt(amplitude)}, against a basin radius of "
               f"{fmt(basin)} toward the flat minimum. "
               + ("SAM trades the sharp minimum for the flat one." if passed else
                  "SAM stayed in the sharp minimum: its cycle fits inside the sharp basin (raise ρ or η)."))
    pick = slice(None, None, 4)
    frames = {"ends": pd.concat([pd.DataFrame({"x": p[pick, 0].numpy(), "y": p[pick, 1].numpy(), "run": name})
                                 for name, p in (("start", starts), ("GD end", gd), ("SAM end", sam))],
                                ignore_index=True)}
    xs = torch.linspace(-1.6, 1.6, 161, dtype=F64)
    line = torch.stack([xs, torch.zeros_like(xs)], dim=-1)
    frames["profile"] = pd.DataFrame({"x": xs.numpy(), "f(x, 0)": two_minima(line)[0].numpy(), "curve": "f along y = 0"})
    return LabResult(
        passed=passed,
        measured={"gd_sharp_share": share_gd, "sam_flat_share": share_sam, "gd_curvature": lam_gd,
                  "sam_curvature": lam_sam},
        expected={"sam_cycle_amplitude": amplitude, "sharp_basin_radius": basin, "sharp_curvature": SHARP_CURVATURE,
                  "flat_curvature": FLAT_CURVATURE},
        labels={"gd_sharp_share": "share of starts where GD ends sharp",
                "sam_flat_share": "of those, share where SAM ends flat", "gd_curvature": "curvature where GD ends",
                "sam_curvature": "curvature where SAM ends", "sam_cycle_amplitude": "SAM's cycle amplitude ηλρ/(2 − ηλ)",
                "sharp_basin_radius": "sharp basin radius toward the flat minimum",
                "sharp_curvature": "curvature of the sharp minimum", "flat_curvature": "curvature of the flat minimum"},
        verdict=verdict, frames=frames,
        plots=(Plot("profile", "x", "f(x, 0)", "curve", "The surface along the line through both minima"),
               Plot("ends", "x", "y", "run", "Starts and end points (every fourth)", mark="point")),
        settings={"surface": "a smooth minimum (τ = 0.05) of ½·40‖θ − (−1, 0)‖² and ½‖θ − (1, 0)‖²",
                  "starts": "96 points on rings of radius 0.05–0.2 around the sharp minimum",
                  "SAM": "ε = ρ ∇f/‖∇f‖, step with ∇f(θ + ε) (Foret et al. 2021); GD is ρ = 0",
                  "steps": steps},
    )
