"""Races: several optimizers, each with B runs, released on one landscape and stepped in lock-step.

Every step computes one gradient for all optimizers and runs at once (their positions share one tensor), then
each optimizer's stepper advances its own slice. A learning-rate sweep is a race whose hyperparameters are
per-run arrays; a start-point sweep is a race with several ``starts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from .landscapes import Landscape, get_landscape
from .limits import MAX_NOISE, MAX_POINTS, MAX_STEPS
from .optimizers import OPTIMIZERS, Stepper, resolve_hparams, unknown_optimizer
from .schedules import Schedule



def default_device() -> torch.device:
    """cuda when available, else Apple's mps, else cpu."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclass
class Race:
    landscape: Landscape
    optimizers: tuple[str, ...]
    hparams: dict[str, dict[str, Any]]  # resolved, per optimizer (floats or per-run lists)
    steps: int
    starts: np.ndarray  # (B, 2)
    paths: np.ndarray  # (n_opt, B, steps + 1, 2), frozen after divergence
    losses: np.ndarray  # (n_opt, B, steps + 1)
    grads: np.ndarray  # (n_opt, B, steps, 2): the gradient each update used (after noise and clipping)
    lr: np.ndarray  # (n_opt, B, steps): learning rate in force at each update
    diverged_at: np.ndarray  # (n_opt, B): first step whose position or loss was non-finite, -1 if never
    states: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # opt -> slot -> (B, steps, ...)
    noise: float = 0.0
    seed: int = 0
    schedule: Schedule | None = None
    clip: float | None = None

    @property
    def runs(self) -> int:
        return self.paths.shape[1]

    def final_loss(self) -> np.ndarray:
        return self.losses[..., -1]

    def steps_to_tolerance(self, tolerance: float) -> np.ndarray:
        """First step whose loss is within ``tolerance`` of the landscape's minimum value, -1 if never."""
        close = (self.losses - self.landscape.minimum_value <= tolerance) & (self.diverged_at[..., None] < 0)
        return np.where(close.any(-1), close.argmax(-1), -1)

    def effective_step(self) -> np.ndarray:
        """Per-coordinate effective learning rate |delta theta| / |g| of every update: (n_opt, B, steps, 2)."""
        delta = np.abs(np.diff(self.paths, axis=2))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.abs(self.grads) > 0, delta / np.abs(self.grads), np.nan)

    def to_frame(self) -> pd.DataFrame:
        """Long table: optimizer, run, step, x, y, loss."""
        n_opt, runs, points, _ = self.paths.shape
        return pd.DataFrame({
            "optimizer": np.repeat(np.array(self.optimizers), runs * points),
            "run": np.tile(np.repeat(np.arange(runs), points), n_opt),
            "step": np.tile(np.arange(points), n_opt * runs),
            "x": self.paths[..., 0].ravel(),
            "y": self.paths[..., 1].ravel(),
            "loss": self.losses.ravel(),
        })

    def summary(self, tolerance: float = 1e-3) -> pd.DataFrame:
        reached = self.steps_to_tolerance(tolerance)
        rows = []
        for i, opt in enumerate(self.optimizers):
            for b in range(self.runs):
                rows.append({
                    "optimizer": opt, "run": b, "final loss": float(self.losses[i, b, -1]),
                    f"steps to loss ≤ {tolerance:g}": None if reached[i, b] < 0 else int(reached[i, b]),
                    "diverged at": None if self.diverged_at[i, b] < 0 else int(self.diverged_at[i, b]),
                })
        frame = pd.DataFrame(rows)
        for column in (f"steps to loss ≤ {tolerance:g}", "diverged at"):
            frame[column] = frame[column].astype("Int64")  # missing = never
        return frame


