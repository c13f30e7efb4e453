"""A fair race: every optimizer's learning rate tuned by the same budget before anyone races.

Comparisons between optimizers drift when one of them was tuned and the other borrowed a default. Here each
optimizer gets the same log grid of ``points`` learning rates (over its own natural range, ``tuning.lr_grid``), all
grids run in *one* batched race of the engine, and one objective fixed in advance decides: the final loss after the
race's steps, runs that diverged excluded. The result says, for each optimizer, the grid, every score, the winner,
and whether the winner sits at the edge of the grid (then the grid, not the optimizer, decided).

    tuning = tune_fairly("rosenbrock", list(dc.OPTIMIZERS), steps=300)
    race = dc.race("rosenbrock", tuning.optimizers, steps=300, hparams=tuning.hparams)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from .landscapes import Landscape, get_landscape
from .race import race
from .schedules import Schedule
from .tuning import FIXED_HPARAMS, lr_grid

OBJECTIVE = "final loss after the race's steps; runs that diverge are excluded"


@dataclass(frozen=True)
class FairTuning:
    optimizers: tuple[str, ...]
    steps: int
    points: int
    grids: dict[str, np.ndarray]  # the learning rates each optimizer tried
    final_losses: dict[str, np.ndarray]  # (points,): the objective of each try; nan where the run diverged
    best: dict[str, float | None]  # the winning learning rate, None when every try diverged
    at_edge: dict[str, bool]  # the winner is the smallest or the largest rate of the grid
    fixed: dict[str, dict[str, Any]]  # hyperparameters held at a stated value instead of the default
    objective: str = OBJECTIVE

    @property
    def hparams(self) -> dict[str, dict[str, Any]]:
        """The winning settings, ready for ``race(..., hparams=...)`` (optimizers whose every try diverged get
        their smallest rate)."""
        return {opt: {**self.fixed.get(opt, {}), "lr": self.best[opt] if self.best[opt] is not None
                      else float(self.grids[opt][0])} for opt in self.optimizers}

    @property
    def runs(self) -> int:
        return len(self.optimizers) * self.points


def tune_fairly(landscape: str | Landscape, optimizers: Sequence[str], *, steps: int, points: int = 16,
                start: Sequence[float] | None = None, noise: float = 0.0, seed: int = 0,
                schedule: Schedule | None = None, clip: float | None = None,
                extra: Mapping[str, Mapping[str, Any]] | None = None, device="cpu") -> FairTuning:
    """Sweep ``points`` learning rates per optimizer in one race and pick each one's best final loss.

    Every other hyperparameter is the optimizer's default, except ``FIXED_HPARAMS`` (Muon's and Sophia's default
    weight decay pulls towards the origin, where a surface's minimum rarely is: 0 here, and said so) and ``extra``.
    """
    if not 2 <= points <= 64:
        raise ValueError(f"Invalid points: {points} (a fair sweep tries 2 to 64 learning rates per optimizer)")
    surface = dataclasses.replace(get_landscape(landscape), tuned={})  # no borrowed rates: the sweep decides
    ids = tuple(optimizers)
    fixed = {opt: {**FIXED_HPARAMS.get(opt, {}), **dict((extra or {}).get(opt, {}))} for opt in ids}
    grids = {opt: lr_grid(opt, points) for opt in ids}
    hparams = {opt: {**fixed[opt], "lr": grids[opt]} for opt in ids}
    starts = None if start is None else [list(start)] * points
    result = race(surface, list(ids), steps=steps, starts=starts, hparams=hparams, noise=noise, seed=seed,
                  schedule=schedule, clip=clip, record="final", device=device, dtype=torch.float32)
    final = np.where(result.diverged_at >= 0, np.nan, result.final_loss().astype(np.float64))
    best, at_edge, losses = {}, {}, {}
    for i, opt in enumerate(ids):
        losses[opt] = final[i]
        if np.isnan(final[i]).all():
            best[opt], at_edge[opt] = None, False
            continue
        k = int(np.nanargmin(final[i]))
        best[opt] = float(grids[opt][k])
        at_edge[opt] = k in (0, points - 1)
    return FairTuning(ids, steps, points, grids, losses, best, at_edge, fixed)
