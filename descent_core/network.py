"""A real network race: every optimizer trains the same small MLP on the same 2-D classification data.

The model is a 2-H-H-1 multilayer perceptron with tanh hidden units, written as six explicit parameter tensors
(W1, b1, W2, b2, W3, b3) so that each tensor gets its own stepper from ``descent_core``. That matters for the
optimizers whose maths is per layer: LAMB and LARS take norms of one layer at a time, Shampoo keeps a left and a
right preconditioner per weight matrix, and Muon orthogonalises one weight matrix at a time.

    logits = tanh(tanh(X W1 + b1) W2 + b2) W3 + b3
    loss   = mean binary cross-entropy of sigmoid(logits) against labels in {0, 1}

Fairness: every optimizer starts from the same initial weights and sees the same sequence of mini-batches (one
seeded permutation per epoch). Only ``gd`` differs, on purpose: it takes the full-batch gradient every step, which
is what separates gradient descent from SGD.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from .tuning import tuning_scores
from .optimizers import OPTIMIZERS, make_stepper
from .race import race

DATASETS = ("moons", "spirals")
PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")

# ---------------------------------------------------------------------------------------------------------------
# Learning rates, disclosed beside every network race. Each comes from a sweep over a grid of factors of 2 (400
# steps, batch 64, hidden 32): the value with a low final training loss on moons AND spirals (seeds 0 and 1),
# at least two notches below the rate where the optimizer starts to blow up. Everything else stays at
# descent_core's defaults (torch's, where torch has the optimizer).
# ---------------------------------------------------------------------------------------------------------------
LEARNING_RATES: dict[str, float] = {
    "gd": 4.0,  # full-batch and a smooth loss: large steps stay stable (8 is as good, 32 diverges)
    "sgd": 0.5,  # mini-batch noise punishes larger rates on spirals
    "momentum": 0.4,  # mu = 0.9 multiplies the effective rate by about 10
    "nesterov": 0.4,
    "adagrad": 0.2,
    "rmsprop": 0.01,
    "adadelta": 4.0,  # its steps start at sqrt(eps) scale; lr = 1 (the default) lags far behind
    "adam": 0.04,
    "amsgrad": 0.04,
    "adamw": 0.04,
    "nadam": 0.04,
    "radam": 0.04,
    "lion": 0.008,  # sign updates move every weight by lr: its authors advise 3-10x below AdamW's rate
    "lamb": 0.01,  # relative change of each layer per step; 0.04 already oscillates
    "lars": 1.0,  # the default: trust coefficient 1e-3 scales each layer's step to 0.1% of its norm (x10 momentum)
    "muon": 0.08,
    "shampoo": 2.0,  # steps shrink like AdaGrad's (1/sqrt(t)), so the base rate is large; 16 starts to fail
    "sophia": 0.005,  # clipped steps are at most lr per weight
    "adafactor": 0.04,  # caps the relative step min(lr, 1/sqrt(t)) * RMS(W); 0.16 already fails on spirals
    "sf_adamw": 0.16,  # averaging tolerates larger rates than Adam (1.28 fails); losses are measured at y
    "sf_sgd": 2.0,
    "soap": 0.02,
    "adopt": 0.08,
    "ademamix": 0.08,
    "cautious_adamw": 0.04,  # AdamW's
    "prodigy": 0.25,  # a factor on the learned step d; the default 1 fails on spirals (seed 1). d is per tensor here
}

# ---------------------------------------------------------------------------------------------------------------
# Parameters an optimizer is not designed for follow common practice: they are trained by a simpler sibling rule,
# at that sibling's own rate from the table above.
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Substitute:
    opt_id: str  # the sibling that trains this kind of parameter
    why: str  # shown to the user next to the learning rates


_MUON_PRACTICE = "biases and the output layer use AdamW, as the Muon authors recommend"
SUBSTITUTES: dict[str, dict[str, Substitute]] = {
    # Muon's README: orthogonalised updates are for hidden weight matrices; biases and the output layer (here a
    # 32 x 1 column, which "orthogonalising" would merely normalise) are trained with AdamW.
    "muon": {"bias": Substitute("adamw", _MUON_PRACTICE), "output": Substitute("adamw", _MUON_PRACTICE)},
    # LAMB and LARS implementations exclude biases from the layer-wise trust ratio: a zero-initialised bias would
    # get a ratio of about lr after its first step and then barely move. Without the ratio LAMB is Adam and LARS
    # is momentum SGD.
    "lamb": {"bias": Substitute("adam", "biases skip the trust ratio, i.e. take Adam steps")},
    "lars": {"bias": Substitute("momentum", "biases skip the trust ratio, i.e. take momentum steps")},
}
# Shampoo needs no substitute: for a 1-D bias it is full-matrix AdaGrad, the order-1 case of the Shampoo paper.
# Sophia's Hessian-diagonal estimate is the paper's Gauss-Newton-Bartlett estimator (``gauss_newton_bartlett``).


def param_kind(name: str) -> str:
    """'bias' for b1..b3, 'output' for the last weight matrix, 'hidden' for the others."""
    if name.startswith("b"):
        return "bias"
    return "output" if name == "W3" else "hidden"


def stepper_plan(opt_id: str, lr: float | None = None) -> dict[str, tuple[str, float]]:
    """For each parameter tensor, the stepper id and learning rate it is trained with under ``opt_id``."""
    lr = LEARNING_RATES[opt_id] if lr is None else lr
    plan = {}
    for name in PARAM_NAMES:
        substitute = SUBSTITUTES.get(opt_id, {}).get(param_kind(name))
        plan[name] = (substitute.opt_id, LEARNING_RATES[substitute.opt_id]) if substitute else (opt_id, lr)
    return plan


# ---------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dataset:
    """Points ``X`` (N, 2), standardised to zero mean and unit variance per axis, and labels ``y`` (N,) in {0, 1}."""

    name: str
    X: np.ndarray
    y: np.ndarray


def _moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: class 0 on the upper arc of the unit circle, class 1 on a lower arc shifted
    by (1, 0.5), each point jittered by Gaussian noise."""
    n0 = n // 2
    angle0, angle1 = rng.uniform(0, math.pi, n0), rng.uniform(0, math.pi, n - n0)
    upper = np.stack([np.cos(angle0), np.sin(angle0)], axis=1)
    lower = np.stack([1.0 - np.cos(angle1), 0.5 - np.sin(angle1)], axis=1)
    X = np.concatenate([upper, lower]) + rng.normal(0.0, noise, (n, 2))
    return X, np.concatenate([np.zeros(n0), np.ones(n - n0)])


