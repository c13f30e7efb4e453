"""The live labs: every lab reproduces its claim with default settings, the badge can turn red for a wrong setting,
parameters outside their bounds are refused, and the registry keeps its contract (one decorator per lab, guide
order, quantities keyed by stable ids with their display labels apart)."""

import math
import pathlib

import re

import numpy as np
import pandas as pd
import pytest
import torch

import descent_core as dc
from descent_core import content
from descent_core import labs as labs_package
from descent_core.labs import (
    LABS,
    Choice,
    LabResult,
    Param,
    adam_on_the_interval,
    counterexample_gradients,
    engine_gap,
    get_lab,
    lab,
    nesterov_worst_case,
    scale_by_adam_eps_inside_root,
    scale_by_adam_without_bias_correction,
)

# The guide's order: the order in which a reader meets the {{lab:…}} markers (docs/CONVENTIONS.md lists the same).
CONVENTION_IDS = ["stability_map", "convergence_rates", "zero_grad", "saddle_escape", "momentum_effective_lr",
                  "nesterov_rate", "adagrad_decay", "bias_correction", "epsilon_placement", "amsgrad_counterexample",
                  "l2_vs_decoupled", "schedule_free_vs_cosine", "adopt_counterexample", "prodigy_distance", "warmup",
                  "clipping_scaling", "wsd_vs_cosine", "plateau_cuts", "unscale_before_clipping", "half_precision",
                  "weight_averaging", "edge_of_stability", "sam_flat_minimum"]
# The part module that holds each group's labs.
PART_MODULES = {"Foundations": "foundations", "Momentum": "momentum", "Adaptive rates": "adaptive",
                "The Adam family": "adam_family", "Frontier": "frontier", "After Adam": "after_adam",
                "Practice": "practice"}


@pytest.fixture(scope="module")
def default_results():
    return {lab_id: lab.run() for lab_id, lab in LABS.items()}


def test_registry_matches_the_conventions():
    assert list(LABS) == CONVENTION_IDS


def test_registry_follows_the_guide():
    # Markers whose lab is not written yet are test_content's business; the order of those that exist is ours.
    placed = [lab_id for section in content.sections().values() for lab_id in section.labs if lab_id in LABS]
    assert list(LABS) == placed


@pytest.mark.parametrize("lab_id", CONVENTION_IDS)
def test_each_lab_lives_in_the_part_module_of_its_section(lab_id):
    experiment = LABS[lab_id].experiment
    group = content.section(LABS[lab_id].section).group
    module = experiment.__module__.removeprefix("descent_core.labs.")
    # The Practice part continues in modules named after it: practice_scale, practice_sharpness.
    assert module == PART_MODULES[group] or (group == "Practice" and module.startswith("practice_"))
    assert experiment.__name__ == lab_id


def test_no_labs_file_is_long():
    for path in pathlib.Path(labs_package.__file__).parent.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 600, path.name


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
    ids = [*result.measured, *result.expected]
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", q) for q in ids), ids
    assert len(set(ids)) == len(ids) and set(result.labels) == set(ids)
    assert all(isinstance(text, str) and text for text in result.labels.values())
    for plot in result.plots:
        frame = result.frames[plot.frame]
        assert isinstance(frame, pd.DataFrame) and len(frame) > 0
        for column in (plot.x, plot.y, plot.color, plot.dash):
            assert column is None or column in frame.columns, (plot.frame, column)


# --------------------------------------------------------------------------------------------------------------
# The numbers behind the badges.


def test_stability_edge_lands_on_two_over_lambda_max(default_results):
    result = default_results["stability_map"]
    edge, following = result.measured["gd_edge"], result.measured["gd_next_unstable"]
    assert edge <= 2 / 100 < following
    assert following / edge == pytest.approx(result.measured["grid_ratio"])


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
    assert result.frames["final_loss"]["optimizer"].nunique() == len(dc.OPTIMIZERS)
    assert len(result.frames["final_loss"]) == len(dc.OPTIMIZERS) * 21


