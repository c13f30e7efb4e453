"""Learning-rate schedules as per-step factors on the base learning rate, mirroring torch.optim.lr_scheduler.

``Schedule.factors(steps)[k]`` multiplies lr during update k + 1 (0-based k), exactly as the lr a torch
scheduler leaves in ``optimizer.param_groups`` before that update:

- ``constant``: 1.
- ``warmup``: LinearLR(start_factor, total_iters=warmup_steps): linear ramp from start_factor to 1.
- ``cosine``: CosineAnnealingLR(T_max=steps, eta_min=min_factor * lr): min + (1 - min)(1 + cos(pi k / T)) / 2.
- ``warmup_cosine``: SequentialLR([LinearLR, CosineAnnealingLR(T_max=steps - warmup_steps)], [warmup_steps]).
- ``step``: StepLR(step_size, gamma): gamma ** (k // step_size).
- ``onecycle``: OneCycleLR(max_lr=lr, total_steps=steps, pct_start, div_factor, final_div_factor), cosine annealing:
  from lr / div_factor up to lr over the first pct_start of the run, then down to lr / (div_factor *
  final_div_factor). (torch also cycles the momentum inversely; a factor on lr cannot, and Descent does not.)
- ``wsd``: warmup-stable-decay (Hu et al. 2024; Hägele et al. 2024; Wen et al. 2024): LinearLR warmup over
  warmup_steps (none when 0), the peak rate held, then over the last decay_steps(steps) = round(decay_fraction * steps)
  updates a decay to min_factor, ``decay_shape`` "linear" (LinearLR(1, min_factor), as torch composes it with
  SequentialLR) or "sqrt" (the 1 - sqrt cooldown of Hägele et al.: min + (1 - min)(1 - sqrt(j / D))).

The loss-driven rule, ReduceLROnPlateau, cannot be a list of factors fixed in advance: ``Plateau`` is its rule
(torch's semantics: mode min, factor, patience, threshold and threshold_mode, cooldown, min_lr, eps) stepped one
metric at a time, and ``plateau_race`` runs an optimizer on a landscape while it watches the loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .limits import MAX_STEPS

KINDS = ("constant", "warmup", "cosine", "warmup_cosine", "step", "onecycle", "wsd")
DECAY_SHAPES = ("linear", "sqrt")


@dataclass(frozen=True)
class Schedule:
    kind: str = "constant"
    warmup_steps: int = 0
    start_factor: float = 0.01
    min_factor: float = 0.0
    step_size: int = 100
    gamma: float = 0.5
    pct_start: float = 0.3  # onecycle: share of the run spent rising (torch's default)
    div_factor: float = 25.0  # onecycle: the start is lr / div_factor
    final_div_factor: float = 1e4  # onecycle: the end is lr / (div_factor * final_div_factor)
    decay_fraction: float = 0.2  # wsd: share of the run spent decaying
    decay_shape: str = "linear"  # wsd: "linear" or "sqrt" (1 - sqrt)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Unknown schedule {self.kind!r}; valid: {', '.join(KINDS)}")
        if self.kind in ("warmup", "warmup_cosine") and self.warmup_steps < 1:
            raise ValueError(f"Invalid warmup_steps: {self.warmup_steps} (must be >= 1 for {self.kind})")
        if not 0.0 < self.start_factor <= 1.0:
            raise ValueError(f"Invalid start_factor: {self.start_factor} (must be in (0, 1])")
        if not 0.0 <= self.min_factor <= 1.0:
            raise ValueError(f"Invalid min_factor: {self.min_factor} (must be in [0, 1])")
        if self.step_size < 1:
            raise ValueError(f"Invalid step_size: {self.step_size} (must be >= 1)")
        if not 0.0 < self.gamma <= 1.0:
            raise ValueError(f"Invalid gamma: {self.gamma} (must be in (0, 1])")
        if not 0.0 < self.pct_start < 1.0:
            raise ValueError(f"Invalid pct_start: {self.pct_start} (must be in (0, 1))")
        if self.div_factor < 1.0 or self.final_div_factor < 1.0:
            raise ValueError(f"Invalid div_factor {self.div_factor} or final_div_factor {self.final_div_factor} "
                             "(must be >= 1)")
        if not 0.0 < self.decay_fraction <= 1.0:
            raise ValueError(f"Invalid decay_fraction: {self.decay_fraction} (must be in (0, 1])")
        if self.decay_shape not in DECAY_SHAPES:
            raise ValueError(f"Invalid decay_shape: {self.decay_shape!r} (valid: {', '.join(DECAY_SHAPES)})")
        if self.warmup_steps < 0:
            raise ValueError(f"Invalid warmup_steps: {self.warmup_steps} (must be >= 0)")

    def decay_steps(self, steps: int) -> int:
        """wsd: how many of ``steps`` updates the decay takes, round(decay_fraction * steps), at least one."""
        return max(1, int(round(self.decay_fraction * steps)))

    def factors(self, steps: int) -> np.ndarray:
        if not 1 <= steps <= MAX_STEPS:
            raise ValueError(f"Invalid steps: {steps} (must be in [1, {MAX_STEPS}])")
        k = np.arange(steps, dtype=np.float64)
        if self.kind == "constant":
            return np.ones(steps)
        if self.kind == "warmup":
            return linear_warmup(k, self.start_factor, self.warmup_steps)
        if self.kind == "cosine":
            return cosine(k, steps, self.min_factor)
        if self.kind == "step":
            return self.gamma ** np.floor(k / self.step_size)
        if self.kind == "onecycle":
            return one_cycle(k, steps, self.pct_start, self.div_factor, self.final_div_factor)
        if self.kind == "wsd":
            return self._wsd(k, steps)
        warm = self.warmup_steps
        after = cosine(k - warm, max(steps - warm, 1), self.min_factor)
        return np.where(k < warm, linear_warmup(k, self.start_factor, warm), after)

    def _wsd(self, k: np.ndarray, steps: int) -> np.ndarray:
        warm, decay = self.warmup_steps, self.decay_steps(steps)
        if warm + decay > steps:
            raise ValueError(f"wsd: warmup ({warm}) and decay ({decay}) steps do not fit in {steps} steps")
        j = np.clip(k - (steps - decay), 0.0, None)  # updates into the decay, 0 before it
        if self.decay_shape == "linear":
            tail = 1.0 + (self.min_factor - 1.0) * np.minimum(j, decay) / decay
        else:
            tail = self.min_factor + (1.0 - self.min_factor) * (1.0 - np.sqrt(j / decay))
        head = linear_warmup(k, self.start_factor, warm) if warm else np.ones_like(k)
        return np.where(k < warm, head, tail)

    def describe(self) -> str:
        if self.kind == "constant":
            return "constant"
        if self.kind == "warmup":
            return f"linear warmup over {self.warmup_steps} steps from {self.start_factor:g}x"
        if self.kind == "cosine":
            return f"cosine decay to {self.min_factor:g}x"
        if self.kind == "step":
            return f"x{self.gamma:g} every {self.step_size} steps"
        if self.kind == "onecycle":
            return (f"one cycle: up from 1/{self.div_factor:g} over the first {self.pct_start:.0%}, then cosine down "
                    f"to 1/{self.div_factor * self.final_div_factor:g}")
        if self.kind == "wsd":
            warm = f"warmup {self.warmup_steps} steps, " if self.warmup_steps else ""
            return (f"{warm}constant, then a {self.decay_shape} decay to {self.min_factor:g}x over the last "
                    f"{self.decay_fraction:.0%}")
        return f"warmup {self.warmup_steps} steps, then cosine to {self.min_factor:g}x"


def linear_warmup(k: np.ndarray, start_factor: float, warmup_steps: int) -> np.ndarray:
    return start_factor + (1.0 - start_factor) * np.minimum(k, warmup_steps) / warmup_steps


def cosine(k: np.ndarray, period: int, min_factor: float) -> np.ndarray:
    return min_factor + (1.0 - min_factor) * (1.0 + np.cos(math.pi * k / period)) / 2.0


def one_cycle(k: np.ndarray, steps: int, pct_start: float, div_factor: float, final_div_factor: float) -> np.ndarray:
    """OneCycleLR's two cosine phases, as factors of max_lr; the phase boundary is torch's, pct_start * steps - 1."""
    turn, last = float(pct_start * steps) - 1.0, float(steps - 1)
    if turn <= 0.0 or last <= turn:
        raise ValueError(f"onecycle: pct_start * steps = {pct_start * steps:g} leaves an empty phase "
                         f"(need 1 < pct_start * steps < steps)")
    start, low = 1.0 / div_factor, 1.0 / (div_factor * final_div_factor)
    rise = anneal_cos(start, 1.0, k / turn)
    fall = anneal_cos(1.0, low, (k - turn) / (last - turn))
    return np.where(k <= turn, rise, fall)


def anneal_cos(start: float, end: float, pct: np.ndarray) -> np.ndarray:
    """From ``start`` at pct 0 to ``end`` at pct 1 along half a cosine."""
    return end + (start - end) / 2.0 * (np.cos(math.pi * pct) + 1.0)


def offered(kind: str, steps: int) -> Schedule:
    """The schedule the app's figures and races offer under ``kind`` for a race of ``steps``: warmup over the first
    sixth, or halving every quarter; one cycle with torch's defaults; warmup-stable-decay with a warmup over the
    first sixth and a linear decay over the last fifth."""
    if kind in ("warmup", "warmup_cosine"):
        return Schedule(kind, warmup_steps=max(1, steps // 6), start_factor=0.01)
    if kind == "wsd":
        return Schedule("wsd", warmup_steps=max(1, steps // 6), start_factor=0.01, decay_fraction=0.2)
    if kind == "step":
        return Schedule("step", step_size=max(1, steps // 4), gamma=0.5)
    return Schedule(kind)


# --------------------------------------------------------------------------------------------------------------
# ReduceLROnPlateau: a rule that watches a metric, so it is stepped, not precomputed.


@dataclass(frozen=True)
class PlateauState:
    lr: float  # the learning rate the next updates use
    best: float  # the best metric so far (inf for "min" before the first)
    bad: int  # metrics in a row that did not beat ``best`` by the threshold (torch's num_bad_epochs)
    cooldown: int  # metrics still to ignore after a cut (torch's cooldown_counter)
    cuts: int = 0  # how many times the rate was cut


@dataclass(frozen=True)
class Plateau:
    """torch.optim.lr_scheduler.ReduceLROnPlateau's rule, one metric at a time.

    A metric counts as an improvement when it beats the best so far by ``threshold`` (relative: below
    best * (1 - threshold) in mode "min"; absolute: below best - threshold). After more than ``patience`` metrics
    in a row without one, lr becomes max(lr * factor, min_lr), kept only if it moved by more than ``eps``; then
    ``cooldown`` metrics are ignored."""

    mode: str = "min"
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float = 0.0
    eps: float = 1e-8

    def __post_init__(self):
        if self.mode not in ("min", "max"):
            raise ValueError(f"Invalid mode: {self.mode!r} (min or max)")
        if self.threshold_mode not in ("rel", "abs"):
            raise ValueError(f"Invalid threshold_mode: {self.threshold_mode!r} (rel or abs)")
        if not 0.0 < self.factor < 1.0:
            raise ValueError(f"Invalid factor: {self.factor} (must be in (0, 1))")
        if self.patience < 0 or self.cooldown < 0:
            raise ValueError(f"Invalid patience {self.patience} or cooldown {self.cooldown} (must be >= 0)")
        if self.threshold < 0 or self.min_lr < 0 or self.eps < 0:
            raise ValueError("threshold, min_lr and eps must be >= 0")

    def start(self, lr: float) -> PlateauState:
        return PlateauState(float(lr), math.inf if self.mode == "min" else -math.inf, 0, 0)

    def improves(self, metric: float, best: float) -> bool:
        if self.mode == "min":
            return metric < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return metric > (best * (1.0 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, state: PlateauState, metric: float) -> PlateauState:
        metric = float(metric)
        best, bad, cooldown, lr, cuts = state.best, state.bad + 1, state.cooldown, state.lr, state.cuts
        if self.improves(metric, best):
            best, bad = metric, 0
        if cooldown > 0:
            cooldown, bad = cooldown - 1, 0
        if bad > self.patience:
            cut = max(lr * self.factor, self.min_lr)
            if lr - cut > self.eps:
                lr, cuts = cut, cuts + 1
            cooldown, bad = self.cooldown, 0
        return PlateauState(lr, best, bad, cooldown, cuts)

    def rates(self, lr: float, metrics) -> np.ndarray:
        """The learning rate in force after each metric: rates[i] is lr once metrics[: i + 1] were seen."""
        state, out = self.start(lr), []
        for metric in metrics:
            state = self.step(state, metric)
            out.append(state.lr)
        return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class PlateauRun:
    losses: np.ndarray  # (steps + 1,) noise-free loss of every iterate, the start included
    metrics: np.ndarray  # (steps // every,) the loss the rule saw at the end of each "epoch"
    lrs: np.ndarray  # (steps,) the learning rate each update used
    cut_epochs: np.ndarray  # the epochs (1-based) after which the rate was cut
    path: np.ndarray  # (steps + 1, 2)


def plateau_race(landscape, opt: str, *, steps: int, lr: float, rule: Plateau = Plateau(), every: int = 1,
                 start=None, noise: float = 0.0, seed: int = 0, hparams=None,
                 dtype=torch.float64) -> PlateauRun:
    """One run of ``opt`` on ``landscape`` whose learning rate ``rule`` sets from the loss: every ``every`` updates
    (an "epoch") the noise-free loss of the current point is handed to the rule, as one would hand
    ``scheduler.step(val_loss)`` a validation loss. Gradient noise is N(0, noise²) per coordinate, seeded."""
    from .landscapes import get_landscape  # the engine's layers: schedules sits below races, beside optimizers
    from .optimizers import make_stepper

    if not 1 <= steps <= MAX_STEPS or every < 1:
        raise ValueError(f"Invalid steps {steps} or every {every}")
    surface = get_landscape(landscape)
    stepper = make_stepper(opt, lr=lr, **dict(hparams or {}))
    theta = torch.tensor([start if start is not None else surface.start], dtype=dtype)
    state = stepper.init(theta)
    generator = torch.Generator().manual_seed(seed)
    draws = torch.randn(steps, *theta.shape, generator=generator, dtype=dtype) * noise if noise else None
    watch = rule.start(lr)
    losses, lrs, metrics, cuts, path = [float(surface.loss(theta))], [], [], [], [theta[0].tolist()]
    for k in range(steps):
        grad = surface.grad(theta)
        if draws is not None:
            grad = grad + draws[k]
        lrs.append(watch.lr)
        theta, state = stepper.update(theta, grad, state, lr_scale=watch.lr / lr)
        losses.append(float(surface.loss(theta)))
        path.append(theta[0].tolist())
        if (k + 1) % every == 0:
            metrics.append(losses[-1])
            before = watch.cuts
            watch = rule.step(watch, losses[-1])
            if watch.cuts > before:
                cuts.append(len(metrics))
    return PlateauRun(np.asarray(losses), np.asarray(metrics), np.asarray(lrs), np.asarray(cuts, dtype=int),
                      np.asarray(path))