def _spirals(n: int, noise: float, rng: np.random.Generator, turns: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved Archimedean spirals r = theta: class 1 is class 0 rotated by half a turn."""
    n0 = n // 2
    theta = np.sqrt(rng.uniform(0.0, 1.0, n)) * turns * 2 * math.pi  # sqrt: even density along the arc
    sign = np.where(np.arange(n) < n0, 1.0, -1.0)
    X = sign[:, None] * np.stack([theta * np.cos(theta), theta * np.sin(theta)], axis=1) / (turns * 2 * math.pi)
    return X + rng.normal(0.0, noise, (n, 2)), (np.arange(n) >= n0).astype(float)


def make_dataset(name: str = "moons", n: int = 500, noise: float | None = None, seed: int = 0) -> Dataset:
    """A seeded 2-D two-class dataset; the same arguments always give the same arrays."""
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if n < 8:
        raise ValueError(f"Invalid n: {n} (need at least 8 points)")
    rng = np.random.default_rng(seed)
    if name == "moons":
        X, y = _moons(n, 0.15 if noise is None else noise, rng)
    else:
        X, y = _spirals(n, 0.03 if noise is None else noise, rng)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return Dataset(name, X.astype(np.float32), y.astype(np.float32))


def batch_schedule(n: int, batch_size: int, steps: int, seed: int) -> np.ndarray:
    """Indices (steps, batch_size) of the mini-batch at each step: a fresh seeded permutation every epoch, so every
    optimizer sees exactly the same sequence of batches."""
    rng = np.random.default_rng(seed + 1)
    per_epoch = max(1, n // batch_size)
    epochs = -(-steps // per_epoch)
    batches = [rng.permutation(n)[: per_epoch * batch_size].reshape(per_epoch, batch_size) for _ in range(epochs)]
    return np.concatenate(batches)[:steps]


# ---------------------------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------------------------
def init_params(hidden: int = 32, seed: int = 0) -> dict[str, Tensor]:
    """Glorot-uniform weights (limit sqrt(6 / (fan_in + fan_out)), the usual choice for tanh) and zero biases.
    Every tensor carries a leading run axis of size 1, the batched shape the steppers expect."""
    generator = torch.Generator().manual_seed(seed)
    sizes = [(2, hidden), (hidden, hidden), (hidden, 1)]
    params = {}
    for i, (fan_in, fan_out) in enumerate(sizes, start=1):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        params[f"W{i}"] = (torch.rand(1, fan_in, fan_out, generator=generator) * 2 - 1) * limit
        params[f"b{i}"] = torch.zeros(1, fan_out)
    return params


def forward(params: Mapping[str, Tensor], X: Tensor) -> Tensor:
    """Logits (N,) of the MLP for points X (N, 2)."""
    h = torch.tanh(X @ params["W1"][0] + params["b1"][0])
    h = torch.tanh(h @ params["W2"][0] + params["b2"][0])
    return (h @ params["W3"][0] + params["b3"][0]).squeeze(-1)


def bce_loss(logits: Tensor, y: Tensor) -> Tensor:
    """Mean binary cross-entropy, -[y log p + (1 - y) log(1 - p)] with p = sigmoid(logit), in its stable form."""
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, y)


def loss_and_grads(params: dict[str, Tensor], X: Tensor, y: Tensor) -> tuple[float, dict[str, Tensor]]:
    """The mini-batch loss and its gradient with respect to every parameter tensor."""
    leaves = {name: p.detach().requires_grad_(True) for name, p in params.items()}
    loss = bce_loss(forward(leaves, X), y)
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return float(loss.detach()), dict(zip(leaves, grads))


def gauss_newton_bartlett(params: dict[str, Tensor], X: Tensor, generator: torch.Generator) -> dict[str, Tensor]:
    """Sophia's Gauss-Newton-Bartlett estimate of the Hessian diagonal: draw labels from the model's own
    prediction, y_hat ~ Bernoulli(sigmoid(logit)), and return B * g_hat**2, where g_hat is the gradient of the mean
    loss against those sampled labels (Liu et al. 2023, Algorithm 2)."""
    leaves = {name: p.detach().requires_grad_(True) for name, p in params.items()}
    logits = forward(leaves, X)
    sampled = torch.bernoulli(torch.sigmoid(logits.detach()), generator=generator)
    grads = torch.autograd.grad(bce_loss(logits, sampled), list(leaves.values()))
    return {name: X.shape[0] * g * g for name, g in zip(leaves, grads)}


def accuracy(params: Mapping[str, Tensor], X: Tensor, y: Tensor) -> float:
    """Share of points whose predicted class (logit > 0) matches the label."""
    with torch.no_grad():
        return float(((forward(params, X) > 0).float() == y).float().mean())


def boundary_grid(X: np.ndarray, resolution: int = 60, margin: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Axis values of a square grid spanning the data, padded by ``margin`` of its range on each side."""
    low, high = X.min(axis=0), X.max(axis=0)
    pad = margin * (high - low)
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution, dtype=np.float32)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution, dtype=np.float32)
    return xs, ys


