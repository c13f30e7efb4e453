"""Generated cards: numeric questions with fresh parameters, and "name the optimizer" pictures from real races.

Every numeric answer is computed by running descent_core's own steppers (float64, one run), never by restating
the closed form here; tests/test_quiz_generators.py checks each one against an independent closed form. That way a
card can never teach a number the engine disagrees with. Name-the-optimizer cards are declared in
content/decks/_name_races.yaml: each shows one optimizer's path from a race run with the settings written there,
and its explanation is checked against that path by the tests.
"""

from __future__ import annotations

import functools
import math
import pathlib
import random
from dataclasses import dataclass
from typing import Any, Callable

import torch
import yaml

import descent_core as dc
from descent_core import content

from .deck import DECK_DIR, Card, DeckError
from .question import Question

REL_TOL = 0.01
TOLERANCE_NOTE = "Answers within 1% count as correct."
DTYPE = torch.float64


@dataclass(frozen=True)
class Problem:
    """What a numeric generator returns: the prompt with its numbers, the exact value, the worked answer."""

    prompt: str
    value: float
    answer: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Generator:
    id: str
    kind: str  # "numeric" or "name"
    topic: str
    difficulty: int
    title: str  # shown in card lists: the prompt's gist without numbers
    make: Callable[[random.Random], Any]


GENERATORS: dict[str, Generator] = {}


def numeric(id: str, topic: str, difficulty: int, title: str):
    """Register a numeric generator: a function rng -> Problem."""

    def register(make: Callable[[random.Random], Problem]) -> Callable[[random.Random], Problem]:
        GENERATORS[id] = Generator(id, "numeric", topic, difficulty, title, make)
        return make

    return register


def generated_cards() -> list[Card]:
    return [
        Card(id=g.id, kind=g.kind, topic=g.topic, difficulty=g.difficulty, prompt=g.title, generator=g.id,
             source="generators.py")
        for g in GENERATORS.values()
    ]


def make_question(card: Card, rng: random.Random) -> Question:
    generator = GENERATORS[card.generator or card.id]
    if generator.kind == "name":
        return generator.make(rng)
    problem: Problem = generator.make(rng)
    return Question(
        card_id=card.id,
        kind="numeric",
        topic=generator.topic,
        difficulty=generator.difficulty,
        prompt=f"{problem.prompt}\n\n*{TOLERANCE_NOTE}*",
        answer=problem.answer,
        value=problem.value,
        rel_tol=REL_TOL,
        params=problem.params,
    )


# ----- running the engine ------------------------------------------------------------------------------------
def run(opt_id: str, theta0: list[float], grads: Callable[[torch.Tensor, int], torch.Tensor] | list[list[float]],
        steps: int | None = None, **hparams: Any) -> list[torch.Tensor]:
    """Run one descent_core stepper from theta0; returns theta after every step (theta0 first).

    `grads` is either a fixed list of gradients (one per step) or a function (theta, step) -> gradient,
    for gradients that depend on where the optimizer is.
    """
    stepper = dc.make_stepper(opt_id, **hparams)
    theta = torch.tensor([theta0], dtype=DTYPE)
    state = stepper.init(theta)
    n = len(grads) if isinstance(grads, list) else steps
    assert n is not None
    thetas = [theta]
    for k in range(n):
        g = torch.tensor([grads[k]], dtype=DTYPE) if isinstance(grads, list) else grads(theta, k)
        theta, state = stepper.update(theta, g, state)
        thetas.append(theta)
    return thetas


def _value(t: torch.Tensor, i: int = 0) -> float:
    return float(t[0, i])


def _fmt(x: float) -> str:
    return f"{x:.4g}"


