"""The guide's quantitative claims, run against the closed forms in descent_core.theory (the numbers the prose quotes
are checked against these measurements in test_quantities.py)."""

import math

import numpy as np
import pytest
import torch

import descent_core as dc
from descent_core import theory

L1, L2 = 1.0, 100.0
KAPPA = L2 / L1


def quadratic_surface(l1=L1, l2=L2, angle=0.0, start=(1.0, 1.0)):
    loss, grad, hess, _ = dc.quadratic(l1, l2, angle)
    return dc.Landscape("q", "quadratic", loss, start, ((-2, 2), (-2, 2)), gradient=grad, hessian_diagonal=hess)


def final_distance(opt, steps, **hp):
    race = dc.race(quadratic_surface(), [opt], steps=steps, dtype=torch.float64, hparams={opt: hp})
    return np.linalg.norm(race.paths[0, :, -1], axis=-1)


def test_gd_stability_edge_is_two_over_lambda_max():
    edge = theory.gd_edge(L2)
    stable, unstable = final_distance("gd", 2000, lr=[0.995 * edge, 1.005 * edge])
    assert stable < 1e-6
    assert unstable > 1e6


def test_gd_best_rate_is_kappa_minus_one_over_kappa_plus_one():
    lr_star = theory.gd_best_step(L1, L2)
    race = dc.race(quadratic_surface(), ["gd"], steps=200, dtype=torch.float64, hparams={"gd": {"lr": lr_star}})
    distance = np.linalg.norm(race.paths[0, 0], axis=-1)
    ratios = distance[1:] / distance[:-1]
    np.testing.assert_allclose(ratios, theory.gd_rate(KAPPA), rtol=1e-9)  # every step, not just on average


def test_heavy_ball_optimum_rate():
    lr_star, mu_star, rate = theory.heavy_ball_optimum(L1, L2)
    race = dc.race(quadratic_surface(), ["momentum"], steps=400, dtype=torch.float64,
                   hparams={"momentum": {"lr": lr_star, "momentum": mu_star}})
    distance = np.linalg.norm(race.paths[0, 0], axis=-1)
    measured = (distance[400] / distance[200]) ** (1 / 200)
    # The optimum is a double root, so a t * r^t transient makes a finite window read slightly above the rate.
    assert rate < measured < rate + 3e-3
    assert measured < theory.gd_rate(KAPPA) - 0.15


def test_heavy_ball_stability_region():
    edge = theory.heavy_ball_edge(L2, 0.5)  # 0 < lr * l < 2 + 2 mu
    converges, diverges = final_distance("momentum", 3000, lr=[0.997 * edge, 1.003 * edge], momentum=0.5)
    assert converges < 1e-3
    assert diverges > 1e3


@pytest.mark.parametrize("mu", [0.5, 0.9, 0.99])
def test_momentum_effective_learning_rate_on_a_constant_slope(mu):
    lr, g = 0.01, 2.0
    stepper = dc.make_stepper("momentum", lr=lr, momentum=mu)
    theta = torch.zeros(1, 1, dtype=torch.float64)
    state = stepper.init(theta)
    for _ in range(3000):
        previous = theta
        theta, state = stepper.update(theta, torch.full_like(theta, g), state)
    step = (previous - theta).item()
    assert step == pytest.approx(lr * g / (1 - mu), rel=1e-6)


def first_step(opt, g, **hp):
    stepper = dc.make_stepper(opt, **hp)
    theta = torch.zeros(1, 2, dtype=torch.float64)
    new, _ = stepper.update(theta, torch.tensor([g], dtype=torch.float64), stepper.init(theta))
    return (new - theta)[0].numpy()


G = [3.0, -0.002]


