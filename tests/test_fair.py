"""The fair race: one batched sweep per call, the same grid budget for every optimizer, the final loss decides,
diverged runs are excluded, and the winners are the grid's own best points."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import descent_core as dc
from descent_core.fair import tune_fairly


@pytest.fixture(scope="module")
def rosenbrock():
    return tune_fairly("rosenbrock", list(dc.OPTIMIZERS), steps=200, points=12)


def test_every_optimizer_gets_the_same_budget(rosenbrock):
    assert rosenbrock.runs == len(dc.OPTIMIZERS) * 12
    assert all(len(grid) == 12 and np.all(np.diff(np.log(grid)) > 0) for grid in rosenbrock.grids.values())


def test_the_winner_is_the_best_finite_final_loss_and_reproduces_in_a_race(rosenbrock):
    for opt in ("adam", "gd", "lion", "soap"):
        losses = rosenbrock.final_losses[opt]
        k = int(np.nanargmin(losses))
        assert rosenbrock.best[opt] == pytest.approx(rosenbrock.grids[opt][k])
        replay = dc.race("rosenbrock", [opt], steps=200, hparams={opt: rosenbrock.hparams[opt]}, device="cpu")
        assert replay.final_loss()[0, 0] == pytest.approx(losses[k], rel=1e-4, abs=1e-9)


def test_diverged_runs_are_excluded_not_averaged(rosenbrock):
    gd = rosenbrock.final_losses["gd"]
    assert np.isnan(gd[-1]), "GD's largest rates diverge on Rosenbrock"
    assert np.isfinite(gd[np.argmin(np.nan_to_num(gd, nan=np.inf))])


def test_tuned_beats_or_matches_defaults(rosenbrock):
    tuned = dc.race("rosenbrock", list(dc.OPTIMIZERS), steps=200, hparams=rosenbrock.hparams, device="cpu")
    untuned = dataclasses.replace(dc.LANDSCAPES["rosenbrock"], tuned={})  # every optimizer at its defaults
    defaults = dc.race(untuned, list(dc.OPTIMIZERS), steps=200, device="cpu")
    finite = np.isfinite(defaults.final_loss()[:, 0]) & (defaults.diverged_at[:, 0] < 0)
    assert (tuned.final_loss()[finite, 0] <= defaults.final_loss()[finite, 0] * (1 + 1e-3) + 1e-9).mean() >= 0.9


def test_bad_budgets_are_refused():
    with pytest.raises(ValueError, match="Invalid points"):
        tune_fairly("ravine", ["adam"], steps=50, points=1)
