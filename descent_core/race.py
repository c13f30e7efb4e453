"""Races: several optimizers, each with B runs, released on one landscape and stepped in lock-step.

Every step computes one gradient for all optimizers and runs at once (their positions share one tensor), then
each optimizer's stepper advances its own slice. A learning-rate sweep is a race whose hyperparameters are
per-run arrays; a start-point sweep is a race with several ``starts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from . import allocator
from .landscapes import Landscape, get_landscape
from .limits import MAX_NOISE, MAX_PARTICLES, MAX_POINTS, MAX_STEPS
from .optimizers import OPTIMIZERS, Stepper, resolve_hparams, unknown_optimizer
from .schedules import Schedule



def default_device() -> torch.device:
    """cuda when available, else Apple's mps, else cpu."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


Recording = int | str  # k >= 1: every k-th step (and the last); "final": the start and the last step only


def recorded_steps(steps: int, record: Recording) -> np.ndarray:
    """The step indices a race keeps: 0, k, 2k, ..., and always the last one."""
    if record == "final":
        return np.array([0, steps])
    if isinstance(record, bool) or not isinstance(record, (int, np.integer)) or not 1 <= record <= steps:
        raise ValueError(f"Invalid record: {record!r} (a whole number of steps in [1, {steps}], or 'final')")
    return np.unique(np.append(np.arange(0, steps + 1, int(record)), steps))


