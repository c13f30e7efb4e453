"""The network race: deterministic data and training, every optimizer learns, per-layer steppers really are per layer."""

import numpy as np
import pytest
import torch

import descent_core as dc
from descent_core.network import (
    DATASETS,
    LEARNING_RATES,
    PARAM_NAMES,
    _Steppers,
    batch_schedule,
    gauss_newton_bartlett,
    init_params,
    loss_and_grads,
    make_dataset,
    network_race,
    planar_ranking,
    rank_correlation,
    single_thread,
    stepper_plan,
)
from descent_core.race import slot_tensors


@pytest.fixture(scope="module")
def moons_race():
    """The full default race (every optimizer, 400 steps) on moons, run once for the module."""
    fractions = []
    race = network_race(progress=fractions.append)
    return race, fractions


# ---------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", DATASETS)
def test_dataset_is_deterministic_balanced_and_standardised(name):
    first, second = make_dataset(name, n=400, seed=3), make_dataset(name, n=400, seed=3)
    np.testing.assert_array_equal(first.X, second.X)
    np.testing.assert_array_equal(first.y, second.y)
    assert first.X.shape == (400, 2) and first.X.dtype == np.float32
    assert set(np.unique(first.y)) == {0.0, 1.0} and first.y.sum() == 200
    np.testing.assert_allclose(first.X.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(first.X.std(axis=0), 1.0, atol=1e-5)
    assert not np.array_equal(first.X, make_dataset(name, n=400, seed=4).X)


def test_dataset_rejects_unknown_names_and_tiny_sizes():
    with pytest.raises(ValueError, match="Unknown dataset 'circles'"):
        make_dataset("circles")
    with pytest.raises(ValueError, match="at least 8"):
        make_dataset("moons", n=3)


def test_batches_are_seeded_permutations_per_epoch():
    batches = batch_schedule(n=500, batch_size=64, steps=20, seed=0)
    np.testing.assert_array_equal(batches, batch_schedule(n=500, batch_size=64, steps=20, seed=0))
    assert batches.shape == (20, 64)
    first_epoch = batches[:7].ravel()  # 500 // 64 = 7 batches per epoch, no point twice within an epoch
    assert len(np.unique(first_epoch)) == first_epoch.size


# ---------------------------------------------------------------------------------------------------------------
# The race
# ---------------------------------------------------------------------------------------------------------------
def test_every_optimizer_lowers_the_loss_from_the_same_start(moons_race):
    race, _ = moons_race
    assert list(race.runs) == list(dc.OPTIMIZERS)
    initial = {run.losses[0] for run in race.runs.values()}
    assert len(initial) == 1  # the same initial weights for everyone
    for opt_id, run in race.runs.items():
        assert not run.diverged, opt_id
        assert run.losses.shape == (race.steps + 1,)
        assert run.final_loss < 0.5 * run.losses[0], opt_id


def test_the_best_optimizers_fit_moons(moons_race):
    race, _ = moons_race
    accuracies = {opt_id: run.accuracy for opt_id, run in race.runs.items()}
    best = race.ranking()[:5]
    assert all(accuracies[opt_id] > 0.9 for opt_id in best), accuracies
    assert sum(accuracy > 0.9 for accuracy in accuracies.values()) >= 15, accuracies
    for opt_id in ("adam", "nesterov", "muon", "shampoo"):
        assert accuracies[opt_id] > 0.9, opt_id


def test_result_carries_boundaries_times_and_progress(moons_race):
    race, fractions = moons_race
    for run in race.runs.values():
        assert run.boundary.shape == (60, 60)
        assert np.all((run.boundary >= 0) & (run.boundary <= 1))
        assert run.wall_time > 0
        assert run.lr == LEARNING_RATES[run.opt_id]
    assert race.grid_x.shape == race.grid_y.shape == (60,)
    assert race.wall_time >= sum(run.wall_time for run in race.runs.values())
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) <= 60


def test_race_is_reproducible_for_a_fixed_seed():
    chosen = ["sgd", "adam", "muon", "shampoo", "sophia", "lars"]
    first = network_race(chosen, steps=40, seed=5)
    second = network_race(chosen, steps=40, seed=5)
    for opt_id in chosen:
        np.testing.assert_array_equal(first.runs[opt_id].losses, second.runs[opt_id].losses)
        np.testing.assert_array_equal(first.runs[opt_id].boundary, second.runs[opt_id].boundary)
    other = network_race(["adam"], steps=40, seed=6)
    assert not np.array_equal(other.runs["adam"].losses, first.runs["adam"].losses)