# ----- numeric generators --------------------------------------------------------------------------------------
@numeric("gen-gd-stability-limit", "gd", 2, "Largest stable learning rate of GD on a given 2-D quadratic")
def gd_stability_limit(rng: random.Random) -> Problem:
    # A symmetric positive-definite Hessian with small integer entries, so it can be written in the prompt.
    while True:
        a, c, b = rng.randint(2, 12), rng.randint(2, 12), rng.randint(-4, 4)
        if a * c - b * b > 0 and b != 0:
            break
    hessian = torch.tensor([[a, b], [b, c]], dtype=DTYPE)
    # On a quadratic one GD step with lr = 1 is the linear map x -> (I - H) x. Reading that map off the stepper
    # (stepping from each basis vector) recovers H as the engine sees it; its top eigenvalue sets the limit.
    step_map = torch.stack([run("gd", e, lambda th, k: th @ hessian, steps=1, lr=1.0)[1][0]
                            for e in ([1.0, 0.0], [0.0, 1.0])], dim=1)
    lam_max = float(torch.linalg.eigvalsh(torch.eye(2, dtype=DTYPE) - step_map).max())
    value = 2.0 / lam_max
    return Problem(
        prompt=(f"Plain gradient descent runs on $f(x) = \\tfrac12 x^\\top H x$ with "
                f"$H = \\begin{{pmatrix}} {a} & {b} \\\\ {b} & {c} \\end{{pmatrix}}$. "
                "Above which learning rate does it diverge from almost every start?"),
        value=value,
        answer=(f"GD multiplies the error along each eigenvector of $H$ by $1 - \\eta\\lambda_i$, so it converges only "
                f"while $\\eta < 2/\\lambda_{{\\max}}$. Here $\\lambda_{{\\max}} = {_fmt(lam_max)}$, so the limit is "
                f"$\\eta = {_fmt(value)}$."),
        params={"H": [[a, b], [b, c]]},
    )


@numeric("gen-gd-iterate", "gd", 1, "Where GD is after k steps on a 1-D quadratic")
def gd_iterate(rng: random.Random) -> Problem:
    while True:  # skip lr * lambda == 1, where GD lands on the minimum in one step and the question is moot
        lam, lr = rng.choice([1, 2, 4, 5, 10]), rng.choice([0.05, 0.1, 0.15, 0.3])
        if not math.isclose(lam * lr, 1.0):
            break
    x0, k = float(rng.randint(1, 9)), rng.randint(3, 8)
    thetas = run("gd", [x0], lambda th, step: lam * th, steps=k, lr=lr)
    value = _value(thetas[-1])
    return Problem(
        prompt=(f"Gradient descent with learning rate $\\eta = {lr}$ starts at $x_0 = {x0:g}$ on "
                f"$f(x) = \\tfrac12 \\lambda x^2$ with $\\lambda = {lam}$. What is $x_{{{k}}}$?"),
        value=value,
        answer=(f"Each step multiplies $x$ by $1 - \\eta\\lambda = {_fmt(1 - lr * lam)}$, so "
                f"$x_{{{k}}} = {x0:g}\\,({_fmt(1 - lr * lam)})^{{{k}}} = {_fmt(value)}$."),
        params={"lambda": lam, "lr": lr, "x0": x0, "k": k},
    )


@numeric("gen-gd-best-rate", "gd", 3, "Per-step contraction of GD at its best fixed learning rate")
def gd_best_rate(rng: random.Random) -> Problem:
    l1, l2 = sorted(rng.sample([1, 2, 4, 5, 10, 20, 50, 100], 2))
    lr = 2.0 / (l1 + l2)
    # At this rate both eigen-directions shrink by the same factor, so one step from any point measures it.
    start = [1.0, 1.0]
    thetas = run("gd", start, lambda th, k: th * torch.tensor([l1, l2], dtype=DTYPE), steps=1, lr=lr)
    value = float(torch.linalg.vector_norm(thetas[1]) / torch.linalg.vector_norm(thetas[0]))
    return Problem(
        prompt=(f"Gradient descent runs on $f(x, y) = \\tfrac12({l1}x^2 + {l2}y^2)$ with the best fixed learning rate "
                f"$\\eta = 2/(\\lambda_{{\\min}} + \\lambda_{{\\max}}) = {_fmt(lr)}$. By what factor does the distance to "
                "the minimum shrink per step?"),
        value=value,
        answer=(f"Both directions are multiplied by $\\pm(\\kappa - 1)/(\\kappa + 1)$ with $\\kappa = {l2}/{l1}$, "
                f"so the factor is ${_fmt(value)}$: the closer $\\kappa$ is to 1, the faster GD converges."),
        params={"l1": l1, "l2": l2},
    )