def race(landscape: str | Landscape, optimizers: Sequence[str], *, steps: int, starts=None,
         hparams: Mapping[str, Mapping[str, Any]] | None = None, device=None, dtype=torch.float32,
         noise: float = 0.0, seed: int = 0, schedule: Schedule | None = None, clip: float | None = None,
         record_state: bool = False) -> Race:
    """Run every optimizer from the same start(s) on ``landscape`` for ``steps`` updates.

    ``hparams[opt]`` overrides that optimizer's hyperparameters; without overrides an optimizer uses
    ``landscape.tuned[opt]``, else its defaults. ``noise`` adds seeded Gaussian noise of that standard deviation
    to every gradient (the same draws for every optimizer; GD, being full-batch, gets none). ``clip`` rescales each
    run's gradient to at most that global norm, as ``torch.nn.utils.clip_grad_norm_``.
    """
    surface = get_landscape(landscape)
    opt_ids = _check_optimizers(optimizers)
    resolved = {opt: _hparams_for(opt, surface, hparams) for opt in opt_ids}
    steppers = [Stepper(opt, resolved[opt]) for opt in opt_ids]
    start_points = _starts(surface, starts)
    runs = _batch_size(steppers, start_points)
    _check_request(steps, len(opt_ids), runs, noise, clip)

    device = torch.device(device) if device is not None else default_device()
    if device.type == "mps" and dtype == torch.float64:
        dtype = torch.float32  # mps has no float64
    start_points = np.broadcast_to(start_points, (runs, 2)).copy()
    starts_tensor = torch.as_tensor(start_points, dtype=dtype, device=device)
    start_loss = surface.loss(starts_tensor)
    if not torch.isfinite(start_loss).all():
        raise ValueError(f"The loss is not finite at the start point(s) {start_points.tolist()}")

    factors = (schedule or Schedule()).factors(steps)
    n_opt = len(opt_ids)
    gradient_noise = _noise(steps, runs, n_opt, noise, seed, opt_ids, dtype, device)
    thetas = [starts_tensor.clone() for _ in opt_ids]
    states = [stepper.init(theta) for stepper, theta in zip(steppers, thetas)]
    needs_curvature = [stepper.spec.needs_curvature for stepper in steppers]
    history, grad_history = [torch.cat(thetas)], []
    recorded: list[dict[str, list[Tensor]]] = [{} for _ in opt_ids]

    with _fast_mode(surface, any(needs_curvature)):
        for k in range(steps):
            grad_all = surface.grad(history[-1])
            if gradient_noise is not None:
                grad_all = grad_all + gradient_noise[k]
            if clip is not None:
                grad_all = clip_by_global_norm(grad_all, clip)
            grad_history.append(grad_all)
            grads = grad_all.view(n_opt, runs, 2).unbind(0)
            lr_scale = float(factors[k])
            for i, stepper in enumerate(steppers):
                theta = thetas[i]
                curvature = (lambda th=theta: surface.hessian_diag(th)) if needs_curvature[i] else None
                thetas[i], states[i] = stepper.update(theta, grads[i], states[i], lr_scale=lr_scale,
                                                      curvature=curvature)
                if record_state:
                    for name, value in slot_tensors(states[i].slots).items():
                        recorded[i].setdefault(name, []).append(value.detach().to("cpu", torch.float64))
            history.append(torch.cat(thetas))
    positions = torch.stack(history)  # (steps + 1, n_opt * runs, 2)
    used_grads = torch.stack(grad_history)

    paths = positions.permute(1, 0, 2).reshape(n_opt, runs, steps + 1, 2)
    losses = surface.loss(paths)
    paths_np, losses_np = paths.cpu().numpy(), losses.cpu().numpy()
    grads_np = used_grads.permute(1, 0, 2).reshape(n_opt, runs, steps, 2).cpu().numpy()
    diverged_at = freeze_divergent(paths_np, losses_np, grads_np)
    lr_np = np.stack([_lr_per_run(resolved[opt]["lr"], runs) for opt in opt_ids])[..., None] * factors
    return Race(
        landscape=surface, optimizers=tuple(opt_ids), hparams={opt: _displayable(resolved[opt]) for opt in opt_ids},
        steps=steps, starts=start_points, paths=paths_np, losses=losses_np, grads=grads_np, lr=lr_np,
        diverged_at=diverged_at,
        states={opt: {name: torch.stack(values, 1).numpy() for name, values in recorded[i].items()}
                for i, opt in enumerate(opt_ids)} if record_state else {},
        noise=noise, seed=seed, schedule=schedule, clip=clip,
    )


def _fast_mode(surface: Landscape, needs_curvature: bool):
    """inference_mode skips autograd bookkeeping on every tiny op (about 15% of a race); surfaces without closed
    forms need autograd, so they run under no_grad and switch it back on inside ``grad``."""
    closed_form = surface.gradient is not None and (surface.hessian_diagonal is not None or not needs_curvature)
    return torch.inference_mode() if closed_form else torch.no_grad()


def clip_by_global_norm(grad: Tensor, max_norm: float) -> Tensor:
    """Rescale each run's gradient to norm at most ``max_norm`` (clip_grad_norm_'s formula, eps 1e-6)."""
    norm = torch.linalg.vector_norm(grad, dim=-1, keepdim=True)
    return grad * torch.clamp(max_norm / (norm + 1e-6), max=1.0)


