"""The labs of the schedules (one cycle, WSD, the plateau rule), training-at-scale and sharpness pages: each default
run reproduces its claim and its numbers, each badge turns red for a setting that breaks the claim, and the helpers
the labs rest on agree with torch (autograd, AveragedModel)."""

import math

import numpy as np
import pytest
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from descent_core import network
from descent_core.labs import LABS
from descent_core.labs.practice_scale import ema_average, stationary_losses, uniform_average
from descent_core.labs.practice_sharpness import (curvature_at, hessian_vector, mlp_loss_and_grad, mlp_setup,
                                                  two_minima)

IDS = ["wsd_vs_cosine", "plateau_cuts", "unscale_before_clipping", "half_precision", "weight_averaging",
       "edge_of_stability", "sam_flat_minimum"]


@pytest.fixture(scope="module")
def runs():
    return {lab_id: LABS[lab_id].run() for lab_id in IDS}


@pytest.mark.parametrize("lab_id", IDS)
def test_default_run_passes(runs, lab_id):
    assert runs[lab_id].passed, runs[lab_id].verdict


@pytest.mark.parametrize("lab_id,breaking", [
    ("wsd_vs_cosine", {"noise": 6.0, "decay_fraction": 0.02}),   # too short a decay for this much noise
    ("plateau_cuts", {"noise": 0.0}),                            # the loss never stalls: no cut
    ("unscale_before_clipping", {"scale_log2": 0}),              # S = 1: the order cannot matter
    ("half_precision", {"eps_log10": -4.0}),                     # 1e-4 survives in float16
    ("weight_averaging", {"decay": "0.999"}),                    # the EMA still remembers its start
    ("edge_of_stability", {"lr_a": 0.05}),                       # 2/η = 40 is not reached in 600 steps
    ("sam_flat_minimum", {"rho": 0.02}),                         # SAM's cycle fits in the sharp basin
])
def test_badge_turns_red(lab_id, breaking):
    assert not LABS[lab_id].run(**breaking).passed


def test_wsd_numbers(runs):
    m = runs["wsd_vs_cosine"].measured
    assert m["final_wsd"] < m["final_cosine"] < m["final_constant"]
    assert m["plateau_over_cosine"] > 1.2


def test_plateau_numbers(runs):
    m, e = runs["plateau_cuts"].measured, runs["plateau_cuts"].expected
    assert m["torch_gap"] == 0.0 and e["cut_gap"] == 6
    assert m["cuts"] >= 3 and m["final_loss"] < m["final_loss_constant"] / 10
    assert m["last_rate"] == pytest.approx(0.05 * 0.5 ** m["cuts"])


def test_clipping_before_unscaling_shrinks_the_step_by_the_scale(runs):
    m = runs["unscale_before_clipping"].measured
    assert m["step_ratio"] == pytest.approx(2.0**16, rel=1e-4)
    assert m["logged_wrong"] == pytest.approx(2.0**16 * m["true_norm"], rel=1e-4)
    assert m["loss_right"] < 0.01 < 1.0 < m["loss_wrong"]


def test_half_precision_numbers(runs):
    m = runs["half_precision"].measured
    assert m["eps_in_fp16"] == 0.0 and float(torch.tensor(2.0**-24, dtype=torch.float16)) > 0
    assert m["adam_step_fp16"] == -math.inf and m["adam_step_fp32"] == pytest.approx(-1e-3, rel=1e-4)
    assert m["finite_from_grad"] == pytest.approx(math.sqrt(2.0**-25 / 1e-3), rel=0.05)
    assert m["bf16_after_updates"] == 1.0 and m["fp32_after_updates"] == pytest.approx(0.9, abs=1e-5)