@numeric("gen-momentum-effective-lr", "momentum", 1, "Momentum's effective learning rate on a constant gradient")
def momentum_effective_lr(rng: random.Random) -> Problem:
    lr, mu = rng.choice([0.001, 0.01, 0.02, 0.05, 0.1]), rng.choice([0.5, 0.8, 0.9, 0.95, 0.99])
    # Run long enough for mu^t to vanish, then read the settled step length per unit gradient.
    steps = math.ceil(math.log(1e-12) / math.log(mu)) + 1
    thetas = run("momentum", [0.0], [[1.0]] * steps, lr=lr, momentum=mu)
    value = _value(thetas[-2]) - _value(thetas[-1])
    return Problem(
        prompt=(f"SGD with heavy-ball momentum (PyTorch form, $\\mu = {mu}$, $\\eta = {lr}$) sees the same gradient "
                "$g = 1$ at every step. What step length does it settle into? (That is its effective learning rate.)"),
        value=value,
        answer=(f"The buffer approaches $g/(1 - \\mu)$, so steps approach $\\eta/(1-\\mu) = {_fmt(value)}$: "
                f"{_fmt(1 / (1 - mu))} times plain SGD's."),
        params={"lr": lr, "momentum": mu},
    )


@numeric("gen-momentum-buffer-warmup", "momentum", 2, "How far momentum's step has grown after t steps")
def momentum_buffer_warmup(rng: random.Random) -> Problem:
    mu, t = rng.choice([0.5, 0.8, 0.9, 0.95]), rng.randint(2, 12)
    lr = 0.1
    thetas = run("momentum", [0.0], [[1.0]] * t, lr=lr, momentum=mu)
    value = (_value(thetas[-2]) - _value(thetas[-1])) / lr
    return Problem(
        prompt=(f"PyTorch SGD with momentum $\\mu = {mu}$ (buffer $b_1 = g$, then $b_t = \\mu b_{{t-1}} + g$) sees a "
                f"constant gradient. Step $t = {t}$ is how many times as long as step 1?"),
        value=value,
        answer=(f"$b_t = g(1 + \\mu + \\dots + \\mu^{{t-1}}) = g\\,(1 - \\mu^t)/(1 - \\mu)$, so the ratio is "
                f"${_fmt(value)}$; the limit is $1/(1-\\mu) = {_fmt(1 / (1 - mu))}$."),
        params={"momentum": mu, "t": t},
    )


@numeric("gen-adagrad-step", "adagrad", 2, "AdaGrad's t-th step on a constant gradient")
def adagrad_step(rng: random.Random) -> Problem:
    lr, g, t = rng.choice([0.1, 0.5, 1.0]), rng.choice([0.2, 3.0, 40.0]), rng.choice([4, 9, 16, 25, 100])
    thetas = run("adagrad", [0.0], [[g]] * t, lr=lr)
    value = _value(thetas[-2]) - _value(thetas[-1])
    return Problem(
        prompt=(f"AdaGrad ($\\eta = {lr}$, PyTorch defaults otherwise) sees the constant gradient $g = {g}$. "
                f"How long is its step number {t}?"),
        value=value,
        answer=(f"After $t$ steps the accumulator is $t g^2$, so step $t$ is $\\eta g/\\sqrt{{t g^2}} = \\eta/\\sqrt t "
                f"= {_fmt(value)}$, whatever $g$ is: the rate decays like $1/\\sqrt t$."),
        params={"lr": lr, "g": g, "t": t},
    )


@numeric("gen-rmsprop-first-step", "rmsprop", 2, "The length of RMSProp's first step")
def rmsprop_first_step(rng: random.Random) -> Problem:
    lr, alpha, g = rng.choice([0.001, 0.01, 0.1]), rng.choice([0.9, 0.99, 0.999]), rng.choice([0.5, 2.0, 7.0])
    thetas = run("rmsprop", [0.0], [[g]], lr=lr, alpha=alpha)
    value = _value(thetas[0]) - _value(thetas[1])
    return Problem(
        prompt=(f"PyTorch's RMSprop ($\\eta = {lr}$, $\\alpha = {alpha}$, no momentum) takes its first step on "
                f"gradient $g = {g}$. How long is that step?"),
        value=value,
        answer=(f"$v_1 = (1-\\alpha) g^2$ and there is no bias correction, so the step is "
                f"$\\eta/\\sqrt{{1-\\alpha}} = {_fmt(value)}$: {_fmt(1 / math.sqrt(1 - alpha))} times $\\eta$."),
        params={"lr": lr, "alpha": alpha, "g": g},
    )