def probabilities(params: Mapping[str, Tensor], xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """P(class 1) on the grid, shaped (len(ys), len(xs)): row i is y = ys[i]."""
    gx, gy = np.meshgrid(xs, ys)
    points = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], axis=1))
    with torch.no_grad():
        return torch.sigmoid(forward(params, points)).reshape(len(ys), len(xs)).numpy()


# ---------------------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkRun:
    """One optimizer's result. ``losses[t]`` is the full training loss after t steps (t = 0 .. steps)."""

    opt_id: str
    lr: float
    losses: np.ndarray
    accuracy: float
    boundary: np.ndarray  # (resolution, resolution) probabilities of class 1
    wall_time: float  # seconds spent training this optimizer
    diverged: bool

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])


@dataclass(frozen=True)
class NetworkRace:
    dataset: Dataset
    runs: dict[str, NetworkRun]
    grid_x: np.ndarray
    grid_y: np.ndarray
    steps: int
    batch_size: int
    hidden: int
    seed: int
    wall_time: float  # seconds for the whole race, data and evaluation included
    settings: dict = field(default_factory=dict)

    def ranking(self) -> list[str]:
        """Optimizer ids from the lowest final training loss to the highest (diverged runs last)."""
        return sorted(self.runs, key=lambda k: (self.runs[k].diverged, np.nan_to_num(self.runs[k].final_loss, nan=np.inf)))