def test_averages_follow_averaged_model():
    """The lab's EMA and running mean are torch.optim.swa_utils.AveragedModel's, point by point."""
    path = np.random.default_rng(0).standard_normal((40, 3))
    model = torch.nn.Linear(3, 1, bias=False, dtype=torch.float64)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    mean = AveragedModel(model)
    ours_ema, ours_mean = ema_average(path, 0.9), uniform_average(path)
    for k, point in enumerate(path):
        with torch.no_grad():
            model.weight.copy_(torch.as_tensor(point)[None])
        ema.update_parameters(model)
        mean.update_parameters(model)
        np.testing.assert_allclose(ema.module.weight.detach().numpy()[0], ours_ema[k], rtol=1e-12)
        np.testing.assert_allclose(mean.module.weight.detach().numpy()[0], ours_mean[k], rtol=1e-12)


def test_weight_averaging_matches_the_ar1_formulas(runs):
    m, e = runs["weight_averaging"].measured, runs["weight_averaging"].expected
    assert e["loss_last_theory"] == pytest.approx(0.05 * 4 / 2 * (1 / 1.95 + 1 / 1.0))  # ησ²/2 · Σ 1/(2 − ηλ)
    for key in ("last", "ema", "swa"):
        assert m[f"loss_{key}"] == pytest.approx(e[f"loss_{key}_theory"], rel=0.2)
    assert m["swa_gain"] > 10
    # a mean of one point keeps the whole variance; a long window keeps about (1 + r)/((1 - r) W) of it
    last, _, one = stationary_losses(0.05, 2.0, (1.0, 20.0), 0.99, 1)
    assert one == pytest.approx(last)


def test_mlp_gradient_and_hessian_vector_product_equal_autograd():
    X, targets, params = mlp_setup(n=40, seed=3)
    params = [p + 0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(i), dtype=p.dtype)
              for i, p in enumerate(params)]
    loss, grads = mlp_loss_and_grad(params, X, targets)

    def autograd_loss(*flat):
        named = dict(zip(network.PARAM_NAMES, flat))
        return 0.5 * ((network.forward(named, X) - targets) ** 2).mean()

    leaves = [p.clone().requires_grad_(True) for p in params]
    reference = autograd_loss(*leaves)
    expected = torch.autograd.grad(reference, leaves, create_graph=True)
    assert float(loss[0]) == pytest.approx(float(reference.detach()), rel=1e-12)
    for ours, theirs in zip(grads, expected):
        torch.testing.assert_close(ours, theirs.detach(), rtol=1e-10, atol=1e-12)
    v = [torch.randn(p.shape, generator=torch.Generator().manual_seed(10 + i), dtype=p.dtype)
         for i, p in enumerate(params)]
    exact = torch.autograd.grad(expected, leaves, grad_outputs=v)
    for ours, theirs in zip(hessian_vector(params, v, X, targets), exact):
        torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-8)


def test_edge_of_stability_numbers(runs):
    m, e = runs["edge_of_stability"].measured, runs["edge_of_stability"].expected
    assert m["sharpness_start"] < e["edge_b"] < e["edge_a"]
    assert m["hover_a"] == pytest.approx(e["edge_a"], rel=0.15) and m["hover_b"] == pytest.approx(e["edge_b"], rel=0.15)
    assert m["peak_a"] > e["edge_a"] and m["loss_fall_a"] < 0.2 and m["loss_fall_b"] < 0.2


def test_two_minima_surface():
    theta = torch.randn(20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    loss, grad = two_minima(theta)
    (expected,) = torch.autograd.grad(loss.sum(), theta)
    torch.testing.assert_close(grad, expected)
    minima = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(curvature_at(minima), torch.tensor([40.0, 1.0], dtype=torch.float64), rtol=1e-6, atol=0)


def test_sam_numbers(runs):
    m, e = runs["sam_flat_minimum"].measured, runs["sam_flat_minimum"].expected
    assert m["gd_sharp_share"] == 1.0 and m["sam_flat_share"] >= 0.9
    assert m["gd_curvature"] == pytest.approx(40.0, rel=1e-4) and m["sam_curvature"] == pytest.approx(1.0, rel=1e-4)
    assert e["sam_cycle_amplitude"] == pytest.approx(0.045 * 40 * 0.1 / (2 - 0.045 * 40))
    assert e["sam_cycle_amplitude"] > e["sharp_basin_radius"]