@numeric("gen-adam-bias-corrected-m", "adam", 3, "Adam's bias-corrected first moment after a few steps")
def adam_bias_corrected_m(rng: random.Random) -> Problem:
    b1 = rng.choice([0.5, 0.8, 0.9])
    grads = [float(rng.choice([-2, -1, 1, 2, 3, 4])) for _ in range(rng.randint(2, 4))]
    # Read m-hat out of Adam's own step: with eps huge, sqrt(v-hat) + eps is eps to 1e-11 relative error,
    # and with lr = eps the step is exactly -m-hat. The engine's debiasing is what gets measured.
    big = 1e12
    thetas = run("adam", [0.0], [[g] for g in grads], lr=big, eps=big, betas=(b1, 0.999))
    value = _value(thetas[-2]) - _value(thetas[-1])
    t = len(grads)
    shown = ", ".join(f"g_{i} = {g:g}" for i, g in enumerate(grads, start=1))
    return Problem(
        prompt=(f"Adam with $\\beta_1 = {b1}$ sees the gradients ${shown}$ on one parameter, starting from $m_0 = 0$. "
                f"What is the bias-corrected first moment $\\hat m_{t}$?"),
        value=value,
        answer=(f"Starting from $m_0 = 0$, each step mixes in the new gradient, $m_t = (1-\\beta_1) g_t + \\beta_1 m_{{t-1}}$; then $\\hat m_{t} = m_{t}/(1-\\beta_1^{t}) "
                f"= {_fmt(value)}$."),
        params={"beta1": b1, "grads": grads},
    )


@numeric("gen-adamw-shrink-per-step", "adamw", 1, "The factor AdamW multiplies weights by each step")
def adamw_shrink_per_step(rng: random.Random) -> Problem:
    lr, wd = rng.choice([1e-3, 3e-4, 0.01, 0.05]), rng.choice([0.01, 0.05, 0.1, 0.5])
    # A zero gradient leaves Adam's part of the step at exactly 0, isolating the decoupled decay.
    thetas = run("adamw", [1.0], [[0.0]], lr=lr, weight_decay=wd)
    value = _value(thetas[1])
    return Problem(
        prompt=(f"AdamW runs with $\\eta = {lr:g}$ and weight decay $\\lambda = {wd:g}$. Apart from the gradient step, "
                "each update multiplies every weight by a fixed factor. What is it?"),
        value=value,
        answer=(f"Decoupled decay does $\\theta \\leftarrow \\theta(1 - \\eta\\lambda)$, a factor of ${_fmt(value)}$, "
                "independent of the gradient history (unlike L2 inside Adam, which $\\sqrt{\\hat v}$ rescales)."),
        params={"lr": lr, "weight_decay": wd},
    )


@numeric("gen-adamw-shrink-after-k", "adamw", 2, "How much of a weight AdamW's decay leaves after k steps")
def adamw_shrink_after_k(rng: random.Random) -> Problem:
    lr, wd, k = rng.choice([1e-3, 3e-4, 1e-2]), rng.choice([0.01, 0.1, 0.5]), rng.choice([100, 500, 1000, 5000])
    thetas = run("adamw", [1.0], [[0.0]] * k, lr=lr, weight_decay=wd)
    value = _value(thetas[-1])
    return Problem(
        prompt=(f"A weight gets zero gradient for {k} AdamW steps ($\\eta = {lr:g}$, $\\lambda = {wd:g}$). "
                "What fraction of its starting value is left?"),
        value=value,
        answer=(f"Each step multiplies it by $1 - \\eta\\lambda$, so $(1 - {_fmt(lr * wd)})^{{{k}}} = {_fmt(value)}$ "
                f"$\\approx e^{{-\\eta\\lambda k}} = {_fmt(math.exp(-lr * wd * k))}$."),
        params={"lr": lr, "weight_decay": wd, "k": k},
    )


# ----- name the optimizer ------------------------------------------------------------------------------------
NAME_RACES_FILE = DECK_DIR / "_name_races.yaml"
N_OPTIONS = 4
NAME_DIFFICULTY = 2