@dataclass
class Race:
    landscape: Landscape
    optimizers: tuple[str, ...]
    hparams: dict[str, dict[str, Any]]  # resolved, per optimizer (floats or per-run lists)
    steps: int
    starts: np.ndarray  # (B, 2)
    recorded: np.ndarray  # (P,) the step index of every recorded point: 0..steps, or every k-th (see ``record``)
    paths: np.ndarray  # (n_opt, B, P, 2), frozen after divergence
    losses: np.ndarray  # (n_opt, B, P)
    grads: np.ndarray | None  # (n_opt, B, steps, 2): the gradient each update used (record_grads / record_state)
    diverged_at: np.ndarray  # (n_opt, B): first step whose position or loss was non-finite, -1 if never
    base_lr: np.ndarray  # (n_opt, B): each run's learning rate before any schedule
    lr_factors: np.ndarray  # (steps,): the schedule's factor on the learning rate at each update
    states: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # opt -> slot -> (B, steps, ...)
    # Where the gradients were taken, when that is not the point a reader evaluates (schedule-free rules step y and
    # answer with the average x: ``paths``/``losses`` then hold x, these hold y). None when they are the same.
    gradient_paths: np.ndarray | None = None
    gradient_losses: np.ndarray | None = None
    noise: float = 0.0
    seed: int = 0
    schedule: Schedule | None = None
    clip: float | None = None

    @property
    def runs(self) -> int:
        return self.paths.shape[1]

    @property
    def every_step(self) -> bool:
        return len(self.recorded) == self.steps + 1

    @property
    def stepped_paths(self) -> np.ndarray:
        """Where each update took its gradient and moved from: ``gradient_paths`` for schedule-free rules, else
        ``paths``."""
        return self.paths if self.gradient_paths is None else self.gradient_paths

    @property
    def lr(self) -> np.ndarray:
        """The learning rate in force at each update, (n_opt, B, steps); computed when asked, never stored."""
        return self.base_lr[..., None] * self.lr_factors

    def final_loss(self) -> np.ndarray:
        return self.losses[..., -1]

    def steps_to_tolerance(self, tolerance: float) -> np.ndarray:
        """The recorded step from which the loss stays within ``tolerance`` of the landscape's minimum value to the
        end of the race, -1 if it never settles there. (A run that touches the tolerance and leaves again, as a
        sign method circling the minimum does, has not reached it: so this agrees with a ranking by final loss.)"""
        close = (self.losses - self.landscape.minimum_value <= tolerance) & (self.diverged_at[..., None] < 0)
        stays = np.flip(np.logical_and.accumulate(np.flip(close, -1), -1), -1)  # close from here to the end
        return np.where(stays[..., -1], self.recorded[stays.argmax(-1)], -1)

    def effective_step(self) -> np.ndarray:
        """Per-coordinate effective learning rate |delta theta| / |g| of every update: (n_opt, B, steps, 2)."""
        if self.grads is None:
            raise ValueError("effective_step needs the gradients: race(..., record_grads=True) or record_state=True, "
                             "with every step recorded (record=1)")
        delta = np.abs(np.diff(self.stepped_paths, axis=2))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.abs(self.grads) > 0, delta / np.abs(self.grads), np.nan)

    def to_frame(self) -> pd.DataFrame:
        """Long table: optimizer, run, step, x, y, loss."""
        n_opt, runs, points, _ = self.paths.shape
        return pd.DataFrame({
            "optimizer": np.repeat(np.array(self.optimizers), runs * points),
            "run": np.tile(np.repeat(np.arange(runs), points), n_opt),
            "step": np.tile(self.recorded, n_opt * runs),
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
         record: Recording = 1, record_state: bool = False, record_grads: bool = False) -> Race:
    """Run every optimizer from the same start(s) on ``landscape`` for ``steps`` updates.

    ``hparams[opt]`` overrides that optimizer's hyperparameters; without overrides an optimizer uses
    ``landscape.tuned[opt]``, else its defaults. ``noise`` adds seeded Gaussian noise of that standard deviation
    to every gradient (the same draws for every optimizer; GD, being full-batch, gets none). ``clip`` rescales each
    run's gradient to at most that global norm, as ``torch.nn.utils.clip_grad_norm_``.

    ``record`` chooses what is kept: 1 (every step), k (every k-th step and the last) or
    "final" (the start and the end). Losses and divergence are exact either way: a sparse recording checks every
    step as it goes, so a sweep of a million runs keeps only what it reports. ``record_grads`` also keeps the
    gradient each update used (``grads``, for ``effective_step``), and ``record_state`` every optimizer buffer of
    every step, with the gradients: both need every step recorded. ``device`` defaults to ``default_device()``
    (CUDA when present).
    """
    surface = get_landscape(landscape)
    opt_ids = _check_optimizers(optimizers)
    resolved = {opt: _hparams_for(opt, surface, hparams) for opt in opt_ids}
    steppers = [Stepper(opt, resolved[opt]) for opt in opt_ids]
    start_points = _starts(surface, starts)
    runs = _batch_size(steppers, start_points)
    _check_request(steps, len(opt_ids), runs, noise, clip)
    recorded = recorded_steps(steps, record)
    _check_size(len(opt_ids), runs, len(recorded))
    allocator.prepare_for(len(opt_ids) * runs)  # big sweeps: keep glibc's heap from fragmenting (allocator.py)
    every_step = len(recorded) == steps + 1
    if record_state and not every_step:
        raise ValueError("record_state needs every step recorded (record=1)")
    if record_grads and not every_step:
        raise ValueError("record_grads needs every step recorded (record=1)")
    # Gradients are as big as the positions: most races (every figure but the step inspector) never read them.
    keeps_grads = record_grads or record_state

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
    # Where the loss comes with the gradient (a shared closed form, or autograd), an every-step recording keeps
    # each step's loss as the gradient is taken, instead of evaluating the surface again over all its positions
    # (a third of a 4,096-run sweep). A sparse recording evaluates a cache-sized block of steps at once, which is
    # cheaper than a loss per step.
    given_losses = surface.shares_value and every_step
    recorder = _Recorder(surface, recorded, n_opt * runs, every_step, dtype, device, keeps_grads=keeps_grads,
                         given_losses=given_losses)
    current = recorder.start(thetas)
    # Schedule-free rules take gradients at y but answer with the average x: a second recorder keeps what a reader
    # evaluates, while the first keeps where the gradients were taken.
    evaluated = None
    if any(stepper.spec.evaluation_slot for stepper in steppers):
        evaluated = _Recorder(surface, recorded, n_opt * runs, every_step, dtype, device, keeps_grads=False)
        evaluated.start([s.evaluation_point(th, st) for s, th, st in zip(steppers, thetas, states)])
    recorded_states: list[dict[str, list[Tensor]]] = [{} for _ in opt_ids]

    with _fast_mode(surface, any(needs_curvature)):
        for k in range(steps):
            if given_losses:
                loss, grad_all = surface.value_and_grad(current)
                recorder.loss(k, loss)
            else:
                grad_all = surface.grad(current)
            if gradient_noise is not None:
                grad_all = gradient_noise.add_to(grad_all, k)
            if clip is not None:
                grad_all = clip_by_global_norm(grad_all, clip)
            recorder.gradient(k, grad_all)
            grads = grad_all.view(n_opt, runs, 2).unbind(0)
            lr_scale = float(factors[k])
            for i, stepper in enumerate(steppers):
                theta = thetas[i]
                curvature = (lambda th=theta: surface.hessian_diag(th)) if needs_curvature[i] else None
                thetas[i], states[i] = stepper.update(theta, grads[i], states[i], lr_scale=lr_scale,
                                                      curvature=curvature)
                if record_state:
                    for name, value in slot_tensors(states[i].slots).items():
                        recorded_states[i].setdefault(name, []).append(value.detach().to("cpu", torch.float64))
            current = recorder.step(k + 1, thetas)
            if evaluated is not None:
                evaluated.step(k + 1, [s.evaluation_point(th, st) for s, th, st in zip(steppers, thetas, states)])
        if given_losses:
            recorder.loss(steps, surface.loss(current))
        paths, losses, grads_np, diverged_at = recorder.finish(n_opt, runs)
        gradient_paths = gradient_losses = None
        if evaluated is not None:
            gradient_paths, gradient_losses = paths, losses
            paths, losses, _, evaluated_diverged = evaluated.finish(n_opt, runs)
            either = np.where(diverged_at < 0, evaluated_diverged,
                              np.where(evaluated_diverged < 0, diverged_at, np.minimum(diverged_at, evaluated_diverged)))
            diverged_at = either

    return Race(
        landscape=surface, optimizers=tuple(opt_ids), hparams={opt: _displayable(resolved[opt]) for opt in opt_ids},
        steps=steps, starts=start_points, recorded=recorded, paths=paths, losses=losses, grads=grads_np,
        gradient_paths=gradient_paths, gradient_losses=gradient_losses,
        diverged_at=diverged_at, base_lr=np.stack([_lr_per_run(resolved[opt]["lr"], runs) for opt in opt_ids]),
        lr_factors=factors,
        states={opt: {name: torch.stack(values, 1).numpy() for name, values in recorded_states[i].items()}
                for i, opt in enumerate(opt_ids)} if record_state else {},
        noise=noise, seed=seed, schedule=schedule, clip=clip,
    )


class _Recorder:
    """Keeps the recorded points of a race in preallocated storage, laid out (points, particles, 2) so that each
    step writes one contiguous block, and turns it into the Race's arrays (numpy views, no copies).

    Every-step recording finds divergence afterwards, in one vectorised pass (nothing to do when every run stayed
    finite, the usual case). A sparse recording cannot look back over the whole race, so it keeps the last few
    steps in a ring of ``window`` slots and settles them a block at a time: the same checks, on the same numbers,
    with memory bounded by the window. A run that leaves is held at its last finite point, as in a full recording.

    With ``given_losses`` (every-step recording only) the race hands over each step's loss (``loss``), computed
    with the gradient there; else the recorder evaluates the surface over its positions itself.
    """

    TILE_ELEMENTS = 2**21  # positions per block when computing losses afterwards: bounds the loss pass's temporaries
    RING_BYTES = 256 * 2**10  # a block of recent positions small enough to stay in a core's cache while it is checked

    def __init__(self, surface: Landscape, recorded: np.ndarray, particles: int, every_step: bool, dtype, device,
                 keeps_grads: bool = True, given_losses: bool = False):
        self.surface, self.every_step, self.recorded, self.given_losses = surface, every_step, recorded, given_losses
        self.slot_of = {int(step): slot for slot, step in enumerate(recorded)}
        self.positions = torch.empty(len(recorded), particles, 2, dtype=dtype, device=device)
        self.losses = torch.empty(len(recorded), particles, dtype=dtype, device=device)
        self.grads = (torch.empty(len(recorded) - 1, particles, 2, dtype=dtype, device=device)
                      if every_step and keeps_grads else None)
        if not every_step:
            bytes_per_step = particles * 2 * torch.finfo(dtype).bits // 8
            self.window = int(np.clip(self.RING_BYTES // max(bytes_per_step, 1), 1, 64))
            self.ring = torch.empty(self.window, particles, 2, dtype=dtype, device=device)
            self.diverged_at = torch.full((particles,), -1, dtype=torch.int64, device=device)

    def start(self, thetas: list[Tensor]) -> Tensor:
        current = torch.cat(thetas, out=self.positions[0])
        if not self.every_step:
            self.last_good, self.last_loss = current.clone(), self.surface.loss(current)
            self.losses[0] = self.last_loss
        return current

    def gradient(self, k: int, grad: Tensor) -> None:
        if self.grads is not None:
            self.grads[k] = grad

    def loss(self, step: int, loss: Tensor) -> None:
        """The loss at step ``step``'s positions (``given_losses``)."""
        self.losses[step] = loss

    def step(self, step: int, thetas: list[Tensor]) -> Tensor:
        if self.every_step:
            return torch.cat(thetas, out=self.positions[step])
        slot = (step - 1) % self.window
        current = torch.cat(thetas, out=self.ring[slot])
        if slot == self.window - 1 or step == self.recorded[-1]:
            self._settle(step - slot, self.ring[: slot + 1], self.surface.loss(self.ring[: slot + 1]))
        return current

    def _settle(self, first_step: int, block: Tensor, losses: Tensor) -> None:
        """Check steps first_step .. first_step + len(block) - 1 (positions and their losses, (n, particles)), hold
        the runs that left, and record the steps the race keeps."""
        steps = torch.arange(first_step, first_step + block.shape[0], device=block.device)
        if torch.isfinite(block.sum() + losses.sum()):  # every entry finite: the usual case
            held, held_loss, gone = block, losses, None
        else:
            bad = ~(torch.isfinite(block).all(-1) & torch.isfinite(losses)) & (self.diverged_at < 0)
            leaves = bad.any(0)
            self.diverged_at = torch.where(leaves, steps[bad.to(torch.uint8).argmax(0)], self.diverged_at)
            gone = (self.diverged_at >= 0) & (steps[:, None] >= self.diverged_at)  # (n, particles)
            # Each run's last finite point so far: a running "last good" over the block, from before it.
            held = torch.where(gone[..., None], torch.nan, block)
            held_loss = torch.where(gone, torch.nan, losses)
            for j in range(block.shape[0]):
                previous, previous_loss = (self.last_good, self.last_loss) if j == 0 else (held[j - 1], held_loss[j - 1])
                held[j] = torch.where(gone[j, :, None], previous, held[j])
                held_loss[j] = torch.where(gone[j], previous_loss, held_loss[j])
        self.last_good, self.last_loss = held[-1].clone(), held_loss[-1].clone()
        for j, step in enumerate(steps.tolist()):
            slot = self.slot_of.get(step)
            if slot is not None:
                self.positions[slot], self.losses[slot] = held[j], held_loss[j]

    def finish(self, n_opt: int, runs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        if self.every_step:
            if not self.given_losses:
                tile = max(1, self.TILE_ELEMENTS // self.positions.shape[1])
                for a in range(0, self.positions.shape[0], tile):
                    self.losses[a:a + tile] = self.surface.loss(self.positions[a:a + tile])
            diverged_at = self._freeze_divergent()
        else:
            diverged_at = self.diverged_at
        as_races = lambda x: x.reshape(x.shape[0], n_opt, runs, *x.shape[2:]).movedim(0, 2)  # noqa: E731
        grads = None if self.grads is None else as_races(self.grads).cpu().numpy()
        return (as_races(self.positions).cpu().numpy(), as_races(self.losses).cpu().numpy(), grads,
                diverged_at.reshape(n_opt, runs).cpu().numpy())

    def _freeze_divergent(self) -> Tensor:
        """Mark each run's first non-finite point and hold it at its last finite point from there on; zero the
        gradients of the updates that left, and any non-finite gradient."""
        # A finite sum means every entry is finite: one pass over the arrays settles the usual case.
        if self.grads is not None and not torch.isfinite(self.grads.sum()):
            self.grads.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)
        never = torch.full(self.positions.shape[1:2], -1, dtype=torch.int64, device=self.positions.device)
        if torch.isfinite(self.positions.sum() + self.losses.sum()):
            return never
        bad = ~(torch.isfinite(self.positions).all(-1) & torch.isfinite(self.losses))  # (points, particles)
        has_bad = bad.any(0)
        first = torch.where(has_bad, bad.to(torch.uint8).argmax(0), never)
        if not has_bad.any():
            return first
        which = has_bad.nonzero().squeeze(1)
        start = first[which]  # >= 1: the start point is checked before the race
        after = torch.arange(self.positions.shape[0], device=bad.device)[:, None] >= start[None, :]
        held_positions = self.positions[start - 1, which]
        self.positions[:, which] = torch.where(after[..., None], held_positions, self.positions[:, which])
        self.losses[:, which] = torch.where(after, self.losses[start - 1, which], self.losses[:, which])
        if self.grads is not None:
            self.grads[:, which] = torch.where(after[1:, :, None], 0.0, self.grads[:, which])
        return first


def _check_size(n_opt: int, runs: int, points: int) -> None:
    if n_opt * runs > MAX_PARTICLES:
        raise ValueError(f"Request too big: {n_opt} optimizers x {runs} runs = {n_opt * runs:,} particles stepped "
                         f"at once > {MAX_PARTICLES:,}")
    if n_opt * runs * points > MAX_POINTS:
        raise ValueError(
            f"Request too big: {n_opt} optimizers x {runs} runs x {points} recorded points = "
            f"{n_opt * runs * points:,} > {MAX_POINTS:,}; record fewer points (record=k or 'final'), or use fewer "
            "runs or steps")


def _fast_mode(surface: Landscape, needs_curvature: bool):
    """inference_mode skips autograd bookkeeping on every tiny op (about 15% of a race); surfaces without closed
    forms need autograd, so they run under no_grad and switch it back on inside ``grad``."""
    closed_form = surface.gradient is not None and (surface.hessian_diagonal is not None or not needs_curvature)
    return torch.inference_mode() if closed_form else torch.no_grad()


def clip_by_global_norm(grad: Tensor, max_norm: float) -> Tensor:
    """Rescale each run's gradient to norm at most ``max_norm`` (clip_grad_norm_'s formula, eps 1e-6)."""
    norm = torch.linalg.vector_norm(grad, dim=-1, keepdim=True)
    return grad * torch.clamp(max_norm / (norm + 1e-6), max=1.0)


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
    if not (np.isfinite(noise) and 0.0 <= noise <= MAX_NOISE):
        raise ValueError(f"Invalid noise: {noise} (must be in [0, {MAX_NOISE:g}])")
    if clip is not None and not (np.isfinite(clip) and clip > 0):
        raise ValueError(f"Invalid clip: {clip} (must be > 0, or None for no clipping)")


class _GradientNoise:
    """Seeded Gaussian gradient noise: one draw per step, run and coordinate, shared by every optimizer except the
    full-batch ones (GD). Drawn on the CPU so every device sees the same numbers, a few steps at a time so memory
    stays small: torch's CPU sampler fills blocks of 16 numbers, so blocks of 8 steps (and a last block of at least
    8) give exactly the numbers of one draw of the whole race."""

    BLOCK = 8

    def __init__(self, steps: int, runs: int, std: float, seed: int, applies: Tensor, dtype, device):
        self.steps, self.runs, self.std, self.dtype, self.device = steps, runs, std, dtype, device
        self.generator = torch.Generator().manual_seed(int(seed))
        self.applies = applies  # (n_opt, 1, 1): 1 where the optimizer sees mini-batch noise, 0 for full-batch rules
        self.first, self.block = 0, None

    def _draw(self, k: int) -> None:
        self.first = k
        end = k + self.BLOCK if k + 2 * self.BLOCK <= self.steps else self.steps  # the last block takes the rest
        draws = torch.randn(end - k, self.runs, 2, generator=self.generator, dtype=torch.float64) * self.std
        self.block = draws.to(self.device, self.dtype)

    def add_to(self, grad: Tensor, k: int) -> Tensor:
        if self.block is None or k >= self.first + self.block.shape[0]:
            self._draw(k)
        n_opt = self.applies.shape[0]
        return (grad.view(n_opt, -1, 2) + self.block[k - self.first] * self.applies).view(grad.shape)


def _noise(steps: int, runs: int, n_opt: int, std: float, seed: int, opt_ids: list[str], dtype,
           device) -> _GradientNoise | None:
    if std == 0.0:
        return None
    applies = torch.tensor([not OPTIMIZERS[o].exact_gradient for o in opt_ids], dtype=dtype).reshape(-1, 1, 1)
    return _GradientNoise(steps, runs, std, seed, applies.to(device), dtype, device)


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
