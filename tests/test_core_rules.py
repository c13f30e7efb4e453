"""Optimizers torch does not ship, against plain float64 re-statements of their papers' rules; batching; inputs."""


import numpy as np
import pytest
import torch

import descent_core as dc

STEPS = 40


def reference_run(update, state, start, grad_fn, steps=STEPS):
    theta = np.array(start, dtype=np.float64)
    path = [theta.copy()]
    for t in range(1, steps + 1):
        theta, state = update(theta, grad_fn(theta), state, t)
        path.append(theta.copy())
    return np.array(path)


def grad_np(surface):
    return lambda th: surface.grad(torch.tensor(th[None], dtype=torch.float64))[0].numpy()


def ours(opt_id, hparams, surface, steps=STEPS, curvature=False):
    stepper = dc.make_stepper(opt_id, **hparams)
    theta = torch.tensor([surface.start], dtype=torch.float64)
    state = stepper.init(theta)
    path = [theta[0].numpy().copy()]
    for _ in range(steps):
        hess = surface.hessian_diag(theta) if curvature else None
        theta, state = stepper.update(theta, surface.grad(theta), state, curvature=hess)
        path.append(theta[0].numpy().copy())
    return np.array(path)


SURFACES = ["ravine", "beale", "rosenbrock", "himmelblau"]


@pytest.mark.parametrize("surface_id", SURFACES)
def test_lion_chen_2023(surface_id):
    lr, b1, b2, wd = 0.01, 0.9, 0.99, 0.1
    surface = dc.LANDSCAPES[surface_id]

    def update(theta, g, m, t):
        c = b1 * m + (1 - b1) * g
        theta = theta - lr * (np.sign(c) + wd * theta)
        return theta, b2 * m + (1 - b2) * g

    expected = reference_run(update, np.zeros(2), surface.start, grad_np(surface))
    got = ours("lion", {"lr": lr, "betas": (b1, b2), "weight_decay": wd}, surface)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("surface_id", SURFACES)
@pytest.mark.parametrize("wd", [0.0, 0.05])
def test_lamb_you_2020(surface_id, wd):
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-6
    surface = dc.LANDSCAPES[surface_id]

    def update(theta, g, state, t):
        first, second = state
        first = b1 * first + (1 - b1) * g
        second = b2 * second + (1 - b2) * np.square(g)
        r = (first / (1 - b1**t)) / (np.sqrt(second / (1 - b2**t)) + eps)
        u = r + wd * theta
        w_norm, u_norm = np.linalg.norm(theta), np.linalg.norm(u)
        trust = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
        return theta - lr * trust * u, (first, second)

    expected = reference_run(update, (np.zeros(2), np.zeros(2)), surface.start, grad_np(surface))
    got = ours("lamb", {"lr": lr, "weight_decay": wd}, surface)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("surface_id", SURFACES)
def test_lars_you_2017(surface_id):
    lr, mu, wd, eta = 2.0, 0.9, 0.01, 1e-3
    surface = dc.LANDSCAPES[surface_id]

    def update(theta, g, v, t):
        w_norm, g_norm = np.linalg.norm(theta), np.linalg.norm(g)
        local_lr = eta * w_norm / (g_norm + wd * w_norm)
        v = mu * v + lr * local_lr * (g + wd * theta)
        return theta - v, v

    expected = reference_run(update, np.zeros(2), surface.start, grad_np(surface))
    got = ours("lars", {"lr": lr, "momentum": mu, "weight_decay": wd, "trust_coefficient": eta}, surface)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("surface_id", SURFACES)
def test_shampoo_on_a_vector_is_full_matrix_adagrad(surface_id):
    lr, eps = 0.1, 1e-4
    surface = dc.LANDSCAPES[surface_id]

    def update(theta, g, G, t):
        G = G + np.outer(g, g)
        w, Q = np.linalg.eigh(G)
        return theta - lr * (Q @ np.diag(w**-0.5) @ Q.T) @ g, G

    expected = reference_run(update, eps * np.eye(2), surface.start, grad_np(surface))
    got = ours("shampoo", {"lr": lr, "eps": eps}, surface)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)