@dataclass(frozen=True)
class NameRace:
    id: str
    landscape: str
    steps: int
    landmark: tuple[float, float]  # the point the tells speak of: a minimum, or (on the saddle) the saddle point
    hparams: dict[str, dict[str, float]]
    landmark_name: str = "minimum"  # what the picture labels the landmark


@dataclass(frozen=True)
class NameCard:
    race: str
    optimizer: str
    tell: str
    claims: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"gen-name-{self.race.replace('_', '-')}-{self.optimizer}"


def load_name_races(path: pathlib.Path = NAME_RACES_FILE) -> tuple[dict[str, NameRace], list[NameCard]]:
    """The races and cards of the name-the-optimizer file, checked against the engine's ids."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    problems: list[str] = []
    races = {}
    for race_id, spec in doc.get("races", {}).items():
        if spec.get("landscape") not in dc.LANDSCAPES:
            problems.append(f"race {race_id}: unknown landscape {spec.get('landscape')!r}")
            continue
        unknown = [o for o in spec.get("optimizers", {}) if o not in dc.OPTIMIZERS]
        if unknown or len(spec.get("optimizers", {})) < N_OPTIONS:
            problems.append(f"race {race_id}: needs at least {N_OPTIONS} known optimizers (unknown: {unknown})")
            continue
        race = NameRace(race_id, spec["landscape"], int(spec["steps"]), tuple(spec["landmark"]),
                        {o: dict(h) for o, h in spec["optimizers"].items()}, str(spec.get("landmark_name", "minimum")))
        minima = [tuple(m) for m in dc.LANDSCAPES[race.landscape].minima]
        if (race.landmark_name == "minimum") != any(math.dist(race.landmark, m) < 1e-9 for m in minima):
            problems.append(f"race {race_id}: its landmark is called {race.landmark_name!r}, but the surface's minima "
                            f"are {minima or 'none'}")
        races[race_id] = race
    cards = []
    for item in doc.get("cards", []):
        race = races.get(item.get("race"))
        if race is None or item.get("optimizer") not in race.hparams or not str(item.get("tell", "")).strip():
            problems.append(f"name card {item!r}: needs a known race, one of its optimizers and a tell")
            continue
        tell = content.unquote(" ".join(item["tell"].split()))
        claims = tuple(item.get("claims", ()))
        if not dc.LANDSCAPES[race.landscape].minima and "minimum" in tell.replace("no minimum", ""):
            problems.append(f"name card {race.id}/{item['optimizer']}: speaks of a minimum on a surface that has none")
        unknown_claims = [c for c in claims if c not in CLAIMS]
        if not claims or unknown_claims:
            problems.append(f"name card {race.id}/{item['optimizer']}: needs claims from {sorted(CLAIMS)} "
                            f"(unknown: {unknown_claims})")
        cards.append(NameCard(item["race"], item["optimizer"], tell, claims))
    if problems:
        raise DeckError(problems)
    return races, cards


@functools.lru_cache(maxsize=1)
def name_races() -> tuple[dict[str, NameRace], dict[str, NameCard]]:
    races, cards = load_name_races()
    return races, {c.id: c for c in cards}


# ----- what a tell may claim about its picture ------------------------------------------------------------------
# Each claim is a property measured on the very path a card draws (float64, the race of its spec). Lengths are in
# units of the frame's diagonal D, so one threshold serves every surface. A tell's `claims` list names the facts it
# states; tests/test_quiz_generators.py checks that each holds on its card's path and fails on some other path.
NEAR = 0.05  # "at the landmark": within 5% of the frame's diagonal
FAR = 0.10  # "away from it"


@dataclass(frozen=True)
class PathFacts:
    """The measurements the claims read, for one optimizer's path in one race."""

    path: Any  # (steps + 1, 2) float64 array
    landmark: Any  # (2,)
    diameter: float
    bounds: tuple[tuple[float, float], tuple[float, float]]
    lr: float | None

    @property
    def steps(self) -> Any:
        return self.path[1:] - self.path[:-1]

    @property
    def lengths(self) -> Any:
        import numpy as np

        return np.linalg.norm(self.steps, axis=-1)

    def distance(self, i: Any = slice(None)) -> Any:
        import numpy as np

        return np.linalg.norm(self.path[i] - self.landmark, axis=-1) / self.diameter

    def reversals(self) -> float:
        """Share of consecutive moving steps that turn by more than 90 degrees."""
        import numpy as np

        moving = self.lengths > 1e-9 * self.diameter
        steps = self.steps[moving]
        if len(steps) < 2:
            return 0.0
        dots = (steps[1:] * steps[:-1]).sum(-1)
        return float(np.mean(dots < 0))