def test_convergence_rates_match_both_formulas(default_results):
    m = default_results["convergence_rates"].measured
    assert m["gd_rate"] == pytest.approx(99 / 101, abs=1e-9)
    assert m["heavy_ball_rate"] == pytest.approx(9 / 11, abs=3e-3)
    assert m["gd_worst_error"] < 1e-9


def test_convergence_rates_fail_with_too_short_a_window():
    # Heavy ball's double root leaves a t·r^t transient: 200 steps are too few at large κ.
    assert not LABS["convergence_rates"].run(steps=200).passed


@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9, 0.99])
def test_momentum_multiplier(mu):
    result = LABS["momentum_effective_lr"].run(mu=mu, steps=2000)
    assert result.passed
    assert result.measured["constant_multiplier"] == pytest.approx(1 / (1 - mu), rel=1e-3)
    assert result.measured["alternating_multiplier"] == pytest.approx(1 / (1 + mu), rel=1e-3)


def test_momentum_badge_fails_while_the_buffer_fills():
    result = LABS["momentum_effective_lr"].run(mu=0.99, steps=50)
    assert not result.passed and "still filling" in result.verdict


def test_adagrad_slope_is_minus_one_half(default_results):
    m = default_results["adagrad_decay"].measured
    assert m["adagrad_slope"] == pytest.approx(-0.5, abs=1e-6)
    assert m["adagrad_final_step"] == pytest.approx(1 / math.sqrt(1000), rel=1e-6)
    assert abs(m["rmsprop_slope"]) < 0.01


def test_adagrad_badge_fails_when_rmsprop_has_not_settled():
    assert not LABS["adagrad_decay"].run(alpha=0.999, steps=300).passed


def test_bias_correction_numbers_quoted_in_the_adam_section(default_results):
    m = default_results["bias_correction"].measured
    assert m["raw_first"] == pytest.approx(0.1 / math.sqrt(0.001), rel=1e-6)  # about 3.2 (ε aside)
    assert m["raw_peak_step"] == 12
    assert m["raw_peak"] == pytest.approx(6.6, abs=0.05)
    assert m["raw_last"] == pytest.approx(1.26, abs=0.01)
    assert m["corrected_first"] == pytest.approx(1.0, abs=1e-7)


def test_adam_without_bias_correction_is_built_from_the_same_pieces():
    # With betas (0, 0) there is nothing to correct: the variant equals torch-semantics Adam.
    theta = torch.zeros(3, 2, dtype=torch.float64)
    g = torch.tensor([[1.0, -2.0], [0.5, 3.0], [1e-3, -1e-3]], dtype=torch.float64)
    plain = dc.make_stepper("adam", lr=0.1, betas=(0.0, 0.0), eps=1e-8)
    variant = dc.Stepper.from_transform(scale_by_adam_without_bias_correction(0.0, 0.0, 1e-8), 0.1)
    state = variant.init(theta)
    assert isinstance(state, dc.StepperState) and variant.spec is None  # the engine's stepper, no registry entry
    a, _ = plain.update(theta, g, plain.init(theta))
    b, state = variant.update(theta, g, state)
    torch.testing.assert_close(a, b)
    assert state.t == 1


def test_epsilon_inside_the_root_acts_like_its_square_root_outside(default_results):
    m = default_results["epsilon_placement"].measured
    assert m["step_eps_outside"] == pytest.approx(1e-6 / (1e-6 + 1e-8), rel=1e-9)
    assert m["step_eps_inside"] == pytest.approx(1e-6 / math.sqrt(1e-12 + 1e-8), rel=1e-9)
    # Large gradients: the placements agree.
    variant = dc.Stepper.from_transform(scale_by_adam_eps_inside_root(0.9, 0.999, 1e-8), 1.0)
    theta = torch.zeros(1, 1, dtype=torch.float64)
    new, _ = variant.update(theta, torch.full_like(theta, 5.0), variant.init(theta))
    assert float(-new) == pytest.approx(1.0, abs=1e-9)