class _Steppers:
    """The steppers and states of one optimizer: one per parameter tensor, so per-layer norms stay per layer."""

    def __init__(self, opt_id: str, lr: float, params: dict[str, Tensor], hparams: Mapping[str, float]):
        self.steppers, self.states = {}, {}
        for name, (stepper_id, stepper_lr) in stepper_plan(opt_id, lr).items():
            extra = dict(hparams) if stepper_id == opt_id else {}
            self.steppers[name] = make_stepper(stepper_id, lr=stepper_lr, **extra)
            self.states[name] = self.steppers[name].init(params[name])

    def needs_curvature(self, name: str) -> bool:
        """True when this tensor's Sophia stepper refreshes its Hessian estimate at the coming step."""
        stepper = self.steppers[name]
        if not stepper.spec.needs_curvature:
            return False
        return (self.states[name].t + 1) % int(stepper.hparams["update_period"]) == 0

    def step(self, params: dict[str, Tensor], grads: dict[str, Tensor],
             curvature: Mapping[str, Tensor] | None) -> dict[str, Tensor]:
        new = {}
        for name, stepper in self.steppers.items():
            h = curvature.get(name) if curvature else None
            new[name], self.states[name] = stepper.update(params[name], grads[name], self.states[name], curvature=h)
        return new

    def evaluated(self, params: dict[str, Tensor]) -> dict[str, Tensor]:
        """The weights a user would evaluate: for schedule-free rules the averaged point x, else the weights."""
        return {name: stepper.evaluation_point(params[name], self.states[name])
                for name, stepper in self.steppers.items()}


def train_one(opt_id: str, lr: float, initial: dict[str, Tensor], X: Tensor, y: Tensor, batches: np.ndarray,
              seed: int, hparams: Mapping[str, float] | None = None,
              on_step: Callable[[int], None] | None = None) -> tuple[dict[str, Tensor], np.ndarray, bool]:
    """Train from ``initial`` for len(batches) steps; returns the final parameters, the full-data loss after every
    step (index 0 = before training) and whether the run diverged (a non-finite loss stops it early). Losses and the
    returned parameters are the evaluated ones (schedule-free rules: the average x; gradients are taken at y)."""
    params = {name: p.clone() for name, p in initial.items()}
    steppers = _Steppers(opt_id, lr, params, hparams or {})
    full_batch = OPTIMIZERS[opt_id].exact_gradient  # gd: the full-data gradient every step
    sampler = torch.Generator().manual_seed(seed + 2)  # Sophia's label sampling, identical across calls
    losses = np.full(len(batches) + 1, np.nan)
    losses[0] = float(bce_loss(forward(params, X), y))
    diverged = False
    for t, index in enumerate(batches, start=1):
        xb, yb = (X, y) if full_batch else (X[index], y[index])
        _, grads = loss_and_grads(params, xb, yb)
        curvature = None
        if any(steppers.needs_curvature(name) for name in params):
            curvature = gauss_newton_bartlett(params, xb, sampler)
        params = steppers.step(params, grads, curvature)
        with torch.no_grad():
            losses[t] = float(bce_loss(forward(steppers.evaluated(params), X), y))
        if on_step is not None:
            on_step(t)
        if not math.isfinite(losses[t]):
            diverged = True
            break
    return steppers.evaluated(params), losses, diverged