def _sign_steps(f: PathFacts) -> bool:
    import numpy as np

    if f.lr is None:
        return False
    sizes = np.abs(f.steps)
    return bool(np.all(np.isclose(sizes, f.lr, rtol=1e-6) | (sizes < 1e-12)))


def _overshoots(f: PathFacts) -> bool:
    """Having come near the landmark, the path crosses to its far side (seen from the start)."""
    import numpy as np

    near = np.flatnonzero(f.distance() < FAR)
    if not len(near):
        return False
    towards = f.landmark - f.path[0]
    beyond = ((f.path[near[0]:] - f.landmark) @ towards) / (np.linalg.norm(towards) * f.diameter)
    return bool(beyond.max() > 0.01)


def _sideways_flips(f: PathFacts) -> int:
    """How often the step's sideways part (across the line from start to end) changes sign: the bounces."""
    import numpy as np

    chord = f.path[-1] - f.path[0]
    across = np.array([-chord[1], chord[0]]) / max(float(np.linalg.norm(chord)), 1e-300)
    side = f.steps @ across
    side = side[np.abs(side) > 1e-3 * f.diameter]
    return int((side[1:] * side[:-1] < 0).sum())


def _inside(f: PathFacts) -> Any:
    (x0, x1), (y0, y1) = f.bounds
    return (f.path[:, 0] >= x0) & (f.path[:, 0] <= x1) & (f.path[:, 1] >= y0) & (f.path[:, 1] <= y1)