def test_shampoo_on_a_matrix_uses_kronecker_factors():
    rng = np.random.default_rng(0)
    lr, eps = 0.05, 1e-3
    target = rng.normal(size=(3, 4))
    theta0 = rng.normal(size=(3, 4))

    def inv_root(M, p):
        w, Q = np.linalg.eigh(M)
        return Q @ np.diag(w ** (-1.0 / p)) @ Q.T

    theta, L, R = theta0.copy(), eps * np.eye(3), eps * np.eye(4)
    stepper = dc.make_stepper("shampoo", lr=lr, eps=eps)
    ours_theta = torch.tensor(theta0[None])
    state = stepper.init(ours_theta)
    for _ in range(20):
        G = theta - target
        L, R = L + G @ G.T, R + G.T @ G
        theta = theta - lr * inv_root(L, 4) @ G @ inv_root(R, 4)
        ours_theta, state = stepper.update(ours_theta, ours_theta - torch.tensor(target[None]), state)
    np.testing.assert_allclose(ours_theta[0].numpy(), theta, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("surface_id", ["ravine", "rosenbrock", "himmelblau", "beale"])
def test_sophia_h_liu_2023(surface_id):
    lr, b1, b2, rho, eps, wd, k = 0.01, 0.965, 0.99, 0.04, 1e-12, 0.1, 5
    surface = dc.LANDSCAPES[surface_id]
    hess = lambda th: surface.hessian_diag(torch.tensor(th[None], dtype=torch.float64))[0].numpy()

    def update(theta, g, state, t):
        m, h = state
        m = b1 * m + (1 - b1) * g
        if t % k == 0:
            h = b2 * h + (1 - b2) * hess(theta)
        theta = theta - lr * wd * theta
        return theta - lr * np.clip(m / np.maximum(rho * h, eps), -1, 1), (m, h)

    expected = reference_run(update, (np.zeros(2), np.zeros(2)), surface.start, grad_np(surface))
    got = ours("sophia", {"lr": lr, "betas": (b1, b2), "rho": rho, "eps": eps, "weight_decay": wd,
                          "update_period": k}, surface, curvature=True)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)


# --------------------------------------------------------------------------------------------------------------
# Batched runs equal separate runs, for every optimizer (norm- and matrix-based rules take norms per run).

PER_RUN = {"lr": [0.001, 0.01, 0.03]}


@pytest.mark.parametrize("opt_id", list(dc.OPTIMIZERS))
def test_batched_equals_separate_runs(opt_id):
    surface = dc.LANDSCAPES["rotated_ravine"]
    starts = torch.tensor([[-8.0, -5.0], [3.0, 4.0], [0.5, -6.0]], dtype=torch.float64)
    lrs = [0.001, 0.01, 0.03]
    extra = {"momentum": [0.5, 0.8, 0.9]} if opt_id in ("momentum", "nesterov", "lars") else {}
    batched = dc.make_stepper(opt_id, lr=lrs, **extra)
    theta = starts.clone()
    state = batched.init(theta)
    for _ in range(25):
        theta, state = batched.update(theta, surface.grad(theta), state, curvature=surface.hessian_diag(theta))
    for b in range(3):
        single = dc.make_stepper(opt_id, lr=lrs[b], **{k: v[b] for k, v in extra.items()})
        th = starts[b : b + 1].clone()
        st = single.init(th)
        for _ in range(25):
            th, st = single.update(th, surface.grad(th), st, curvature=surface.hessian_diag(th))
        torch.testing.assert_close(theta[b : b + 1], th, rtol=1e-6, atol=1e-9)


def test_per_run_betas_sweep_in_one_call():
    betas = ([0.5, 0.9], [0.9, 0.999])
    stepper = dc.make_stepper("adam", lr=0.1, betas=betas)
    theta = torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    state = stepper.init(theta)
    theta, state = stepper.update(theta, torch.ones_like(theta), state)
    theta, state = stepper.update(theta, torch.ones_like(theta) * 3, state)
    m = state.slots.m
    assert m[0, 0].item() == pytest.approx(0.5 * 0.5 * 1 + 0.5 * 3)
    assert m[1, 0].item() == pytest.approx(0.9 * 0.1 * 1 + 0.1 * 3)


# --------------------------------------------------------------------------------------------------------------
# Registry and bad input.