def test_decoupled_decay_is_the_same_for_every_weight(default_results):
    m = default_results["l2_vs_decoupled"].measured
    assert m["adamw_busy_decay"] == pytest.approx(1e-4, rel=0.02)
    assert m["adamw_quiet_decay"] == pytest.approx(1e-4, rel=0.02)
    assert m["adam_l2_busy_decay"] < 0.2 * 1e-4 < 1e-4 < m["adam_l2_quiet_decay"]


def test_l2_badge_fails_when_the_weights_see_the_same_gradients():
    assert not LABS["l2_vs_decoupled"].run(g_busy=0.01, g_quiet=0.01).passed


def test_amsgrad_counterexample_numbers(default_results):
    m = default_results["amsgrad_counterexample"].measured
    assert m["adam_final_small_b2"] == 1.0
    assert m["amsgrad_final_small_b2"] == pytest.approx(-0.9996, abs=1e-4)
    assert m["adam_final_default"] == pytest.approx(-1.0, abs=1e-3)
    assert m["engine_gap"] < 1e-12


def test_amsgrad_badge_fails_with_a_long_memory_beta2():
    result = LABS["amsgrad_counterexample"].run(b2=0.999)
    assert not result.passed
    assert result.measured["adam_final_small_b2"] < 0


def test_fast_counterexample_loop_equals_the_engine_over_all_30000_steps():
    b2 = 1 / (1 + 3.0**2)
    assert engine_gap(3.0, [(0.0, b2), (0.9, 0.999)], 30_000) < 1e-9


def test_counterexample_gradients():
    np.testing.assert_array_equal(counterexample_gradients(3.0, 7), [3, -1, -1, 3, -1, -1, 3])
    x = adam_on_the_interval(counterexample_gradients(3.0, 300), 0.1, 0.0, 0.1, 1e-8, amsgrad=False)
    assert x.min() >= -1 and x.max() <= 1 and x[0] == 0


def test_warmup_first_steps(default_results):
    m = default_results["warmup"].measured
    assert m["first_no_warmup"] == pytest.approx(math.sqrt(2), rel=1e-6)
    assert m["first_warmup"] == pytest.approx(0.01 * math.sqrt(2), rel=1e-6)
    assert m["ratio_no_warmup"] > 1.5 > 1.0 > m["ratio_warmup"]


def test_warmup_badge_fails_when_the_warmup_is_too_short():
    assert not LABS["warmup"].run(warmup_steps=5).passed


def test_clipping_and_linear_scaling(default_results):
    m = default_results["clipping_scaling"].measured
    assert 0.5 <= m["scaled_over_small"] <= 2.0
    assert m["unscaled_over_scaled"] > 5
    assert m["clip_error"] < 1e-5
    assert 0 < m["clipped_fraction"] < 1


def test_linear_scaling_breaks_past_the_stability_edge():
    result = LABS["clipping_scaling"].run(k=16)  # kη = 0.16 > 2/λmax = 0.1
    assert not result.passed and "stability edge" in result.verdict


def test_saddle_escape_times(default_results):
    m = default_results["saddle_escape"].measured
    assert m["sgd_escape"] == math.floor(math.log(1e3) / math.log(1.02)) + 1
    for opt in ("momentum", "rmsprop", "adam"):
        assert m[f"{opt}_escape"] < m["sgd_escape"]


def test_saddle_exactly_on_the_ridge_needs_noise():
    still = LABS["saddle_escape"].run(y0=0.0)
    assert all(v == math.inf for v in still.measured.values())
    noisy = LABS["saddle_escape"].run(y0=0.0, noise=0.1)
    assert noisy.measured["sgd_escape"] < math.inf


def test_zero_grad(default_results):
    m = default_results["zero_grad"].measured
    assert m["worst_mismatch"] < 1e-9
    assert m["loss_with_zero_grad"] < 0.01 < m["loss_without_zero_grad"]


def test_zero_grad_lab_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    LABS["zero_grad"].run()
    assert torch.rand(1) == expected


def test_nesterov_bounds(default_results):
    m = default_results["nesterov_rate"].measured
    assert 0 < m["nesterov_bound_ratio"] <= 1
    assert 0 < m["gd_bound_ratio"] <= 1
    assert m["nesterov_final_gap"] < m["gd_final_gap"] / 10