CLAIMS: dict[str, tuple[str, Callable[[PathFacts], bool]]] = {
    "reaches_landmark": ("ends within 5% of the frame's diagonal of the landmark", lambda f: f.distance(-1) < NEAR),
    "reaches_landmark_exactly": ("ends on the landmark to 1e-6 of the diagonal", lambda f: f.distance(-1) < 1e-6),
    "stops_short": ("ends more than 5% of the diagonal from the landmark", lambda f: f.distance(-1) > NEAR),
    "visits_landmark": ("comes within 5% of the diagonal of the landmark", lambda f: f.distance().min() < NEAR),
    "avoids_landmark": ("never comes within 10% of the diagonal of the landmark", lambda f: f.distance().min() > FAR),
    "lingers": ("spends at least 20 steps within 10% of the diagonal of the landmark",
                lambda f: int((f.distance() < FAR).sum()) >= 20),
    "escapes": ("ends at least 25% of the diagonal from the landmark, having come from nearer it",
                lambda f: f.distance(-1) > 0.25 and f.distance(-1) > f.distance(0)),
    "overshoots_landmark": ("having come within 10% of the diagonal of the landmark, crosses to its far side",
                            _overshoots),
    "zigzag": ("bounces: its sideways motion changes direction at least 10 times", lambda f: _sideways_flips(f) >= 10),
    "smooth": ("turns back on at most 5% of its steps", lambda f: f.reversals() <= 0.05),
    "shrinking_steps": ("every step after the second is no longer than the one before, the last under half the second",
                        lambda f: bool((f.lengths[2:] <= f.lengths[1:-1] * (1 + 1e-9)).all())
                        and float(f.lengths[-1]) < 0.5 * float(f.lengths[1])),
    "settles_on_landmark": ("ends within 1% of the diagonal of the landmark", lambda f: f.distance(-1) < 0.01),
    "detours": ("first moves further from the landmark than it started, by 2% of the diagonal, before closing in",
                lambda f: float(f.distance().max()) > f.distance(0) + 0.02 and f.distance(-1) < f.distance(0)),
    "sign_steps": ("moves each coordinate by exactly the learning rate (or not at all) every step", _sign_steps),
    "keeps_hopping": ("its last 10 steps are still at least half as long as its typical step",
                      lambda f: float(f.lengths[-10:].mean()) >= 0.5 * float(sorted(f.lengths)[len(f.lengths) // 2])),
    "first_step_large": ("one of its first two steps is at least 5 times its typical step",
                         lambda f: float(f.lengths[:2].max()) >= 5 * float(sorted(f.lengths)[len(f.lengths) // 2])),
    "barely_moves": ("ends within 5% of the diagonal of where it started",
                     lambda f: float(((f.path[-1] - f.path[0]) ** 2).sum() ** 0.5) / f.diameter < NEAR),
    "leaves_frame": ("leaves the drawn frame at some step", lambda f: not bool(_inside(f).all())),
}


def path_facts(race_id: str, optimizer: str) -> PathFacts:
    """The measurements behind the claims, for one optimizer's path in a name race."""
    import numpy as np

    spec = name_races()[0][race_id]
    race = name_race(race_id)
    surface = dc.LANDSCAPES[spec.landscape]
    (x0, x1), (y0, y1) = surface.bounds
    lr = spec.hparams[optimizer].get("lr")
    return PathFacts(np.asarray(race.paths[race.optimizers.index(optimizer), 0], dtype=float),
                     np.asarray(spec.landmark, dtype=float), math.hypot(x1 - x0, y1 - y0), surface.bounds,
                     None if lr is None else float(lr))


def claim_holds(claim: str, race_id: str, optimizer: str) -> bool:
    return bool(CLAIMS[claim][1](path_facts(race_id, optimizer)))


@functools.lru_cache(maxsize=None)
def name_race(race_id: str) -> Any:
    """The race behind a set of name-the-optimizer cards (deterministic, so computed once per process)."""
    spec = name_races()[0][race_id]
    return dc.race(spec.landscape, list(spec.hparams), steps=spec.steps, hparams=spec.hparams, seed=0,
                   dtype=DTYPE, device="cpu")


@functools.lru_cache(maxsize=None)
def surface_grid(landscape_id: str, resolution: int = 40) -> dict[str, list]:
    """Loss on a coarse grid: background for the picture, small enough to send every time."""
    xs, ys, loss = dc.LANDSCAPES[landscape_id].grid(resolution)
    return {"x": xs.tolist(), "y": ys.tolist(), "loss": loss.tolist()}


def name_topic(optimizer: str) -> str:
    """The section that teaches an optimizer (the newer ones all live in the frontier section)."""
    return optimizer if optimizer in content.sections() else "frontier"


def _make_name_question(card_id: str, rng: random.Random) -> Question:
    card = name_races()[1][card_id]
    spec = name_races()[0][card.race]
    race = name_race(card.race)
    distractors = rng.sample([o for o in race.optimizers if o != card.optimizer], N_OPTIONS - 1)
    choices = distractors + [card.optimizer]
    rng.shuffle(choices)
    path = race.paths[race.optimizers.index(card.optimizer), 0]
    surface = dc.LANDSCAPES[spec.landscape]
    settings = ", ".join(f"{k} = {v:g}" for k, v in spec.hparams[card.optimizer].items())
    return Question(
        card_id=card_id,
        kind="name",
        topic=name_topic(card.optimizer),
        difficulty=NAME_DIFFICULTY,
        prompt=(f"This trajectory ran {race.steps} steps on the **{surface.name}** landscape from the marked start. "
                "Which optimizer made it?"),
        answer=f"**{dc.OPTIMIZERS[card.optimizer].name}** ({settings}). {card.tell}",
        options=tuple(dc.OPTIMIZERS[o].name for o in choices),
        correct=choices.index(card.optimizer),
        picture={
            "landscape": spec.landscape,
            "path": path.tolist(),
            "bounds": surface.bounds,
            "landmark": list(spec.landmark),
            "landmark_name": spec.landmark_name,  # "minimum", or "saddle point" where there is no minimum
            "grid": surface_grid(spec.landscape),
            "log_scale": surface.log_scale,
        },
        params={"optimizer": card.optimizer, "choices": choices, "race": card.race},
    )


def _register_name_generators() -> None:
    for card_id, card in name_races()[1].items():
        surface = dc.LANDSCAPES[name_races()[0][card.race].landscape]
        title = f"Name the optimizer from its trajectory on {surface.name}"
        GENERATORS[card_id] = Generator(card_id, "name", name_topic(card.optimizer), NAME_DIFFICULTY, title,
                                        functools.partial(_make_name_question, card_id))


_register_name_generators()
# The races the name-the-optimizer cards are drawn from, by race id (specs in content/decks/_name_races.yaml).
NAME_RACES: dict[str, NameRace] = name_races()[0]