def test_registry_has_the_twenty_six_ids_with_metadata():
    assert list(dc.OPTIMIZERS) == ["gd", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam",
                                   "amsgrad", "adamw", "nadam", "radam", "lion", "lamb", "lars", "muon", "shampoo",
                                   "sophia", "adafactor", "sf_adamw", "sf_sgd", "soap", "adopt", "ademamix",
                                   "cautious_adamw", "prodigy"]
    for spec in dc.OPTIMIZERS.values():
        assert spec.name and spec.family and spec.reference and "lr" in spec.defaults
    assert dc.OPTIMIZERS["adam"].state_slots == ("m", "v")
    assert dc.OPTIMIZERS["amsgrad"].state_slots == ("m", "v", "v_max")
    assert dc.OPTIMIZERS["sgd"].state_slots == ()
    assert dc.OPTIMIZERS["lion"].state_slots == ("m",)
    assert dc.OPTIMIZERS["prodigy"].state_slots[:5] == ("m", "v", "s", "theta0", "d")
    assert dc.OPTIMIZERS["sf_adamw"].state_slots[:3] == ("v", "z", "x")


@pytest.mark.parametrize("call,message", [
    (lambda: dc.make_stepper("adamm"), "Unknown optimizer 'adamm'; valid ids: gd, sgd"),
    (lambda: dc.make_stepper("adam", lr=-1.0), "Invalid lr for adam: -1.0"),
    (lambda: dc.make_stepper("adam", betas=(1.0, 0.999)), "Invalid beta parameter at index 0 for adam: 1.0"),
    (lambda: dc.make_stepper("adam", betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
    (lambda: dc.make_stepper("adam", eps=0.0), "Invalid eps for adam: 0.0 (must be > 0)"),
    (lambda: dc.make_stepper("rmsprop", alpha=1.5), "Invalid alpha"),
    (lambda: dc.make_stepper("sgd", momentum=-0.1), "Invalid momentum"),
    (lambda: dc.make_stepper("sgd", lr=float("nan")), "Invalid lr"),
    (lambda: dc.make_stepper("adam", lr=[0.1, -0.2]), "Invalid lr for adam: -0.2"),
    (lambda: dc.make_stepper("adam", gamma=0.1), "Unknown hyperparameter(s) ['gamma'] for adam"),
    (lambda: dc.make_stepper("sgd", nesterov=True), "Nesterov momentum requires a momentum > 0"),
    (lambda: dc.make_stepper("nesterov", nesterov=False), "nesterov means nesterov=True"),
    (lambda: dc.make_stepper("adam", lr=[[0.1]]), "expected a number or a 1-D array"),
    (lambda: dc.make_stepper("adam", lr=True), "expected a number, got a bool"),
    (lambda: dc.make_stepper("muon", ns_steps=0), "Invalid ns_steps"),
    (lambda: dc.make_stepper("adam", lr=[0.1, 0.2], eps=[1e-8, 1e-8, 1e-8]), "disagree in length"),
])
def test_bad_hyperparameters_raise_clear_errors(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


def test_every_torch_hyperparameter_is_accepted_under_its_name():
    import inspect

    implementation_flags = {"params", "self", "foreach", "fused", "capturable", "differentiable", "maximize"}
    for opt_id, spec in dc.OPTIMIZERS.items():
        if not spec.torch_class:
            continue
        torch_names = set(inspect.signature(getattr(torch.optim, spec.torch_class).__init__).parameters)
        # Names an id fixes (gd's momentum = 0, nesterov's nesterov = True) are accepted at their fixed values.
        missing = torch_names - implementation_flags - set(spec.defaults) - set(spec.fixed)
        assert not missing, f"{opt_id} lacks torch hyperparameters {missing}"
        dc.make_stepper(opt_id, **spec.defaults, **spec.fixed)
        for name, value in spec.fixed.items():
            with pytest.raises(ValueError, match=f"{opt_id} means {name}="):
                dc.make_stepper(opt_id, **{name: (not value) if isinstance(value, bool) else 0.5})


def test_per_run_length_must_match_batch():
    stepper = dc.make_stepper("adam", lr=[0.1, 0.2])
    with pytest.raises(ValueError, match="2 values but theta has 3 runs"):
        stepper.init(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="must be batched"):
        stepper.init(torch.zeros(2))