def test_learning_rate_override_and_input_checks():
    race = network_race(["adam"], steps=5, learning_rates={"adam": 0.001})
    assert race.runs["adam"].lr == 0.001
    with pytest.raises(ValueError, match="Unknown optimizer"):
        network_race(["adamax"], steps=5)
    with pytest.raises(ValueError, match="Invalid race size"):
        network_race(["adam"], steps=0)


def test_a_run_that_blows_up_is_marked_diverged():
    # LAMB at 100x its rate: the trust ratio lets every layer double in norm each step until it overflows
    race = network_race(["lamb"], steps=120, learning_rates={"lamb": 1.0})
    run = race.runs["lamb"]
    assert run.diverged and np.isnan(run.accuracy)
    assert np.isnan(run.losses[-1]) and np.isfinite(run.losses[0])


# ---------------------------------------------------------------------------------------------------------------
# Per-layer steppers
# ---------------------------------------------------------------------------------------------------------------
def test_muon_lamb_and_lars_hand_biases_to_a_simpler_sibling():
    assert stepper_plan("muon")["W2"] == ("muon", LEARNING_RATES["muon"])
    assert stepper_plan("muon")["b2"][0] == "adamw" and stepper_plan("muon")["W3"][0] == "adamw"
    assert stepper_plan("lamb")["b1"][0] == "adam" and stepper_plan("lamb")["W1"][0] == "lamb"
    assert stepper_plan("lars")["b3"][0] == "momentum"
    assert {stepper for stepper, _ in stepper_plan("shampoo").values()} == {"shampoo"}


def test_lamb_trust_ratio_uses_each_layers_own_norm():
    """First LAMB step: u = mhat / (sqrt(vhat) + eps) = g / (|g| + eps); each weight matrix moves by
    lr * ||W|| / ||u|| * u, with the norms of that matrix alone."""
    params = init_params(hidden=8, seed=0)
    data = make_dataset("moons", n=64, seed=0)
    _, grads = loss_and_grads(params, torch.from_numpy(data.X), torch.from_numpy(data.y))
    lr = 0.01
    new = _Steppers("lamb", lr, params, {}).step(params, grads, None)
    for name in ("W1", "W2", "W3"):
        u = grads[name] / (grads[name].abs() + 1e-6)
        expected = params[name] - lr * params[name].norm() / u.norm() * u
        torch.testing.assert_close(new[name], expected)


def test_one_stepper_per_parameter_tensor():
    params = init_params(hidden=8)
    steppers = _Steppers("shampoo", 0.1, params, {})
    assert set(steppers.steppers) == set(PARAM_NAMES)
    # Shampoo keeps a left and a right preconditioner per weight matrix, a full matrix per bias
    slots = {name: slot_tensors(state.slots) for name, state in steppers.states.items()}
    assert slots["W2"]["left"].shape == (1, 8, 8) and slots["W2"]["right"].shape == (1, 8, 8)
    assert slots["W1"]["left"].shape == (1, 2, 2) and slots["W1"]["right"].shape == (1, 8, 8)
    assert slots["b1"]["left"].shape == (1, 8, 8) and "right" not in slots["b1"]


def test_sophia_curvature_is_a_nonnegative_estimate_per_tensor():
    params = init_params(hidden=8)
    X = torch.from_numpy(make_dataset("moons", n=32).X)
    estimate = gauss_newton_bartlett(params, X, torch.Generator().manual_seed(0))
    assert set(estimate) == set(PARAM_NAMES)
    for name, h in estimate.items():
        assert h.shape == params[name].shape and torch.all(h >= 0)


def test_single_thread_restores_the_thread_count():
    before = torch.get_num_threads()
    with single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


# ---------------------------------------------------------------------------------------------------------------
# Comparison with the 2-D races
# ---------------------------------------------------------------------------------------------------------------
def test_rank_correlation_of_equal_reversed_and_mismatched_orders():
    order = ["a", "b", "c", "d"]
    assert rank_correlation(order, order) == 1.0
    assert rank_correlation(order, order[::-1]) == -1.0
    assert rank_correlation(["a", "b", "c"], ["a", "c", "b"]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="same items"):
        rank_correlation(order, ["a", "b", "c", "e"])


def test_planar_ranking_orders_the_given_optimizers():
    chosen = ["gd", "adam", "shampoo", "lion"]
    order = planar_ranking(chosen, landscapes=("ravine", "beale"), steps=60)
    assert sorted(order) == sorted(chosen)
    assert order == planar_ranking(chosen, landscapes=("ravine", "beale"), steps=60)
