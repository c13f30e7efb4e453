"""race() keeps exactly what it kept before its rewrite, and a sparse recording keeps exactly the recorded points of
a full one: positions, losses and divergence, with frozen runs held at their last finite point."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import torch

import descent_core as dc

ROOT = pathlib.Path(__file__).resolve().parents[1]

GOLDEN = pathlib.Path(__file__).parent / "data" / "race_golden.npz"
# The races whose outputs tests/data/race_golden.npz holds, as computed before race() was rewritten (commit cfe85ca).
CASES = {
    "grand_beale": dict(landscape="beale", optimizers=["gd", "sgd", "momentum", "nesterov", "adagrad", "rmsprop",
                        "adadelta", "adam", "amsgrad", "adamw", "nadam", "radam", "lion", "lamb", "lars", "muon",
                        "shampoo", "sophia"], steps=200),
    "grand_ravine_noise": dict(landscape="ravine", optimizers=["gd", "sgd", "momentum", "nesterov", "adagrad",
                               "rmsprop", "adadelta", "adam", "amsgrad", "adamw", "nadam", "radam", "lion", "lamb",
                               "lars", "muon", "shampoo", "sophia"], steps=150, noise=2.0, seed=3),
    "sweep_adam": dict(landscape="ravine", optimizers=["adam"], steps=100,
                       hparams={"adam": {"lr": np.geomspace(1e-3, 30, 64)}}),
    "diverge_gd": dict(landscape="ravine", optimizers=["gd", "momentum"], steps=120,
                       hparams={"gd": {"lr": [0.01, 0.09, 0.102, 0.5]}, "momentum": {"lr": [0.01, 0.05, 0.2, 1.0]}}),
    "starts": dict(landscape="himmelblau", optimizers=["adam", "sgd"], steps=80, starts=[[0.1, 0.2], [-1, 1], [2, -3]]),
    "sched_clip": dict(landscape="rosenbrock", optimizers=["sgd", "adam", "lion"], steps=120,
                       schedule=dc.Schedule("warmup_cosine", warmup_steps=20), clip=3.0),
    "state": dict(landscape="beale", optimizers=["adam", "lamb", "shampoo", "sophia"], steps=40, record_state=True,
                  dtype=torch.float64),
    "saddle_f64": dict(landscape="saddle", optimizers=["sgd", "rmsprop"], steps=300, dtype=torch.float64),
}


def run(case: dict, **extra) -> dc.Race:
    kw = dict(case)
    return dc.race(kw.pop("landscape"), kw.pop("optimizers"), device="cpu", **kw, **extra)


@pytest.fixture(scope="module")
def golden():
    with np.load(GOLDEN) as data:
        return dict(data)


@pytest.mark.parametrize("name", CASES)
def test_outputs_are_bit_identical_to_the_recorded_ones(golden, name):
    race = run(CASES[name], record_grads=True)
    for field in ("paths", "losses", "grads", "lr", "diverged_at"):
        np.testing.assert_array_equal(getattr(race, field), golden[f"{name}.{field}"], err_msg=field)
    for key, value in golden.items():
        if key.startswith(f"{name}.state."):
            _, _, opt, slot = key.split(".")
            np.testing.assert_array_equal(race.states[opt][slot], value, err_msg=key)


DIVERGING = dict(landscape="ravine", optimizers=["gd", "momentum", "adam"], steps=300, noise=0.5,
                 hparams={"gd": {"lr": [0.01, 0.09, 0.102, 0.5]}, "momentum": {"lr": [0.01, 0.05, 0.2, 1.0]},
                          "adam": {"lr": [0.1, 1.0, 10.0, 100.0]}})


@pytest.mark.parametrize("record", [2, 7, 299, 300, "final"])
@pytest.mark.parametrize("window_bytes", [None, 200], ids=["default window", "tiny window"])
def test_a_sparse_recording_keeps_exactly_the_recorded_points(record, window_bytes, monkeypatch):
    full = run(DIVERGING)
    assert (full.diverged_at >= 0).sum() >= 2, "the case must contain runs that leave"
    if window_bytes is not None:  # settle every step or two: blocks that cross a divergence are exercised
        import importlib

        monkeypatch.setattr(importlib.import_module("descent_core.race")._Recorder, "RING_BYTES", window_bytes)
    sparse = run(DIVERGING, record=record)
    assert sparse.recorded[0] == 0 and sparse.recorded[-1] == 300
    np.testing.assert_array_equal(sparse.paths, full.paths[:, :, sparse.recorded])
    np.testing.assert_array_equal(sparse.losses, full.losses[:, :, sparse.recorded])
    np.testing.assert_array_equal(sparse.diverged_at, full.diverged_at)
    np.testing.assert_array_equal(sparse.final_loss(), full.final_loss())
    assert sparse.grads is None


def _autograd_only(surface: dc.Landscape) -> dc.Landscape:
    """The same surface without closed forms: the race then takes gradients (and losses) by autograd."""
    return dc.Landscape(f"{surface.id}_autograd", surface.name, surface.loss, surface.start, surface.bounds,
                        surface.minima)


@pytest.mark.parametrize("surface_id", sorted(dc.LANDSCAPES))
def test_loss_and_gradient_together_are_bit_identical_to_each_alone(surface_id):
    surface = dc.LANDSCAPES[surface_id]
    points = torch.randn(3, 17, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5)) * 2
    for form in (surface, _autograd_only(surface)):
        value, gradient = form.value_and_grad(points)
        torch.testing.assert_close(value, form.loss(points), rtol=0, atol=0)
        torch.testing.assert_close(gradient, form.grad(points), rtol=0, atol=0)
    assert dc.LANDSCAPES["ravine"].shares_value and _autograd_only(surface).shares_value
    assert not dc.LANDSCAPES["beale"].shares_value  # a loss per step would cost more than a block of them


@pytest.mark.parametrize("surface_id", ["ravine", "rotated_ravine", "beale"])
def test_losses_kept_with_the_gradient_equal_the_surface_evaluated_afterwards(surface_id):
    for surface in (dc.LANDSCAPES[surface_id], _autograd_only(dc.LANDSCAPES[surface_id])):
        race = dc.race(surface, ["gd", "adam", "sf_adamw"], steps=120, device="cpu", noise=0.3,
                       hparams={"gd": {"lr": [0.01, 0.3]}, "adam": {"lr": [0.05, 3.0]}, "sf_adamw": {"lr": [0.1, 0.5]}})
        for paths, losses in ((race.paths, race.losses), (race.gradient_paths, race.gradient_losses)):
            expected = surface.loss(torch.as_tensor(paths)).numpy()
            np.testing.assert_array_equal(losses, np.where(np.isfinite(expected), expected, losses))


def test_recording_choices_are_checked():
    for bad in (0, -1, 301, 2.5, True, "every"):
        with pytest.raises(ValueError, match="Invalid record"):
            dc.race("ravine", ["gd"], steps=300, record=bad)
    with pytest.raises(ValueError, match="record_state needs every step"):
        dc.race("ravine", ["adam"], steps=30, record=3, record_state=True)
    with pytest.raises(ValueError, match="record_grads needs every step"):
        dc.race("ravine", ["adam"], steps=30, record=2, record_grads=True)
    with pytest.raises(ValueError, match="needs the gradients"):
        dc.race("ravine", ["adam"], steps=30, record="final").effective_step()


def test_gradients_are_kept_only_when_asked_and_asking_changes_nothing_else():
    kept = dc.race("rosenbrock", ["adam", "sgd"], steps=60, noise=0.5, clip=2.0, record_grads=True)
    plain = dc.race("rosenbrock", ["adam", "sgd"], steps=60, noise=0.5, clip=2.0)
    assert plain.grads is None and kept.grads.shape == (2, 1, 60, 2)
    np.testing.assert_array_equal(plain.paths, kept.paths)
    np.testing.assert_array_equal(plain.losses, kept.losses)
    with pytest.raises(ValueError, match="needs the gradients"):
        plain.effective_step()
    assert dc.race("beale", ["adam"], steps=5, record_state=True).grads.shape == (1, 1, 5, 2)


def test_the_point_cap_counts_recorded_points_so_a_big_sweep_fits_when_sparse():
    lrs = np.geomspace(1e-3, 1.0, 50_000)
    with pytest.raises(ValueError, match="record fewer points"):
        dc.race("ravine", ["adam"], steps=500, hparams={"adam": {"lr": lrs}})
    sweep = dc.race("ravine", ["adam"], steps=500, hparams={"adam": {"lr": lrs}}, record="final", device="cpu")
    assert sweep.paths.shape == (1, 50_000, 2, 2) and sweep.losses.shape == (1, 50_000, 2)
    with pytest.raises(ValueError, match="particles stepped at once"):
        dc.race("ravine", ["adam"], steps=5, hparams={"adam": {"lr": np.full(dc.MAX_PARTICLES + 1, 0.1)}},
                record="final")


def test_the_learning_rate_is_computed_not_stored():
    race = dc.race("ravine", ["adam", "sgd"], steps=40, schedule=dc.Schedule("cosine"),
                   hparams={"adam": {"lr": [0.1, 0.2]}})
    assert race.lr.shape == (2, 2, 40)
    np.testing.assert_allclose(race.lr[0, 1], 0.2 * race.lr_factors)
    assert race.lr_factors.shape == (40,) and race.base_lr.shape == (2, 2)


_SWEEP_MEMORY = """
import resource, sys
import numpy as np
import descent_core as dc
dc.race("ravine", ["adam"], steps=5)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
dc.race("ravine", ["adam"], steps=500, hparams={"adam": {"lr": np.geomspace(1e-4, 3, 100_000)}}, record="final",
        device="cpu")
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fragmentation is glibc's")
def test_a_big_final_point_sweep_keeps_its_memory_flat():
    """100,000 runs x 500 steps recording the final point keep a few MB of results; without the pinned mmap
    threshold (descent_core/allocator.py) glibc's heap fragmented to about 785 MB here, with it about 160 MB."""
    out = subprocess.run([sys.executable, "-c", _SWEEP_MEMORY], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert float(out.stdout.split()[-1]) < 400