def test_nesterov_worst_case_minimiser():
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


# --------------------------------------------------------------------------------------------------------------
# The registry's contract.


@pytest.mark.parametrize("lab_id,params", [("convergence_rates", {"kappa": 37.0}), ("adagrad_decay", {"steps": 300}),
                                           ("clipping_scaling", {"k": 3})])
def test_quantity_ids_stay_when_the_labels_follow_the_settings(default_results, lab_id, params):
    default, other = default_results[lab_id], LABS[lab_id].run(**params)
    assert list(other.measured) == list(default.measured) and list(other.expected) == list(default.expected)
    assert other.labels != default.labels  # a label may name the setting; an id never does


def test_labels_are_what_a_reader_sees():
    result = LABS["convergence_rates"].run(kappa=37.0, steps=200)
    assert result.labels["gd_rate"] == "GD rate at κ = 37"
    assert result.labels["gd_rate_theory"] == "GD rate (κ−1)/(κ+1) at κ = 37"


def test_the_decorator_registers_the_function_below_it_unchanged():
    warmup = LABS["warmup"]
    assert warmup.experiment is labs_package.practice.warmup
    assert [p.name for p in warmup.params] == ["lr", "noise", "warmup_steps", "seed"]
    assert warmup.title and warmup.section == "schedules"


def test_the_decorator_refuses_knobs_the_experiment_does_not_take():
    with pytest.raises(TypeError, match="do not match"):
        @lab(title="A lab", section="gd", claim="A claim.", params=(Param("x", "x", 0.0, 1.0, 0.5),))
        def not_registered(y: float) -> LabResult:
            raise AssertionError("never runs")
    assert "not_registered" not in LABS


def test_the_decorator_refuses_a_second_lab_with_the_same_id():
    original = LABS["warmup"]
    with pytest.raises(ValueError, match="registered twice"):
        @lab(title="Another warmup", section="schedules", claim="A claim.", params=original.params)
        def warmup(lr, noise, warmup_steps, seed) -> LabResult:
            raise AssertionError("never runs")
    assert LABS["warmup"] is original


def test_a_result_is_built_by_keyword_and_labels_every_quantity():
    with pytest.raises(TypeError):
        LabResult(True, {}, {}, {}, "", {})
    unlabelled = LabResult(passed=True, measured={"edge": 1.0}, expected={"edge_theory": 2.0}, labels={"edge": "edge"},
                           verdict="", frames={})
    with pytest.raises(TypeError, match="unlabelled"):
        unlabelled.check_quantities("example")
    label_as_id = LabResult(passed=True, measured={"GD edge": 1.0}, expected={}, labels={"GD edge": "GD edge"},
                            verdict="", frames={})
    with pytest.raises(TypeError, match="snake_case"):
        label_as_id.check_quantities("example")


# --------------------------------------------------------------------------------------------------------------
# After Adam.


def test_adopt_reaches_the_optimum_where_adam_is_driven_away(default_results):
    m = default_results["adopt_counterexample"].measured
    assert m["adam_final"] == 1.0
    assert m["adopt_final"] <= -0.99 and m["adopt_worst_final"] <= -0.99
    assert m["engine_gap"] < 1e-12


def test_adopt_lab_turns_red_when_adam_does_not_fail():
    result = LABS["adopt_counterexample"].run(b2=0.9, steps=3000)
    assert not result.passed and "did not fail" in result.verdict


def test_schedule_free_matches_a_tuned_cosine_and_beats_a_constant_rate(default_results):
    m = default_results["schedule_free_vs_cosine"].measured
    assert m["sf_loss"] <= 2.0 * m["cosine_loss"] and m["sf_loss"] < m["constant_loss"]
    assert m["sf_over_cosine"] == pytest.approx(m["sf_loss"] / m["cosine_loss"])


def test_prodigy_estimate_finds_the_scale_from_below(default_results):
    m = default_results["prodigy_distance"].measured
    assert 0.1 <= m["ratio_low"] <= m["ratio_high"] <= m["ratio_peak"] <= 1.0
    assert m["worst_final_distance"] < 1e-3