def test_first_steps():
    lr = 0.1
    np.testing.assert_allclose(first_step("adam", G, lr=lr), -lr * np.sign(G), rtol=1e-4)
    np.testing.assert_allclose(first_step("adagrad", G, lr=lr), -lr * np.sign(G), rtol=1e-6)
    np.testing.assert_allclose(first_step("rmsprop", G, lr=lr), -10 * lr * np.sign(G), rtol=1e-4)
    np.testing.assert_allclose(first_step("lion", G, lr=lr), -lr * np.sign(G), rtol=1e-12)
    np.testing.assert_allclose(first_step("sophia", G, lr=lr, weight_decay=0.0), -lr * np.sign(G), rtol=1e-12)
    # AdaDelta's first step is sqrt(eps) scale: it looks stuck.
    assert np.abs(first_step("adadelta", G)).max() < 10 * math.sqrt(1e-6)


def test_radam_first_five_steps_are_plain_momentum():
    stepper = dc.make_stepper("radam", lr=0.1)
    theta = torch.zeros(1, 2, dtype=torch.float64)
    state = stepper.init(theta)
    g = torch.tensor([[5.0, 0.01]], dtype=torch.float64)
    for t in range(1, 7):
        new, state = stepper.update(theta, g, state)
        step = (theta - new)[0]
        if t <= 5:  # rho_t <= 5: m_hat = g for a constant g, so the step is lr * g, not normalised
            torch.testing.assert_close(step, 0.1 * g[0])
        else:
            assert step[0] < 0.1 * g[0, 0] / 2
        theta = new


def test_adagrad_effective_rate_decays_like_one_over_sqrt_t():
    race = dc.race(dc.Landscape("slope", "slope", lambda xy: 2.0 * xy[..., 0] + 0 * xy[..., 1], (0.0, 0.0),
                                ((-10, 10), (-10, 10))), ["adagrad", "rmsprop"], steps=400, dtype=torch.float64,
                   hparams={"adagrad": {"lr": 0.1}, "rmsprop": {"lr": 0.1}}, record_grads=True)
    eff = race.effective_step()[:, 0, :, 0]
    t = np.arange(1, 401)
    np.testing.assert_allclose(eff[0] * 2.0, 0.1 / np.sqrt(t), rtol=1e-6)  # lr / sqrt(sum g^2) * |g| / |g|
    # RMSProp's settles at lr / |g| (its average forgets) instead of shrinking towards zero.
    assert eff[1, -1] * 2.0 == pytest.approx(0.1, rel=0.03)
    assert eff[0, -1] * 2.0 == pytest.approx(0.1 / 20, rel=1e-6)


def rotate(points, angle):
    c, s = math.cos(angle), math.sin(angle)
    return points @ np.array([[c, -s], [s, c]]).T


@pytest.mark.parametrize("opt,equivariant", [
    ("gd", True), ("momentum", True), ("shampoo", True), ("muon", True),
    ("adagrad", False), ("rmsprop", False), ("adam", False), ("lion", False),
])
def test_rotation_separates_diagonal_from_rotation_invariant_methods(opt, equivariant):
    angle = math.pi / 4
    start = np.array([-8.0, 2.0])
    hp = {"gd": {"lr": 0.01}, "momentum": {"lr": 0.002}, "shampoo": {"lr": 0.5}, "muon": {"lr": 0.2, "weight_decay": 0.0},
          "adagrad": {"lr": 0.5}, "rmsprop": {"lr": 0.05}, "adam": {"lr": 0.1}, "lion": {"lr": 0.05}}[opt]
    plain = dc.race(quadratic_surface(1, 20, 0.0, tuple(start)), [opt], steps=60, dtype=torch.float64, hparams={opt: hp})
    turned = dc.race(quadratic_surface(1, 20, angle, tuple(rotate(start, angle))), [opt], steps=60, dtype=torch.float64,
                     hparams={opt: hp})
    back = rotate(turned.paths[0, 0], -angle)
    gap = np.abs(back - plain.paths[0, 0]).max()
    tolerance = 5e-2 if opt == "muon" else 1e-8  # Muon orthogonalises in bfloat16: rounding, not bias
    if equivariant:
        assert gap < tolerance
    else:
        assert gap > 0.5
