"""The live labs: every lab reproduces its claim with default settings, the badge can turn red for a wrong setting,
parameters outside their bounds are refused, and the "look inside" helpers agree with the update rules."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

import descent_core as dc
from descent_core import content, inside
from descent_core.labs import (
    LABS,
    Choice,
    Param,
    adam_on_the_interval,
    counterexample_gradients,
    engine_gap,
    get_lab,
    scale_by_adam_eps_inside_root,
    scale_by_adam_without_bias_correction,
    TransformStepper,
)

CONVENTION_IDS = ["stability_map", "convergence_rates", "momentum_effective_lr", "adagrad_decay", "bias_correction",
                  "epsilon_placement", "l2_vs_decoupled", "amsgrad_counterexample", "warmup", "clipping_scaling",
                  "saddle_escape", "zero_grad", "nesterov_rate"]


@pytest.fixture(scope="module")
def default_results():
    return {lab_id: lab.run() for lab_id, lab in LABS.items()}


def test_registry_matches_the_conventions():
    assert list(LABS) == CONVENTION_IDS


@pytest.mark.parametrize("lab_id", CONVENTION_IDS)
def test_each_lab_sits_in_the_section_that_makes_its_claim(lab_id):
    lab = LABS[lab_id]
    assert lab.section in content.sections()
    assert lab_id in content.section(lab.section).labs, f"{{{{lab:{lab_id}}}}} is not placed in {lab.section}"
    assert lab.claim.endswith(".") and len(lab.claim.split()) >= 10


@pytest.mark.parametrize("lab_id", CONVENTION_IDS)
def test_default_settings_reproduce_the_claim(default_results, lab_id):
    result = default_results[lab_id]
    assert result.passed, result.verdict
    assert result.verdict and any(ch.isdigit() for ch in result.verdict)
    assert result.params == LABS[lab_id].defaults | {k: v for k, v in result.params.items()
                                                      if isinstance(LABS[lab_id].spec(k), Choice)}
    for value in list(result.measured.values()) + list(result.expected.values()):
        assert isinstance(value, float), (lab_id, value)
    for plot in result.plots:
        frame = result.frames[plot.frame]
        assert isinstance(frame, pd.DataFrame) and len(frame) > 0
        for column in (plot.x, plot.y, plot.color, plot.dash):
            assert column is None or column in frame.columns, (plot.frame, column)


# --------------------------------------------------------------------------------------------------------------
# The numbers behind the badges.


def test_stability_edge_lands_on_two_over_lambda_max(default_results):
    result = default_results["stability_map"]
    edge, following = result.measured["GD largest stable lr"], result.measured["GD smallest unstable lr"]
    assert edge <= 2 / 100 < following
    assert following / edge == pytest.approx(result.measured["grid ratio"])


@pytest.mark.parametrize("lam_max", [2.0, 37.0, 1000.0])
def test_stability_edge_follows_lambda_max(lam_max):
    assert LABS["stability_map"].run(lam_max=lam_max, optimizers=["gd"]).passed


@pytest.mark.parametrize("wrong_factor", [1.0, 2.5, 4.0])
def test_stability_badge_fails_for_a_shifted_edge(wrong_factor):
    result = LABS["stability_map"].run(edge_factor=wrong_factor)
    assert not result.passed
    assert "does not fall between" in result.verdict


def test_stability_map_runs_every_optimizer_in_one_batched_sweep():
    result = LABS["stability_map"].run(optimizers=list(dc.OPTIMIZERS), grid_points=21, steps=50)
    assert result.passed
    assert result.frames["final_loss"]["optimizer"].nunique() == 18
    assert len(result.frames["final_loss"]) == 18 * 21


def test_convergence_rates_match_both_formulas(default_results):
    m = default_results["convergence_rates"].measured
    assert m["GD rate at κ = 100"] == pytest.approx(99 / 101, abs=1e-9)
    assert m["heavy ball rate at κ = 100"] == pytest.approx(9 / 11, abs=3e-3)
    assert m["largest |measured − theory|, GD"] < 1e-9


def test_convergence_rates_fail_with_too_short_a_window():
    # Heavy ball's double root leaves a t·r^t transient: 200 steps are too few at large κ.
    assert not LABS["convergence_rates"].run(steps=200).passed


@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9, 0.99])
def test_momentum_multiplier(mu):
    result = LABS["momentum_effective_lr"].run(mu=mu, steps=2000)
    assert result.passed
    assert result.measured["constant-slope multiplier"] == pytest.approx(1 / (1 - mu), rel=1e-3)
    assert result.measured["alternating-slope multiplier"] == pytest.approx(1 / (1 + mu), rel=1e-3)


def test_momentum_badge_fails_while_the_buffer_fills():
    result = LABS["momentum_effective_lr"].run(mu=0.99, steps=50)
    assert not result.passed and "still filling" in result.verdict


def test_adagrad_slope_is_minus_one_half(default_results):
    m = default_results["adagrad_decay"].measured
    assert m["AdaGrad log-log slope"] == pytest.approx(-0.5, abs=1e-6)
    assert m["AdaGrad step / η at t = 1000"] == pytest.approx(1 / math.sqrt(1000), rel=1e-6)
    assert abs(m["RMSProp log-log slope"]) < 0.01


def test_adagrad_badge_fails_when_rmsprop_has_not_settled():
    assert not LABS["adagrad_decay"].run(alpha=0.999, steps=300).passed


def test_bias_correction_numbers_quoted_in_the_adam_section(default_results):
    m = default_results["bias_correction"].measured
    assert m["uncorrected step 1 / η"] == pytest.approx(0.1 / math.sqrt(0.001), rel=1e-6)  # about 3.2 (ε aside)
    assert m["uncorrected peak at step"] == 12
    assert m["uncorrected peak / η"] == pytest.approx(6.6, abs=0.05)
    assert m["uncorrected step 1000 / η"] == pytest.approx(1.26, abs=0.01)
    assert m["corrected step 1 / η"] == pytest.approx(1.0, abs=1e-7)


def test_adam_without_bias_correction_is_built_from_the_same_pieces():
    # With betas (0, 0) there is nothing to correct: the variant equals torch-semantics Adam.
    theta = torch.zeros(3, 2, dtype=torch.float64)
    g = torch.tensor([[1.0, -2.0], [0.5, 3.0], [1e-3, -1e-3]], dtype=torch.float64)
    plain = dc.make_stepper("adam", lr=0.1, betas=(0.0, 0.0), eps=1e-8)
    variant = TransformStepper(scale_by_adam_without_bias_correction(0.0, 0.0, 1e-8), 0.1)
    a, _ = plain.update(theta, g, plain.init(theta))
    b, _ = variant.update(theta, g, variant.init(theta))
    torch.testing.assert_close(a, b)


def test_epsilon_inside_the_root_acts_like_its_square_root_outside(default_results):
    m = default_results["epsilon_placement"].measured
    assert m["step / η, ε outside"] == pytest.approx(1e-6 / (1e-6 + 1e-8), rel=1e-9)
    assert m["step / η, ε inside"] == pytest.approx(1e-6 / math.sqrt(1e-12 + 1e-8), rel=1e-9)
    # Large gradients: the placements agree.
    variant = TransformStepper(scale_by_adam_eps_inside_root(0.9, 0.999, 1e-8), 1.0)
    theta = torch.zeros(1, 1, dtype=torch.float64)
    new, _ = variant.update(theta, torch.full_like(theta, 5.0), variant.init(theta))
    assert float(-new) == pytest.approx(1.0, abs=1e-9)


def test_decoupled_decay_is_the_same_for_every_weight(default_results):
    m = default_results["l2_vs_decoupled"].measured
    assert m["AdamW, busy weight"] == pytest.approx(1e-4, rel=0.02)
    assert m["AdamW, quiet weight"] == pytest.approx(1e-4, rel=0.02)
    assert m["Adam + L2, busy weight"] < 0.2 * 1e-4 < 1e-4 < m["Adam + L2, quiet weight"]


def test_l2_badge_fails_when_the_weights_see_the_same_gradients():
    assert not LABS["l2_vs_decoupled"].run(g_busy=0.01, g_quiet=0.01).passed


def test_amsgrad_counterexample_numbers(default_results):
    m = default_results["amsgrad_counterexample"].measured
    assert m["Adam final x (small β2)"] == 1.0
    assert m["AMSGrad final x (small β2)"] == pytest.approx(-0.9996, abs=1e-4)
    assert m["Adam final x (default betas)"] == pytest.approx(-1.0, abs=1e-3)
    assert m["engine agreement (max |Δx|)"] < 1e-12


def test_amsgrad_badge_fails_with_a_long_memory_beta2():
    result = LABS["amsgrad_counterexample"].run(b2=0.999)
    assert not result.passed
    assert result.measured["Adam final x (small β2)"] < 0


def test_fast_counterexample_loop_equals_the_engine_over_all_30000_steps():
    b2 = 1 / (1 + 3.0**2)
    assert engine_gap(3.0, [(0.0, b2), (0.9, 0.999)], 30_000) < 1e-9


def test_counterexample_gradients():
    np.testing.assert_array_equal(counterexample_gradients(3.0, 7), [3, -1, -1, 3, -1, -1, 3])
    x = adam_on_the_interval(counterexample_gradients(3.0, 300), 0.1, 0.0, 0.1, 1e-8, amsgrad=False)
    assert x.min() >= -1 and x.max() <= 1 and x[0] == 0


def test_warmup_first_steps(default_results):
    m = default_results["warmup"].measured
    assert m["first step / η, no warmup"] == pytest.approx(math.sqrt(2), rel=1e-6)
    assert m["first step / η, warmup"] == pytest.approx(0.01 * math.sqrt(2), rel=1e-6)
    assert m["early/late step ratio, no warmup"] > 1.5 > 1.0 > m["early/late step ratio, warmup"]


def test_warmup_badge_fails_when_the_warmup_is_too_short():
    assert not LABS["warmup"].run(warmup_steps=5).passed


def test_clipping_and_linear_scaling(default_results):
    m = default_results["clipping_scaling"].measured
    assert 0.5 <= m["scaled / small"] <= 2.0
    assert m["unscaled / scaled"] > 5
    assert m["clipped steps: max |length/(η·c) − 1|"] < 1e-5
    assert 0 < m["fraction of steps clipped"] < 1


def test_linear_scaling_breaks_past_the_stability_edge():
    result = LABS["clipping_scaling"].run(k=16)  # kη = 0.16 > 2/λmax = 0.1
    assert not result.passed and "stability edge" in result.verdict


def test_saddle_escape_times(default_results):
    m = default_results["saddle_escape"].measured
    assert m["SGD escape step"] == math.floor(math.log(1e3) / math.log(1.02)) + 1
    for opt in ("Momentum (heavy ball)", "RMSProp", "Adam"):
        assert m[f"{opt} escape step"] < m["SGD escape step"]


def test_saddle_exactly_on_the_ridge_needs_noise():
    still = LABS["saddle_escape"].run(y0=0.0)
    assert all(v == math.inf for v in still.measured.values())
    noisy = LABS["saddle_escape"].run(y0=0.0, noise=0.1)
    assert noisy.measured["SGD escape step"] < math.inf


def test_zero_grad(default_results):
    m = default_results["zero_grad"].measured
    assert m["largest relative mismatch vs rule"] < 1e-9
    assert m["final loss with zero_grad()"] < 0.01 < m["final loss without zero_grad()"]


def test_zero_grad_lab_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    LABS["zero_grad"].run()
    assert torch.rand(1) == expected


def test_nesterov_bounds(default_results):
    m = default_results["nesterov_rate"].measured
    assert 0 < m["max (t+1)²·gap / (2L‖x0−x*‖²), Nesterov"] <= 1
    assert 0 < m["max t·gap / (L‖x0−x*‖²/2), GD"] <= 1
    assert m["final gap, Nesterov (start 0)"] < m["final gap, GD (start 0)"] / 10


def test_nesterov_worst_case_minimiser():
    from descent_core.labs import nesterov_worst_case

    loss, grad, x_star, f_star = nesterov_worst_case(20, 2.0)
    assert grad(x_star[None]).abs().max() < 1e-12
    assert float(loss(x_star[None])) == pytest.approx(f_star, abs=1e-12)


# --------------------------------------------------------------------------------------------------------------
# Parameter specs.


@pytest.mark.parametrize("lab_id,name,value", [
    ("stability_map", "lam_max", 0.5),
    ("stability_map", "lam_max", 1e6),
    ("stability_map", "lam_max", float("nan")),
    ("stability_map", "lam_max", "100"),
    ("stability_map", "lam_max", True),
    ("stability_map", "steps", 10.5),
    ("stability_map", "optimizers", ["nope"]),
    ("stability_map", "optimizers", []),
    ("stability_map", "optimizers", "gd"),
    ("amsgrad_counterexample", "steps", 40_000),
    ("momentum_effective_lr", "mu", 1.0),
    ("clipping_scaling", "batch", 0),
    ("nesterov_rate", "dim", 5000),
])
def test_out_of_bounds_parameters_are_rejected(lab_id, name, value):
    with pytest.raises(ValueError):
        LABS[lab_id].run(**{name: value})


def test_unknown_parameter_and_lab_are_rejected():
    with pytest.raises(ValueError, match="no parameter"):
        LABS["warmup"].run(warmup=3)
    with pytest.raises(ValueError, match="Unknown lab"):
        get_lab("nope")


@pytest.mark.parametrize("lab_id", CONVENTION_IDS)
def test_specs_are_consistent(lab_id):
    lab = LABS[lab_id]
    assert lab.resolve() == lab.defaults | {p.name: p.validate(p.default) for p in lab.params}
    for spec in lab.params:
        if isinstance(spec, Param):
            assert spec.min <= spec.default <= spec.max
            if spec.log:
                options = spec.options()
                assert spec.default in options and min(options) >= spec.min and max(options) <= spec.max
    assert lab.key() == lab.key(lab.defaults)