def freeze_divergent(paths: np.ndarray, losses: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """Mark the first non-finite step of each run and hold the run at its last finite point from there on."""
    bad = ~np.isfinite(paths).all(-1) | ~np.isfinite(losses)
    has_bad = bad.any(-1)
    first = np.where(has_bad, bad.argmax(-1), -1)
    steps = np.arange(paths.shape[2])
    after = has_bad[..., None] & (steps >= first[..., None])
    last_good = np.clip(first - 1, 0, None)
    held_path = np.take_along_axis(paths, last_good[..., None, None].repeat(2, -1), axis=2)
    held_loss = np.take_along_axis(losses, last_good[..., None], axis=2)
    paths[:] = np.where(after[..., None], held_path, paths)
    losses[:] = np.where(after, held_loss, losses)
    grads[:] = np.where(after[..., 1:, None] | ~np.isfinite(grads), 0.0, grads)
    return first


def slot_tensors(slots: Any) -> dict[str, Tensor]:
    """Flatten a stepper state into {slot name: tensor}, e.g. {"m": ..., "v": ...} for Adam."""
    out: dict[str, Tensor] = {}
    if isinstance(slots, tuple) and hasattr(slots, "_fields"):
        out.update((name, value) for name in slots._fields if isinstance(value := getattr(slots, name), Tensor))
    elif isinstance(slots, tuple):
        for item in slots:
            out.update(slot_tensors(item))
    return out


# --------------------------------------------------------------------------------------------------------------
# Input checks: all of them run before any work starts.


def _check_optimizers(optimizers: Sequence[str]) -> list[str]:
    if isinstance(optimizers, str):
        optimizers = [optimizers]
    opt_ids = list(optimizers)
    if not opt_ids:
        raise ValueError("A race needs at least one optimizer")
    for opt in opt_ids:
        if opt not in OPTIMIZERS:
            raise unknown_optimizer(opt)
    if len(set(opt_ids)) != len(opt_ids):
        raise ValueError(f"Optimizer ids repeat in {opt_ids}; use per-run hyperparameter arrays to compare settings")
    return opt_ids


def _hparams_for(opt: str, surface: Landscape, hparams: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    if hparams:
        unknown = set(hparams) - set(OPTIMIZERS)
        if unknown:
            raise unknown_optimizer(sorted(unknown)[0])
    base = dict(surface.tuned.get(opt, {}))
    base.update((hparams or {}).get(opt, {}))
    return resolve_hparams(opt, base)


def _starts(surface: Landscape, starts) -> np.ndarray:
    if starts is None:
        return np.array([surface.start], dtype=np.float64)
    points = np.asarray(starts, dtype=np.float64)
    if points.ndim == 1:
        points = points[None, :]
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] == 0:
        raise ValueError(f"starts must have shape (B, 2); got {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("starts must be finite numbers")
    return points


def _batch_size(steppers: list[Stepper], starts: np.ndarray) -> int:
    sizes = {s.batch_size for s in steppers if s.batch_size is not None}
    if starts.shape[0] > 1:
        sizes.add(starts.shape[0])
    if len(sizes) > 1:
        raise ValueError(f"Per-run hyperparameters and starts disagree on the number of runs: {sorted(sizes)}")
    return sizes.pop() if sizes else 1


def _check_request(steps: int, n_opt: int, runs: int, noise: float, clip: float | None) -> None:
    if not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"Invalid steps: {steps} (must be an integer in [1, {MAX_STEPS}])")
    points = n_opt * runs * (steps + 1)
    if points > MAX_POINTS:
        raise ValueError(
            f"Request too big: {n_opt} optimizers x {runs} runs x {steps + 1} points = {points:,} > {MAX_POINTS:,}; "
            "use fewer steps or runs (or call the steppers directly for a larger sweep)"
        )
    if not (np.isfinite(noise) and 0.0 <= noise <= MAX_NOISE):
        raise ValueError(f"Invalid noise: {noise} (must be in [0, {MAX_NOISE:g}])")
    if clip is not None and not (np.isfinite(clip) and clip > 0):
        raise ValueError(f"Invalid clip: {clip} (must be > 0, or None for no clipping)")


def _noise(steps: int, runs: int, n_opt: int, std: float, seed: int, opt_ids: list[str], dtype, device) -> Tensor | None:
    """Seeded Gaussian gradient noise, drawn on the CPU so every device sees the same numbers."""
    if std == 0.0:
        return None
    generator = torch.Generator().manual_seed(int(seed))
    draws = torch.randn(steps, runs, 2, generator=generator, dtype=torch.float64) * std
    full_batch = torch.tensor([OPTIMIZERS[o].exact_gradient for o in opt_ids]).repeat_interleave(runs)
    per_row = draws.repeat(1, n_opt, 1) * (~full_batch).to(torch.float64)[None, :, None]
    return per_row.to(device, dtype)


def _lr_per_run(lr: float | Tensor, runs: int) -> np.ndarray:
    return np.full(runs, lr) if isinstance(lr, float) else lr.numpy()


def _displayable(hp: Mapping[str, Any]) -> dict[str, Any]:
    def show(v):
        if isinstance(v, Tensor):
            return v.tolist()
        if isinstance(v, tuple):
            return tuple(show(x) for x in v)
        return v
    return {name: show(value) for name, value in hp.items()}