def network_race(
    optimizers: Sequence[str] | None = None,
    dataset: str = "moons",
    steps: int = 400,
    batch_size: int = 64,
    n: int = 500,
    hidden: int = 32,
    seed: int = 0,
    learning_rates: Mapping[str, float] | None = None,
    resolution: int = 60,
    progress: Callable[[float], None] | None = None,
) -> NetworkRace:
    """Train the same MLP with every optimizer in ``optimizers`` (default: every registered one) and collect loss
    curves, accuracies and decision boundaries. ``progress(fraction)`` is called as training advances (0 < fraction <= 1)."""
    started = time.perf_counter()
    ids = list(OPTIMIZERS) if optimizers is None else list(optimizers)
    unknown = [i for i in ids if i not in OPTIMIZERS]
    if unknown:
        raise ValueError(f"Unknown optimizer(s) {unknown}; valid ids: {', '.join(OPTIMIZERS)}")
    if not (1 <= steps <= 5000 and 1 <= batch_size and 1 <= hidden <= 256):
        raise ValueError(f"Invalid race size: steps={steps} (1..5000), batch_size={batch_size}, hidden={hidden} (1..256)")
    lrs = {**LEARNING_RATES, **(learning_rates or {})}

    data = make_dataset(dataset, n=n, seed=seed)
    X, y = torch.from_numpy(data.X), torch.from_numpy(data.y)
    batches = batch_schedule(n, min(batch_size, n), steps, seed)
    initial = init_params(hidden, seed)
    xs, ys = boundary_grid(data.X, resolution)

    report = _progress_reporter(progress, total=len(ids) * steps)
    runs = {}
    with single_thread():
        for k, opt_id in enumerate(ids):
            runs[opt_id] = _run_one(opt_id, lrs[opt_id], initial, X, y, batches, seed, xs, ys,
                                    on_step=lambda t, k=k: report(k * steps + t))
            report((k + 1) * steps)
    return NetworkRace(data, runs, xs, ys, steps, batch_size, hidden, seed, time.perf_counter() - started,
                       settings={"n": n, "resolution": resolution})


def _run_one(opt_id, lr, initial, X, y, batches, seed, xs, ys, on_step) -> NetworkRun:
    clock = time.perf_counter()
    params, losses, diverged = train_one(opt_id, lr, initial, X, y, batches, seed, on_step=on_step)
    return NetworkRun(
        opt_id=opt_id,
        lr=lr,
        losses=losses,
        accuracy=float("nan") if diverged else accuracy(params, X, y),
        boundary=probabilities(params, xs, ys),
        wall_time=time.perf_counter() - clock,
        diverged=diverged,
    )


@contextlib.contextmanager
def single_thread():
    """Run torch on one intra-op thread inside the block. The tensors here are tiny (at most 500 x 32), so a
    second thread buys nothing, and on a shared 2-core machine its spin-waiting made races 3-10x slower
    (measured: 3.2 s on one thread against 15-30 s on two while other processes ran)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _progress_reporter(progress: Callable[[float], None] | None, total: int) -> Callable[[int], None]:
    """Call ``progress`` with the fraction done, at most about 50 times per race (a UI redraw is not free)."""
    if progress is None:
        return lambda done: None
    every = max(1, total // 50)
    last = [0]

    def report(done: int) -> None:
        # report each time another 1/50 is complete, and the very end exactly once
        if done // every > last[0] // every or (done == total and last[0] < total):
            last[0] = done
            progress(min(1.0, done / total))

    return report


# ---------------------------------------------------------------------------------------------------------------
# Comparing with the 2-D races
# ---------------------------------------------------------------------------------------------------------------
COMPARISON_LANDSCAPES = ("ravine", "rotated_ravine", "beale", "rosenbrock")


def planar_ranking(optimizers: Sequence[str], landscapes: Sequence[str] = COMPARISON_LANDSCAPES,
                   steps: int = 300) -> list[str]:
    """Optimizers ordered by their mean rank over races on built-in 2-D landscapes, each optimizer with the
    learning rate tuned for that landscape (``descent_core.tuned``), scored as the tuner scores them (mean
    log-loss gap over the race, see ``tuning.tuning_scores``)."""
    ranks = {opt: [] for opt in optimizers}
    for landscape in landscapes:
        result = race(landscape, list(optimizers), steps=steps, device="cpu")
        scores = np.array([tuning_scores(result, i)[0] for i in range(len(optimizers))])
        for rank, index in enumerate(np.argsort(scores, kind="stable")):
            ranks[optimizers[index]].append(rank)
    return sorted(optimizers, key=lambda opt: (float(np.mean(ranks[opt])), list(optimizers).index(opt)))


def rank_correlation(order_a: Sequence[str], order_b: Sequence[str]) -> float:
    """Spearman's rank correlation 1 - 6 sum d^2 / (n (n^2 - 1)) of two orderings of the same items:
    1 for the same order, -1 for reversed, near 0 for unrelated."""
    if sorted(order_a) != sorted(order_b):
        raise ValueError("Both orderings must hold the same items")
    n = len(order_a)
    if n < 2:
        return 1.0
    position = {item: i for i, item in enumerate(order_b)}
    d2 = sum((i - position[item]) ** 2 for i, item in enumerate(order_a))
    return 1.0 - 6.0 * d2 / (n * (n * n - 1))
