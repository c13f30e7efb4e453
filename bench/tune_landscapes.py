"""Pick each optimizer's learning rate on each built-in landscape, and write descent_core/tuned.py.

For every (landscape, optimizer) pair, one batched race sweeps a log-spaced grid of learning rates (a per-run lr
array, so the whole grid is one call). A setting's score is the mean of log10(loss - f_min) over the race: it
rewards getting low early and staying low, and a run that diverges scores worst. The best grid point whose two
larger neighbours are also stable wins.
Other hyperparameters stay at their defaults, except that Muon's and Sophia's default weight decay (0.1) is set to
0 on these surfaces, whose minima are not at the origin: decay towards 0 would pull them off the minimum.

    python bench/tune_landscapes.py            # prints the table and rewrites descent_core/tuned.py
"""

from __future__ import annotations

import pathlib
import pprint
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import descent_core as dc  # noqa: E402

STEPS = 300
GRID = 49
LR_RANGE = {"adadelta": (0.05, 200.0), "lars": (0.05, 500.0)}
DEFAULT_RANGE = (1e-5, 10.0)
FIXED = {"muon": {"weight_decay": 0.0}, "sophia": {"weight_decay": 0.0}}


def grid_for(opt: str) -> np.ndarray:
    low, high = LR_RANGE.get(opt, DEFAULT_RANGE)
    return np.geomspace(low, high, GRID)


def score(race: dc.Race, i: int) -> np.ndarray:
    gap = np.maximum(race.losses[i] - race.landscape.minimum_value, 1e-12)
    value = np.log10(gap).mean(axis=-1)
    # A run that leaves the plotted region is not legible, and one that diverges is worse still.
    (x0, x1), (y0, y1) = race.landscape.bounds
    span = max(x1 - x0, y1 - y0)
    wandered = np.abs(race.paths[i]).max(axis=(-1, -2)) > 3 * span
    return np.where(race.diverged_at[i] >= 0, np.inf, np.where(wandered, 1e6, value))


def tune(landscape_id: str) -> dict[str, dict[str, float]]:
    opts = list(dc.OPTIMIZERS)
    hparams = {opt: {**FIXED.get(opt, {}), "lr": grid_for(opt)} for opt in opts}
    surface = dc.LANDSCAPES[landscape_id]
    blank = dc.Landscape(**{**surface.__dict__, "tuned": {}})
    race = dc.race(blank, opts, steps=STEPS, hparams=hparams)
    tuned = {}
    for i, opt in enumerate(opts):
        scores = score(race, i)
        # Keep a margin from the edge of stability: the two next-larger rates must also behave, so float32
        # rounding or a different start cannot tip the chosen setting over.
        stable = np.isfinite(scores) & (scores < 1e6)
        safe = stable & np.append(stable[1:], False) & np.append(stable[2:], [False, False])
        best = int(np.argmin(np.where(safe, scores, np.inf))) if safe.any() else 0
        tuned[opt] = {**FIXED.get(opt, {}), "lr": float(f"{grid_for(opt)[best]:.3g}")}
    return tuned


def main() -> None:
    table = {landscape_id: tune(landscape_id) for landscape_id in dc.LANDSCAPES}
    pprint.pprint(table, width=120)
    target = pathlib.Path(__file__).resolve().parents[1] / "descent_core" / "tuned.py"
    header = target.read_text().split("TUNED: ")[0]
    target.write_text(header + "TUNED: dict[str, dict[str, dict[str, float]]] = " + pprint.pformat(table, width=116) + "\n")


if __name__ == "__main__":
    main()
