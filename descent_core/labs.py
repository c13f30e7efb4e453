"""Live labs: every number the guide quotes, re-measured by a small experiment that anyone can re-run.

A ``Lab`` couples one claim of a section with the experiment that checks it:

    from descent_core.labs import LABS
    result = LABS["stability_map"].run(lam_max=50.0)
    result.passed, result.verdict          # True, "GD's largest stable step ... lands on 2/λmax = 0.04 ..."
    result.frames["final_loss"]            # long tables, one per chart, described by result.plots

Each lab declares bounded parameters (``Param`` / ``Choice``) that a UI turns into widgets; ``Lab.run`` rejects
anything outside those bounds with ``ValueError``. Nothing here is a stored answer: the experiment runs, the
``measured`` numbers come out of it, the ``expected`` ones come from the formula the prose states, and ``passed`` is
the same comparison the tests assert. The experiments reuse the engine (``race``, ``make_stepper`` and the
named pieces of ``transforms``); the two variants torch does not offer (Adam without bias correction, ε inside the
square root) are built below from those same pieces. No Streamlit here.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from . import transforms as tf
from .landscapes import Landscape, quadratic
from .optimizers import OPTIMIZERS, descend, make_stepper
from .race import clip_by_global_norm, race
from .schedules import Schedule

F64 = torch.float64
DEVICE = "cpu"  # labs step a handful of points: launch latency dominates, and the CPU has float64 everywhere

# --------------------------------------------------------------------------------------------------------------
# What a lab declares and what it returns.


@dataclass(frozen=True)
class Param:
    """A bounded numeric knob. ``log`` asks the UI for a log-spaced slider; ``integer`` for whole numbers."""

    name: str
    label: str
    min: float
    max: float
    default: float
    step: float | None = None
    log: bool = False
    integer: bool = False
    help: str = ""

    def validate(self, value: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"{self.label} ({self.name}) must be a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number) or not self.min <= number <= self.max:
            raise ValueError(f"{self.label} ({self.name}) must be in [{self.min:g}, {self.max:g}], got {value!r}")
        if self.integer:
            if number != round(number):
                raise ValueError(f"{self.label} ({self.name}) must be a whole number, got {value!r}")
            return int(round(number))
        return number

    def options(self, per_decade: int = 12) -> list[float]:
        """The values a log slider offers: a geometric grid over [min, max] that always contains the default."""
        count = max(2, int(round(math.log10(self.max / self.min) * per_decade)) + 1)
        grid = {float(f"{v:.3g}") for v in np.geomspace(self.min, self.max, count)}
        grid = {v for v in grid if self.min <= v <= self.max} | {self.default}
        return sorted(grid)


@dataclass(frozen=True)
class Choice:
    """A pick from fixed options; ``multi`` allows several (returned as a tuple in the options' order)."""

    name: str
    label: str
    options: tuple[str, ...]
    default: str | tuple[str, ...]
    multi: bool = False
    help: str = ""

    def validate(self, value: Any) -> str | tuple[str, ...]:
        if not self.multi:
            if value not in self.options:
                raise ValueError(f"{self.label} ({self.name}) must be one of {list(self.options)}, got {value!r}")
            return value
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{self.label} ({self.name}) must be a list of option names, got {value!r}")
        unknown = [v for v in value if v not in self.options]
        if unknown or not value:
            raise ValueError(f"{self.label} ({self.name}) must be a non-empty subset of {list(self.options)}, "
                             f"got {list(value)!r}")
        return tuple(o for o in self.options if o in value)


Spec = Param | Choice


@dataclass(frozen=True)
class RefLine:
    """A reference line on a chart: ``axis`` "x" draws a vertical rule at ``value``, "y" a horizontal one."""

    axis: str
    value: float
    label: str


@dataclass(frozen=True)
class Plot:
    """How to draw one frame. ``dash`` names a column whose rows marked "theory" are drawn dashed; ``colors``
    maps series labels to optimizer ids so every chart uses the app's optimizer colours."""

    frame: str
    x: str
    y: str
    color: str | None = None
    title: str = ""
    x_title: str | None = None
    y_title: str | None = None
    x_log: bool = False
    y_log: bool = False
    mark: str = "line"  # "line", "point", "line_point" or "bar"
    dash: str | None = None
    refs: tuple[RefLine, ...] = ()
    colors: tuple[tuple[str, str], ...] = ()


@dataclass
class LabResult:
    passed: bool
    measured: dict[str, float]
    expected: dict[str, float]
    verdict: str
    frames: dict[str, pd.DataFrame]
    plots: tuple[Plot, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)  # what ran besides the parameters, disclosed
    params: dict[str, Any] = field(default_factory=dict)  # the validated parameters used
    runtime_s: float = 0.0


@dataclass(frozen=True)
class Lab:
    id: str
    title: str
    section: str  # section id (content front matter)
    claim: str  # one sentence: what the figure demonstrates
    params: tuple[Spec, ...]
    experiment: Callable[..., LabResult]
    heavy: bool = False  # the UI puts heavy labs behind an explicit Run button

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def spec(self, name: str) -> Spec:
        for p in self.params:
            if p.name == name:
                return p
        raise ValueError(f"Lab {self.id!r} has no parameter {name!r}; valid: {[p.name for p in self.params]}")

    def resolve(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overridden by ``params``, each value checked against its bounds."""
        given = dict(params or {})
        for name in given:
            self.spec(name)
        return {p.name: p.validate(given.get(p.name, p.default)) for p in self.params}

    def run(self, **params: Any) -> LabResult:
        resolved = self.resolve(params)
        start = time.perf_counter()
        with torch.inference_mode():
            result = self.experiment(**resolved)
        return dataclasses.replace(result, params=resolved, runtime_s=time.perf_counter() - start,
                                   measured={k: float(v) for k, v in result.measured.items()},
                                   expected={k: float(v) for k, v in result.expected.items()})

    def key(self, params: Mapping[str, Any] | None = None) -> str:
        """A canonical JSON string of the resolved parameters (a cache key)."""
        return json.dumps(self.resolve(params), sort_keys=True)


# --------------------------------------------------------------------------------------------------------------
# Small shared helpers.


def fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "never" if x == math.inf else str(x)
    return f"{x:.4g}"


def close(measured: float, expected: float, rel: float = 0.0, abs_: float = 0.0) -> bool:
    return abs(measured - expected) <= max(rel * abs(expected), abs_)


def quadratic_landscape(l1: float, l2: float, start=(1.0, 1.0), angle: float = 0.0) -> Landscape:
    loss, grad, hess = quadratic(l1, l2, angle)
    return Landscape("lab_quadratic", f"quadratic λ = ({l1:g}, {l2:g})", loss, tuple(start), ((-2.0, 2.0), (-2.0, 2.0)),
                     ((0.0, 0.0),), gradient=grad, hessian_diagonal=hess)


def log_indices(n: int, count: int = 400) -> np.ndarray:
    """About ``count`` indices in [0, n), dense at the start and sparse later (for log-time charts)."""
    if n <= count:
        return np.arange(n)
    return np.unique(np.concatenate([np.arange(min(n, 50)), np.geomspace(1, n - 1, count).astype(int)]))


def loglog_slope(t: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of log y against log t."""
    return float(np.polyfit(np.log(t), np.log(y), 1)[0])


class TransformStepper:
    """A stepper for a transform the registry does not hold (the two Adam variants below): same init/update."""

    def __init__(self, transform: tf.Transform, lr: float):
        self.transform, self.lr = transform, lr

    def init(self, theta: Tensor):
        return 0, self.transform.init(theta)

    def update(self, theta: Tensor, grad: Tensor, state, lr_scale: float = 1.0):
        t, slots = state
        lr = self.lr * lr_scale
        direction, slots = self.transform.update(grad, slots, tf.Context(t + 1, theta, lr, None))
        return descend(theta, direction, lr), (t + 1, slots)


def step_lengths(stepper, theta: Tensor, gradient: Callable[[int, Tensor], Tensor], steps: int) -> np.ndarray:
    """|Δθ| per coordinate for ``steps`` updates: (steps, B, *shape)."""
    state = stepper.init(theta)
    out = []
    for t in range(1, steps + 1):
        new, state = stepper.update(theta, gradient(t, theta), state)
        out.append((new - theta).abs())
        theta = new
    return torch.stack(out).numpy()


# --------------------------------------------------------------------------------------------------------------
# Two Adam variants that torch does not offer, built from the same named pieces as ``scale_by_adam``.


def scale_by_adam_without_bias_correction(b1: float, b2: float, eps: float) -> tf.Transform:
    """Adam with the two debias lines removed: d = m / (sqrt(v) + eps), both moments started at zero."""

    def update(g: Tensor, state: tf.Moments, ctx: tf.Context):
        m, v = tf.ema(state.m, g, b1), tf.ema(state.v, g * g, b2)
        return m / (v.sqrt() + eps), tf.Moments(m, v, None)

    return tf.Transform(lambda theta: tf.Moments(torch.zeros_like(theta), torch.zeros_like(theta), None), update)


def scale_by_adam_eps_inside_root(b1: float, b2: float, eps: float) -> tf.Transform:
    """Adam with ε moved under the square root: d = m_hat / sqrt(v_hat + eps) (torch uses sqrt(v_hat) + eps)."""

    def update(g: Tensor, state: tf.Moments, ctx: tf.Context):
        m, v = tf.ema(state.m, g, b1), tf.ema(state.v, g * g, b2)
        m_hat, v_hat = tf.debias(m, b1, ctx.t), tf.debias(v, b2, ctx.t)
        return m_hat / (v_hat + eps).sqrt(), tf.Moments(m, v, None)

    return tf.Transform(lambda theta: tf.Moments(torch.zeros_like(theta), torch.zeros_like(theta), None), update)


# --------------------------------------------------------------------------------------------------------------
# 1. stability_map


STABILITY_DEFAULT_SET = ("gd", "momentum", "nesterov", "rmsprop", "adam")


def stability_map(lam_max: float, edge_factor: float, optimizers: tuple[str, ...], grid_points: int,
                  steps: int) -> LabResult:
    """Final loss after ``steps`` updates over a log grid of learning rates: one batched race, one sweep each."""
    ids = tuple(dict.fromkeys(("gd",) + optimizers))  # GD always runs: the verdict is about its edge
    grid = np.geomspace(1e-4, 10.0, grid_points)
    surface = quadratic_landscape(1.0, lam_max)
    hparams = {opt: {"lr": grid, **({"weight_decay": 0.0} if "weight_decay" in OPTIMIZERS[opt].defaults else {})}
               for opt in ids}
    result = race(surface, list(ids), steps=steps, hparams=hparams, dtype=F64, device=DEVICE)
    start_loss = result.losses[0, 0, 0]
    final, middle = result.losses[..., -1], result.losses[..., steps // 2]
    stable = (result.diverged_at < 0) & (final < start_loss) & (final <= middle)
    edges = {opt: _edge(grid, stable[i]) for i, opt in enumerate(ids)}

    predicted, theory = edge_factor / lam_max, 2.0 / lam_max
    gd_edge, gd_next = edges["gd"]
    passed = gd_edge <= predicted * (1 + 1e-9) and predicted < gd_next
    measured = {"GD largest stable lr": gd_edge, "GD smallest unstable lr": gd_next,
                "grid ratio": float(grid[1] / grid[0])}
    expected = {"predicted edge c/λmax": predicted, "2/λmax": theory}
    refs = [RefLine("x", theory, "2/λmax")]
    if "momentum" in ids:
        mu = OPTIMIZERS["momentum"].defaults["momentum"]
        measured["momentum largest stable lr"] = edges["momentum"][0]
        expected["momentum edge (2+2μ)/λmax"] = (2 + 2 * mu) / lam_max
        refs.append(RefLine("x", (2 + 2 * mu) / lam_max, "(2+2μ)/λmax"))
    if not math.isclose(predicted, theory):
        refs.append(RefLine("x", predicted, f"your c/λmax (c = {edge_factor:g})"))

    rows = []
    for i, opt in enumerate(ids):
        relative = np.clip(final[i] / start_loss, 1e-30, 1e12)
        rows.append(pd.DataFrame({"optimizer": OPTIMIZERS[opt].name, "lr": grid, "final loss / start loss": relative,
                                  "stable": stable[i]}))
    if math.isinf(gd_next):
        verdict = (f"Every learning rate up to {fmt(gd_edge)} stayed stable, so GD's edge is beyond the grid; the "
                   f"predicted edge is c/λmax = {fmt(predicted)}.")
    else:
        verdict = (f"GD's largest stable learning rate on the grid is {fmt(gd_edge)} and the next grid point, "
                   f"{fmt(gd_next)}, diverges; the predicted edge c/λmax = {fmt(predicted)} "
                   + ("falls between them, within one grid step." if passed else "does not fall between them."))
    return LabResult(
        passed, measured, expected, verdict, {"final_loss": pd.concat(rows, ignore_index=True)},
        (Plot("final_loss", "lr", "final loss / start loss", "optimizer", "Final loss over a learning-rate sweep",
              "learning rate η", x_log=True, y_log=True, mark="line_point", refs=tuple(refs),
              colors=tuple((OPTIMIZERS[o].name, o) for o in ids)),),
        {"surface": "f = ½(x² + λmax·y²), start (1, 1)", "learning-rate grid": f"{grid_points} points, 1e-4 to 10",
         "steps": steps, "stable means": "finite, below the start loss and not rising over the second half",
         "weight decay": "0 for every optimizer", "other hyperparameters": "each optimizer's defaults"},
    )


def _edge(grid: np.ndarray, stable: np.ndarray) -> tuple[float, float]:
    """(largest lr below the first unstable one, that first unstable lr); inf when the whole grid is stable."""
    unstable = np.flatnonzero(~stable)
    if unstable.size == 0:
        return float(grid[-1]), math.inf
    first = unstable[0]
    return (float(grid[first - 1]) if first > 0 else 0.0), float(grid[first])


# --------------------------------------------------------------------------------------------------------------
# 2. convergence_rates


CONVERGENCE_KAPPAS = (2.0, 5.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0)


def convergence_rates(kappa: float, steps: int) -> LabResult:
    """GD at 2/(l1+l2) and heavy ball at its optimal (lr, mu) on f = ½(x² + κy²), every κ in one batch."""
    kappas = np.array(sorted(set(CONVERGENCE_KAPPAS) | {kappa}))
    root = np.sqrt(kappas)
    eig = torch.tensor(np.stack([np.ones_like(kappas), kappas], axis=1), dtype=F64)  # per-run Hessian diagonal
    runs = {
        "GD": make_stepper("gd", lr=2.0 / (1.0 + kappas)),
        "heavy ball": make_stepper("momentum", lr=(2.0 / (1.0 + root)) ** 2, momentum=((root - 1) / (root + 1)) ** 2),
    }
    theory = {"GD": (kappas - 1) / (kappas + 1), "heavy ball": (root - 1) / (root + 1)}
    errors, rates = {}, {}
    for name, stepper in runs.items():
        theta = torch.ones(len(kappas), 2, dtype=F64)
        state, norms = stepper.init(theta), [theta.norm(dim=1)]
        for _ in range(steps):
            theta, state = stepper.update(theta, eig * theta, state)
            norms.append(theta.norm(dim=1))
        errors[name] = torch.stack(norms, 1).numpy()  # (runs, steps + 1)
        rates[name] = np.array([_contraction(e) for e in errors[name]])

    tolerance = {"GD": 1e-6, "heavy ball": 5e-3}
    within = {name: np.abs(rates[name] - theory[name]) <= tolerance[name] for name in runs}
    passed = all(w.all() for w in within.values())
    chosen = int(np.flatnonzero(kappas == kappa)[0])
    measured = {f"{name} rate at κ = {kappa:g}": float(rates[name][chosen]) for name in runs}
    measured["largest |measured − theory|, GD"] = float(np.abs(rates["GD"] - theory["GD"]).max())
    measured["largest |measured − theory|, heavy ball"] = float(np.abs(rates["heavy ball"] - theory["heavy ball"]).max())
    expected = {f"GD rate (κ−1)/(κ+1) at κ = {kappa:g}": float(theory["GD"][chosen]),
                f"heavy-ball rate (√κ−1)/(√κ+1) at κ = {kappa:g}": float(theory["heavy ball"][chosen]),
                "tolerance GD": tolerance["GD"], "tolerance heavy ball": tolerance["heavy ball"]}

    dense = np.geomspace(kappas.min(), kappas.max(), 120)
    rate_rows = [pd.DataFrame({"κ": kappas, "rate per step": rates[n], "method": n, "kind": "measured"}) for n in runs]
    rate_rows += [pd.DataFrame({"κ": dense, "rate per step": f(dense), "method": n, "kind": "theory"})
                  for n, f in (("GD", lambda k: (k - 1) / (k + 1)),
                               ("heavy ball", lambda k: (np.sqrt(k) - 1) / (np.sqrt(k) + 1)))]
    keep = log_indices(steps + 1)
    error_rows = [pd.DataFrame({"step": keep, "distance to the minimum": errors[n][chosen][keep], "method": n})
                  for n in runs]  # exact zeros (float underflow) drop out of the log-scale chart
    misses = [f"{n} at κ = {k:g}" for n in runs for k, ok in zip(kappas, within[n]) if not ok]
    verdict = (f"At κ = {kappa:g} GD contracts the error by {fmt(rates['GD'][chosen])} per step "
               f"(theory {fmt(theory['GD'][chosen])}) and heavy ball by {fmt(rates['heavy ball'][chosen])} "
               f"(theory {fmt(theory['heavy ball'][chosen])}); "
               + ("every κ in the sweep matches within tolerance." if passed else f"mismatch: {', '.join(misses)}."))
    return LabResult(
        passed, measured, expected, verdict,
        {"rates": pd.concat(rate_rows, ignore_index=True), "errors": pd.concat(error_rows, ignore_index=True)},
        (Plot("rates", "κ", "rate per step", "method", "Contraction per step",
              "condition number κ", x_log=True, mark="line_point", dash="kind",
              colors=(("GD", "gd"), ("heavy ball", "momentum"))),
         Plot("errors", "step", "distance to the minimum", "method", f"Distance to the minimum at κ = {kappa:g}",
              y_log=True, colors=(("GD", "gd"), ("heavy ball", "momentum")))),
        {"surface": "f = ½(x² + κ·y²), start (1, 1)", "κ in one batch": ", ".join(f"{k:g}" for k in kappas),
         "GD": "lr = 2/(1+κ)", "heavy ball": "lr = (2/(1+√κ))², μ = ((√κ−1)/(√κ+1))²",
         "measured rate": "(‖e_end‖/‖e_mid‖)^(1/(end−mid)), end = last step with ‖e‖ > 1e-150",
         "why a tolerance for heavy ball": "its optimum is a double root: the error is (a + b·t)·r^t, so a finite "
                                           "window reads slightly above r"},
    )


def _contraction(error: np.ndarray, floor: float = 1e-150) -> float:
    """Geometric-mean contraction per step over the second half of the stretch where the error is above ``floor``."""
    above = np.flatnonzero(error > floor)
    end = int(above[-1]) if above.size else 0
    begin = end // 2
    if end - begin < 1:
        return float("nan")
    return float((error[end] / error[begin]) ** (1.0 / (end - begin)))


# --------------------------------------------------------------------------------------------------------------
# 3. momentum_effective_lr


def momentum_effective_lr(mu: float, lr: float, steps: int) -> LabResult:
    """Heavy ball on a constant slope and on a slope whose sign flips every step, next to plain SGD."""
    g = 1.0
    stepper = make_stepper("momentum", lr=lr, momentum=[0.0, mu, mu])
    sign = torch.tensor([[1.0], [1.0], [-1.0]], dtype=F64)  # run 2's gradient alternates
    lengths = step_lengths(stepper, torch.zeros(3, 1, dtype=F64),
                           lambda t, theta: g * sign ** (t + 1) * torch.ones_like(theta), steps)[:, :, 0]
    multiplier = lengths / (lr * g)  # (steps, 3): |Δθ_t| / (lr g)
    steady_const, steady_alt = float(multiplier[-1, 1]), float(multiplier[-1, 2])
    want_const, want_alt = 1.0 / (1.0 - mu), 1.0 / (1.0 + mu)
    passed = close(steady_const, want_const, rel=0.01) and close(steady_alt, want_alt, rel=0.01)
    filled = 1.0 - mu**steps
    verdict = (f"After {steps} steps the momentum step on a constant slope is {fmt(steady_const)} × η·g "
               f"(1/(1−μ) = {fmt(want_const)}), and on a slope that flips sign every step {fmt(steady_alt)} × η·g "
               f"(1/(1+μ) = {fmt(want_alt)}): the steady direction is amplified {fmt(steady_const / steady_alt)} times "
               "more than the bouncing one. "
               + ("Both match within 1%." if passed else
                  f"Not within 1%: the buffer is still filling (1 − μ^t = {fmt(filled)}); give it more steps."))
    t = np.arange(1, steps + 1)
    keep = log_indices(steps)
    labels = ("plain SGD (μ = 0)", f"momentum μ = {mu:g}, constant slope", f"momentum μ = {mu:g}, alternating slope")
    frame = pd.concat([pd.DataFrame({"step": t[keep], "step / (η·g)": multiplier[keep, i], "run": label})
                       for i, label in enumerate(labels)], ignore_index=True)
    return LabResult(
        passed,
        {"constant-slope multiplier": steady_const, "alternating-slope multiplier": steady_alt,
         "plain SGD multiplier": float(multiplier[-1, 0])},
        {"1/(1−μ)": want_const, "1/(1+μ)": want_alt, "plain SGD": 1.0},
        verdict, {"multiplier": frame},
        (Plot("multiplier", "step", "step / (η·g)", "run", "Step length in units of η·g", x_log=True, y_log=True,
              refs=(RefLine("y", want_const, "1/(1−μ)"), RefLine("y", want_alt, "1/(1+μ)"))),),
        {"gradient": "g = 1 on every step (run 3: +1, −1, +1, ...)", "optimizer": "torch-style SGD momentum, "
         "b ← μb + g, θ ← θ − ηb, one batch of three runs", "tolerance": "1% relative"},
    )


# --------------------------------------------------------------------------------------------------------------
# 4. adagrad_decay


def _slope_landscape(g: float) -> Landscape:
    gradient = torch.tensor([g, 0.0], dtype=F64)
    return Landscape("lab_slope", "constant slope", lambda xy: g * xy[..., 0] + 0.0 * xy[..., 1], (0.0, 0.0),
                     ((-1e6, 1e6), (-1.0, 1.0)), gradient=lambda xy: gradient.to(xy.dtype).expand(xy.shape))


def adagrad_decay(lr: float, alpha: float, steps: int) -> LabResult:
    """AdaGrad and RMSProp racing down a constant slope: the step length of each, over time."""
    g = 2.0
    result = race(_slope_landscape(g), ["adagrad", "rmsprop"], steps=steps, dtype=F64,
                  hparams={"adagrad": {"lr": lr}, "rmsprop": {"lr": lr, "alpha": alpha}}, device=DEVICE)
    step = result.effective_step()[:, 0, :, 0] * g / lr  # |Δθ_t| / η, (2, steps)
    t = np.arange(1, steps + 1)
    tail = t >= steps // 2
    slopes = [loglog_slope(t[tail], step[i, tail]) for i in range(2)]
    passed = close(slopes[0], -0.5, abs_=0.01) and close(slopes[1], 0.0, abs_=0.05)
    verdict = (f"Over the second half of the run AdaGrad's step falls like t^{fmt(slopes[0])} (theory t^−0.5: "
               f"{fmt(step[0, -1])}·η at step {steps}, η/√t = {fmt(1 / math.sqrt(steps))}·η), while RMSProp's "
               f"follows t^{fmt(slopes[1])} and stands at {fmt(step[1, -1])}·η. "
               + ("AdaGrad keeps decaying; RMSProp does not." if passed else
                  "RMSProp's average has not filled yet (it needs a few times 1/(1−α) steps): run longer."))
    keep = log_indices(steps)
    frame = pd.concat([pd.DataFrame({"step": t[keep], "step length / η": step[i, keep], "method": name,
                                     "kind": "measured"}) for i, name in enumerate(("AdaGrad", "RMSProp"))]
                      + [pd.DataFrame({"step": t[keep], "step length / η": 1 / np.sqrt(t[keep]), "method": "η/√t",
                                       "kind": "theory"})], ignore_index=True)
    return LabResult(
        passed, {"AdaGrad log-log slope": slopes[0], "RMSProp log-log slope": slopes[1],
                 f"AdaGrad step / η at t = {steps}": float(step[0, -1]),
                 f"RMSProp step / η at t = {steps}": float(step[1, -1])},
        {"AdaGrad slope": -0.5, "RMSProp slope": 0.0, f"η/√t at t = {steps}": 1 / math.sqrt(steps)},
        verdict, {"steps": frame},
        (Plot("steps", "step", "step length / η", "method", "Step length on a constant slope", x_log=True, y_log=True,
              dash="kind", colors=(("AdaGrad", "adagrad"), ("RMSProp", "rmsprop"))),),
        {"gradient": f"constant, g = {g:g}", "slope fit": f"log-log least squares over steps {steps // 2} to {steps}",
         "tolerances": "AdaGrad ±0.01, RMSProp ±0.05"},
    )


# --------------------------------------------------------------------------------------------------------------
# 5. bias_correction


def bias_correction(b1: float, b2: float, g: float, steps: int) -> LabResult:
    """Adam with and without bias correction on a constant gradient: step length / η, step by step."""
    lr, eps = 1e-3, 1e-8
    theta = torch.zeros(1, 1, dtype=F64)
    constant = lambda t, th: torch.full_like(th, g)  # noqa: E731
    corrected = step_lengths(make_stepper("adam", lr=lr, betas=(b1, b2), eps=eps), theta, constant, steps)[:, 0, 0] / lr
    raw = step_lengths(TransformStepper(scale_by_adam_without_bias_correction(b1, b2, eps), lr), theta, constant,
                       steps)[:, 0, 0] / lr
    t = np.arange(1, steps + 1)
    want_raw = (1 - b1**t) * g / (np.sqrt(1 - b2**t) * g + eps)
    want_corrected = np.full(steps, g / (g + eps))
    err_raw = float(np.max(np.abs(raw / want_raw - 1)))
    err_corrected = float(np.max(np.abs(corrected / want_corrected - 1)))
    passed = err_raw < 1e-6 and err_corrected < 1e-6
    peak = int(np.argmax(raw))
    measured = {"uncorrected step 1 / η": float(raw[0]), "uncorrected peak / η": float(raw[peak]),
                "uncorrected peak at step": float(peak + 1), f"uncorrected step {steps} / η": float(raw[-1]),
                "corrected step 1 / η": float(corrected[0]), "largest relative error vs formula": max(err_raw,
                                                                                                    err_corrected)}
    expected = {"(1−β1)/√(1−β2)": (1 - b1) / math.sqrt(1 - b2), "corrected: |g|/(|g|+ε)": g / (g + eps)}
    verdict = (f"Without bias correction the first step is {fmt(raw[0])}·η, the steps peak at {fmt(raw[peak])}·η "
               f"(step {peak + 1}) and are still {fmt(raw[-1])}·η at step {steps}; with it every step is "
               f"{fmt(corrected[0])}·η. "
               + ("Both follow η(1−β1^t)/√(1−β2^t) and η to within 1e-6." if passed else
                  f"The measured steps deviate from the formula by up to {fmt(max(err_raw, err_corrected))}."))
    keep = log_indices(steps)
    frame = pd.concat([pd.DataFrame({"step": t[keep], "step / η": raw[keep], "run": "without bias correction",
                                     "kind": "measured"}),
                       pd.DataFrame({"step": t[keep], "step / η": corrected[keep], "run": "with bias correction (torch)",
                                     "kind": "measured"}),
                       pd.DataFrame({"step": t[keep], "step / η": want_raw[keep], "run": "η(1−β1^t)/√(1−β2^t)",
                                     "kind": "theory"})], ignore_index=True)
    return LabResult(
        passed, measured, expected, verdict, {"steps": frame},
        (Plot("steps", "step", "step / η", "run", "Adam's step length on a constant gradient", x_log=True,
              dash="kind"),),
        {"gradient": f"constant g = {g:g}", "η": lr, "ε": eps,
         "without correction": "scale_by_adam_without_bias_correction: m/(√v + ε), built from transforms.ema"},
    )


# --------------------------------------------------------------------------------------------------------------
# 6. epsilon_placement


def epsilon_placement(eps: float, g: float) -> LabResult:
    """Adam's step / η against the gradient scale, ε outside the root (torch) and inside it, every scale in a batch."""
    lr, steps, b1, b2 = 1e-3, 20, 0.9, 0.999
    scales = np.unique(np.append(np.geomspace(1e-10, 1e2, 49), g))
    theta = torch.zeros(len(scales), 1, dtype=F64)
    grads = torch.tensor(scales, dtype=F64)[:, None]
    constant = lambda t, th: grads  # noqa: E731
    outside = step_lengths(make_stepper("adam", lr=lr, betas=(b1, b2), eps=eps), theta, constant, steps)[-1, :, 0] / lr
    inside = step_lengths(TransformStepper(scale_by_adam_eps_inside_root(b1, b2, eps), lr), theta, constant,
                          steps)[-1, :, 0] / lr
    want_out, want_in = scales / (scales + eps), scales / np.sqrt(scales**2 + eps)
    err = float(max(np.max(np.abs(outside / want_out - 1)), np.max(np.abs(inside / want_in - 1))))
    passed = err < 1e-6
    i = int(np.flatnonzero(scales == g)[0])
    verdict = (f"With |g| = {fmt(g)} and ε = {fmt(eps)} the step is {fmt(outside[i])}·η with ε outside the root and "
               f"{fmt(inside[i])}·η with ε inside it ({fmt(outside[i] / inside[i])} times smaller). Outside, the step "
               f"halves at |g| = ε = {fmt(eps)}; inside, already at |g| = √(ε/3) = {fmt(math.sqrt(eps / 3))}. "
               + ("Every scale matches the two formulas within 1e-6." if passed else
                  f"The runs deviate from the formulas by up to {fmt(err)}."))
    frame = pd.concat([pd.DataFrame({"|g|": scales, "step / η": outside, "placement": "√v̂ + ε (torch)"}),
                       pd.DataFrame({"|g|": scales, "step / η": inside, "placement": "√(v̂ + ε)"})],
                      ignore_index=True)
    return LabResult(
        passed, {"step / η, ε outside": float(outside[i]), "step / η, ε inside": float(inside[i]),
                 "largest relative error vs formula": err},
        {"|g|/(|g|+ε)": float(want_out[i]), "|g|/√(g²+ε)": float(want_in[i])},
        verdict, {"steps": frame},
        (Plot("steps", "|g|", "step / η", "placement", "Step length against gradient scale", "gradient scale |g|",
              x_log=True, y_log=True, refs=(RefLine("x", eps, "ε"), RefLine("x", math.sqrt(eps), "√ε"),
                                            RefLine("x", g, "your |g|"))),),
        {"gradient": f"constant, {len(scales)} scales from 1e-10 to 100 in one batch", "steps": steps,
         "β": (b1, b2), "η": lr, "ε inside": "scale_by_adam_eps_inside_root, built from transforms.ema/debias"},
    )


# --------------------------------------------------------------------------------------------------------------
# 7. l2_vs_decoupled


def l2_vs_decoupled(lr: float, wd: float, g_busy: float, g_quiet: float, steps: int) -> LabResult:
    """Two weights, one with large gradients and one with small, under Adam + L2 and AdamW.

    The loss gradient flips sign every step (no net pull), so only the decay moves the weights on average. Each
    method runs twice in one batch, with and without decay, on the same gradients: the difference is the decay's
    effect, free of the zig-zag the flipping gradient adds.
    """
    amplitude = torch.tensor([[g_busy, g_quiet]], dtype=F64)
    flip = lambda t, theta: amplitude * (-1.0) ** t  # noqa: E731
    paths = {}
    for name, opt in (("Adam + L2", "adam"), ("AdamW", "adamw")):
        stepper = make_stepper(opt, lr=lr, weight_decay=[0.0, wd])
        theta = torch.ones(2, 2, dtype=F64)  # run 0 without decay, run 1 with it; columns: busy, quiet weight
        state, trail = stepper.init(theta), [theta]
        for t in range(1, steps + 1):
            theta, state = stepper.update(theta, flip(t, theta), state)
            trail.append(theta)
        paths[name] = torch.stack(trail).numpy()  # (steps + 1, 2 runs, 2 weights)

    def per_step_decay(path: np.ndarray, w: int) -> float:
        shrink = max(1.0 + (path[-1, 1, w] - path[-1, 0, w]) / path[0, 1, w], 1e-12)
        return 1.0 - shrink ** (1.0 / steps)

    decay = {(name, w): float(per_step_decay(paths[name], j)) for name in paths for j, w in enumerate(("busy", "quiet"))}
    want = lr * wd
    adamw_ok = all(close(decay[("AdamW", w)], want, rel=0.02) for w in ("busy", "quiet"))
    l2_ok = decay[("Adam + L2", "busy")] < decay[("Adam + L2", "quiet")]
    passed = adamw_ok and l2_ok
    verdict = (f"Per step, AdamW removes {fmt(decay[('AdamW', 'busy')])} of the busy weight and "
               f"{fmt(decay[('AdamW', 'quiet')])} of the quiet one (η·λ = {fmt(want)}); Adam + L2 removes "
               f"{fmt(decay[('Adam + L2', 'busy')])} of the busy weight and {fmt(decay[('Adam + L2', 'quiet')])} of "
               "the quiet one. "
               + ("Decoupled decay ignores the gradients; L2 decay is divided by √v̂, so the busy weight keeps more."
                  if passed else
                  ("AdamW is off η·λ by more than 2%. " if not adamw_ok else "")
                  + ("Adam + L2 did not decay the busy weight less: give it larger gradients than the quiet one."
                     if not l2_ok else "")))
    t = np.arange(steps + 1)
    rows = [pd.DataFrame({"step": t, "weight": paths[name][:, 1, j], "weight and method": f"{w} weight, {name}"})
            for name in paths for j, w in enumerate(("busy", "quiet"))]
    rows.append(pd.DataFrame({"step": t, "weight": (1 - want) ** t, "weight and method": "(1 − ηλ)^t"}))
    bars = pd.DataFrame([{"weight": f"{w} (|g| = {fmt(g_busy if w == 'busy' else g_quiet)})", "method": name,
                          "decay per step": decay[(name, w)]} for (name, w) in decay])
    return LabResult(
        passed, {f"{name}, {w} weight": value for (name, w), value in decay.items()}, {"AdamW: η·λ": want},
        verdict, {"weights": pd.concat(rows, ignore_index=True), "decay": bars},
        (Plot("weights", "step", "weight", "weight and method", "Weights under decay (with-decay runs)"),
         Plot("decay", "weight", "decay per step", "method", "Fraction removed by decay per step", mark="point",
              y_log=True,
              refs=(RefLine("y", want, "η·λ"),), colors=(("Adam + L2", "adam"), ("AdamW", "adamw")))),
        {"gradients": f"±{fmt(g_busy)} (busy) and ±{fmt(g_quiet)} (quiet), sign flipping every step",
         "start": "both weights at 1", "decay measured": "1 − (1 + (w_T(λ) − w_T(0))/w_0)^(1/T), twin runs with and "
                                                         "without decay on the same gradients",
         "betas": (0.9, 0.999), "tolerance": "AdamW within 2% of ηλ"},
    )


# --------------------------------------------------------------------------------------------------------------
# 8. amsgrad_counterexample


def counterexample_gradients(C: float, steps: int) -> np.ndarray:
    """Reddi, Kale & Kumar's online problem on [−1, 1]: ∇f_t = C if t mod 3 == 1 else −1 (t = 1, 2, ...)."""
    t = np.arange(1, steps + 1)
    return np.where(t % 3 == 1, C, -1.0)


def adam_on_the_interval(grads: np.ndarray, lr: float, b1: float, b2: float, eps: float, amsgrad: bool) -> np.ndarray:
    """x_t for Adam or AMSGrad with step lr/√t and projection onto [−1, 1] after every step, from x_0 = 0.

    The same update as ``transforms.scale_by_adam`` (torch's AMSGrad: the max of the uncorrected v, divided by the
    current correction), written on plain floats: the gradients here do not depend on x, and a Python float loop
    runs 30,000 steps about ten times faster than a tensor one. ``engine_gap`` checks it against the engine.
    """
    x, m, v, v_max = 0.0, 0.0, 0.0, 0.0
    out = np.empty(len(grads) + 1)
    out[0] = x
    for t, g in enumerate(grads, start=1):
        m += (1 - b1) * (g - m)  # the lerp form of transforms.ema
        v += (1 - b2) * (g * g - v)
        v_max = max(v_max, v)
        denom = math.sqrt((v_max if amsgrad else v) / (1 - b2**t)) + eps
        x = min(1.0, max(-1.0, x - lr / math.sqrt(t) * (m / (1 - b1**t)) / denom))
        out[t] = x
    return out


def engine_gap(C: float, betas: list[tuple[float, float]], steps: int, lr: float = 0.1) -> float:
    """Largest |x_fast − x_engine| over ``steps`` steps, the engine being dc's Adam/AMSGrad steppers stepped with
    per-run betas, lr_scale = 1/√t and a clamp after every update."""
    grads = counterexample_gradients(C, steps)
    b1s, b2s = [b[0] for b in betas], [b[1] for b in betas]
    gap = 0.0
    for opt in ("adam", "amsgrad"):
        stepper = make_stepper(opt, lr=lr, betas=(b1s, b2s))
        x = torch.zeros(len(betas), 1, dtype=F64)
        state, trail = stepper.init(x), [x]
        for t in range(1, steps + 1):
            x, state = stepper.update(x, torch.full_like(x, grads[t - 1]), state, lr_scale=1.0 / math.sqrt(t))
            x = x.clamp(-1.0, 1.0)
            trail.append(x)
        engine = torch.stack(trail)[:, :, 0].numpy()
        for j, (b1, b2) in enumerate(betas):
            fast = adam_on_the_interval(grads, lr, b1, b2, 1e-8, opt == "amsgrad")
            gap = max(gap, float(np.max(np.abs(fast - engine[:, j]))))
    return gap


def amsgrad_counterexample(C: float, b2: float, steps: int) -> LabResult:
    """Adam and AMSGrad on Reddi et al.'s problem with β1 = 0 and the chosen β2, and with torch's default betas."""
    lr, eps = 0.1, 1e-8
    grads = counterexample_gradients(C, steps)
    configs = {"small β2": (0.0, b2), "default betas": (0.9, 0.999)}
    traces = {(opt, cfg): adam_on_the_interval(grads, lr, b1_, b2_, eps, opt == "AMSGrad")
              for opt in ("Adam", "AMSGrad") for cfg, (b1_, b2_) in configs.items()}
    gap = engine_gap(C, list(configs.values()), min(steps, 300))
    adam_end, ams_end = traces[("Adam", "small β2")][-1], traces[("AMSGrad", "small β2")][-1]
    default_adam_end = traces[("Adam", "default betas")][-1]
    passed = adam_end >= 0.99 and ams_end <= -0.9 and gap < 1e-9
    verdict = (f"After {steps:,} steps with β1 = 0 and β2 = {fmt(b2)}, Adam sits at x = {fmt(adam_end)} (the worst "
               f"point is +1) and AMSGrad at x = {fmt(ams_end)} (the optimum is −1); with the default betas Adam ends "
               f"at {fmt(default_adam_end)}. "
               + ("Adam is driven to the wrong end, AMSGrad is not." if passed else
                  "The split did not happen here: Adam's failure needs a short-memory β2 and C > 2.")
               + f" The fast loop agrees with the engine's steppers to {fmt(gap)} over the first "
                 f"{min(steps, 300)} steps.")
    keep = log_indices(steps + 1)
    frame = pd.concat([pd.DataFrame({"step": keep, "x": traces[key][keep], "run": f"{key[0]}, {key[1]}"})
                       for key in traces], ignore_index=True)
    frame = frame[frame["step"] > 0]
    return LabResult(
        passed,
        {"Adam final x (small β2)": float(adam_end), "AMSGrad final x (small β2)": float(ams_end),
         "Adam final x (default betas)": float(default_adam_end),
         "AMSGrad final x (default betas)": float(traces[("AMSGrad", "default betas")][-1]),
         "engine agreement (max |Δx|)": gap},
        {"optimum x*": -1.0, "worst point": 1.0, "mean slope (C−2)/3": (C - 2) / 3},
        verdict, {"trace": frame},
        (Plot("trace", "step", "x", "run", "x_t on [−1, 1]", x_log=True,
              refs=(RefLine("y", -1.0, "optimum"),)),),
        {"problem": f"f_t(x) = {C:g}·x if t mod 3 == 1 else −x, x ∈ [−1, 1], x_0 = 0",
         "step size": "0.1/√t", "projection": "clamp to [−1, 1] after every step", "ε": eps,
         "AMSGrad": "torch's form: running max of the uncorrected v, divided by the current bias correction",
         "success means": "Adam ≥ 0.99, AMSGrad ≤ −0.9, fast loop = engine within 1e-9"},
    )


# --------------------------------------------------------------------------------------------------------------
# 9. warmup


WARMUP_START = (1.0, 0.5)


def warmup(lr: float, noise: float, warmup_steps: int, seed: int) -> LabResult:
    """Adam on the noisy ravine from near its minimum, with a constant rate and with a linear warmup."""
    steps, early = 300, 10
    schedules = {"no warmup": Schedule(), "linear warmup": Schedule("warmup", warmup_steps=warmup_steps,
                                                                      start_factor=0.01)}
    lengths, losses = {}, {}
    for name, schedule in schedules.items():
        result = race("ravine", ["adam"], steps=steps, starts=[WARMUP_START], hparams={"adam": {"lr": lr}},
                      noise=noise, seed=seed, schedule=schedule, dtype=F64, device=DEVICE)
        lengths[name] = np.linalg.norm(np.diff(result.paths[0, 0], axis=0), axis=-1) / lr
        losses[name] = result.losses[0, 0]
    late = slice(steps // 2, steps)
    ratio = {name: float(lengths[name][:early].mean() / lengths[name][late].mean()) for name in schedules}
    first = {name: float(lengths[name][0]) for name in schedules}
    want_first = {"no warmup": math.sqrt(2), "linear warmup": 0.01 * math.sqrt(2)}
    first_ok = all(close(first[n], want_first[n], rel=1e-6) for n in schedules)
    passed = first_ok and ratio["no warmup"] >= 1.5 and ratio["linear warmup"] <= 1.0
    verdict = (f"Without warmup Adam's first {early} steps average {fmt(ratio['no warmup'])} times its late steps "
               f"(the very first one is {fmt(first['no warmup'])}·η, one noisy sample normalised by itself); with a "
               f"{warmup_steps}-step warmup they average {fmt(ratio['linear warmup'])} times the late steps. "
               + ("Warmup removes the large, poorly informed early steps." if passed else
                  "Warmup did not keep the early steps below the late ones here: lengthen it or add noise."))
    t = np.arange(1, steps + 1)
    frames = {
        "steps": pd.concat([pd.DataFrame({"step": t, "step length / η": lengths[n], "schedule": n})
                            for n in schedules], ignore_index=True),
        "loss": pd.concat([pd.DataFrame({"step": np.arange(steps + 1), "loss": losses[n], "schedule": n})
                           for n in schedules], ignore_index=True),
    }
    return LabResult(
        passed,
        {"early/late step ratio, no warmup": ratio["no warmup"], "early/late step ratio, warmup": ratio["linear warmup"],
         "first step / η, no warmup": first["no warmup"], "first step / η, warmup": first["linear warmup"]},
        {"first step / η, no warmup (√2: η per coordinate)": want_first["no warmup"],
         "first step / η, warmup (0.01·√2)": want_first["linear warmup"],
         "no warmup: early/late at least": 1.5, "warmup: early/late at most": 1.0},
        verdict, frames,
        (Plot("steps", "step", "step length / η", "schedule", "Adam's step length (in units of the peak η)",
              y_log=True, refs=(RefLine("x", warmup_steps, "end of warmup"),)),
         Plot("loss", "step", "loss", "schedule", "Loss", y_log=True)),
        {"surface": f"ravine f = ½(x² + 20y²), start {WARMUP_START} (near the minimum)", "steps": steps,
         "gradient noise": f"σ = {noise:g}, seed {seed}, the same draws for both runs",
         "warmup": f"LinearLR from 0.01·η to η over {warmup_steps} steps", "early": f"first {early} steps",
         "late": f"steps {steps // 2} to {steps}"},
    )


# --------------------------------------------------------------------------------------------------------------
# 10. clipping_scaling


def clipping_scaling(lr: float, batch: int, k: int, sigma: float, clip: float, big_steps: int, seed: int) -> LabResult:
    """SGD on a noisy ravine where a batch of size B has gradient noise σ/√B. Four configurations, R seeds each, in
    one batch: small batch at η; k-times batch at kη (linear scaling); k-times batch at η; small batch at η with
    clipping. Compared after the same number of examples."""
    seeds = 32
    loss_fn, grad_fn, _ = quadratic(1.0, 20.0)
    configs = [("batch B, η", lr, batch, math.inf), (f"batch {k}B, {k}η", k * lr, k * batch, math.inf),
               (f"batch {k}B, η", lr, k * batch, math.inf), (f"batch B, η, clip {clip:g}", lr, batch, clip)]
    per_run = lambda values: torch.tensor(np.repeat(values, seeds), dtype=F64)[:, None]  # noqa: E731
    noise_std = per_run([sigma / math.sqrt(b) for _, _, b, _ in configs])
    clips = per_run([c for *_, c in configs])
    stepper = make_stepper("sgd", lr=np.repeat([c[1] for c in configs], seeds))
    theta = torch.tensor([[-9.0, 2.2]], dtype=F64).repeat(len(configs) * seeds, 1)
    state, generator = stepper.init(theta), torch.Generator().manual_seed(seed)
    losses, raw_norms, lengths = [loss_fn(theta)], [], []
    for _ in range(k * big_steps):
        g = grad_fn(theta) + noise_std * torch.randn(theta.shape, generator=generator, dtype=F64)
        raw_norms.append(g.norm(dim=1))
        new, state = stepper.update(theta, clip_by_global_norm(g, clips), state)
        lengths.append((new - theta).norm(dim=1))
        theta = new
        losses.append(loss_fn(theta))
    shape = (-1, len(configs), seeds)
    L = torch.stack(losses).reshape(shape).numpy()
    norms, steps_ = torch.stack(raw_norms).reshape(shape).numpy(), torch.stack(lengths).reshape(shape).numpy()

    with np.errstate(over="ignore", invalid="ignore"):
        mean_loss = np.nanmean(np.where(np.isfinite(L), L, np.inf), axis=2)  # (steps + 1, configs)
    small, scaled, unscaled = mean_loss[k * big_steps, 0], mean_loss[big_steps, 1], mean_loss[big_steps, 2]
    clipped = norms[:, 3] > clip
    clip_error = float(np.max(np.abs(steps_[:, 3][clipped] / (lr * clip) - 1))) if clipped.any() else 0.0
    free_error = float(np.max(np.abs(steps_[:, 3][~clipped] / (lr * norms[:, 3][~clipped]) - 1))) \
        if (~clipped).any() else 0.0
    scaled_ratio = float(scaled / small)
    unscaled_ratio = float(unscaled / scaled)
    clip_ok = clip_error < 1e-5 and free_error < 1e-9
    scale_ok = 0.5 <= scaled_ratio <= 2.0 and unscaled_ratio >= 2.0
    passed = clip_ok and scale_ok
    verdict = (f"After the same {k * big_steps * batch:,} examples, batch {k}B at {k}η reaches a mean loss of "
               f"{fmt(scaled)} against {fmt(small)} for batch B at η (ratio {fmt(scaled_ratio)}); batch {k}B at an "
               f"unscaled η is stuck at {fmt(unscaled)}. "
               + (f"Clipping at c = {clip:g} fired on {clipped.mean():.0%} of steps, and every clipped step had length "
                  f"η·c to within {fmt(clip_error)}. " if clipped.any() else
                  f"Clipping at c = {clip:g} never fired: lower c to see it. ")
               + ("The linear scaling rule holds here and clipping makes SGD take fixed-length steps."
                  if passed else
                  ("The scaled run is not within a factor 2 of the small-batch run" if not 0.5 <= scaled_ratio <= 2
                   else "Scaling the batch without scaling η did not fall clearly behind")
                  + (f" (kη = {fmt(k * lr)} against the stability edge 2/λmax = 0.1)." if k * lr >= 0.1 else ".")))
    examples = lambda n: np.arange(n + 1) * batch  # noqa: E731
    rows = [pd.DataFrame({"examples seen": examples(k * big_steps), "mean loss": mean_loss[:, 0], "run": configs[0][0]}),
            pd.DataFrame({"examples seen": np.arange(big_steps + 1) * k * batch,
                          "mean loss": mean_loss[: big_steps + 1, 1], "run": configs[1][0]}),
            pd.DataFrame({"examples seen": np.arange(big_steps + 1) * k * batch,
                          "mean loss": mean_loss[: big_steps + 1, 2], "run": configs[2][0]}),
            pd.DataFrame({"examples seen": examples(k * big_steps), "mean loss": mean_loss[:, 3], "run": configs[3][0]})]
    t = np.arange(1, k * big_steps + 1)
    step_rows = [pd.DataFrame({"step": t, "step length": steps_[:, i, 0], "run": configs[i][0]}) for i in (0, 3)]
    return LabResult(
        passed,
        {"loss, batch B at η": float(small), f"loss, batch {k}B at {k}η": float(scaled),
         f"loss, batch {k}B at η": float(unscaled), "scaled / small": scaled_ratio, "unscaled / scaled": unscaled_ratio,
         "fraction of steps clipped": float(clipped.mean()), "clipped steps: max |length/(η·c) − 1|": clip_error},
        {"scaled / small within": 2.0, "unscaled / scaled at least": 2.0, "clipped step length η·c": lr * clip},
        verdict,
        {"loss": pd.concat(rows, ignore_index=True), "steps": pd.concat(step_rows, ignore_index=True)},
        (Plot("loss", "examples seen", "mean loss", "run", f"Mean loss over {seeds} seeds",
              y_log=True),
         Plot("steps", "step", "step length", "run", "Step length, clipped or not (seed 0)", y_log=True,
              refs=(RefLine("y", lr * clip, "η·c"),))),
        {"surface": "ravine f = ½(x² + 20y²), start (−9, 2.2)", "gradient noise": f"σ/√batch with σ = {sigma:g}",
         "seeds": seeds, "steps": f"{k * big_steps} small-batch steps, {big_steps} large-batch steps",
         "clipping": "torch.nn.utils.clip_grad_norm_'s formula (ε = 1e-6)"},
    )


# --------------------------------------------------------------------------------------------------------------
# 11. saddle_escape


SADDLE_OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")


def saddle_escape(y0: float, lr: float, noise: float, steps: int) -> LabResult:
    """Escape time (first step with |y| > 1) from (1.5, y0) on f = x² − y²."""
    result = race("saddle", list(SADDLE_OPTIMIZERS), steps=steps, starts=[(1.5, y0)], dtype=F64, noise=noise, seed=0,
                  hparams={opt: {"lr": lr} for opt in SADDLE_OPTIMIZERS}, device=DEVICE)
    out = np.abs(result.paths[:, 0, :, 1]) > 1.0
    escape = {opt: (float(out[i].argmax()) if out[i].any() else math.inf) for i, opt in enumerate(SADDLE_OPTIMIZERS)}
    # Without noise, y_t = y0 (1 + 2η)^t for SGD: it leaves at the first t with |y0| (1 + 2η)^t > 1.
    predicted = math.floor(math.log(1 / y0) / math.log(1 + 2 * lr)) + 1 if y0 > 0 else math.inf
    predicted = predicted if predicted <= steps else math.inf
    sgd_ok = noise > 0 or escape["sgd"] == predicted
    faster = [opt for opt in ("momentum", "rmsprop", "adam") if escape[opt] <= escape["sgd"]]
    passed = sgd_ok and len(faster) == 3 and (noise == 0 or escape["sgd"] < math.inf)
    names = {opt: OPTIMIZERS[opt].name for opt in SADDLE_OPTIMIZERS}
    timing = ", ".join(f"{names[o]} {fmt(escape[o])}" for o in SADDLE_OPTIMIZERS)
    if noise == 0 and y0 == 0:
        story = ("Exactly on the ridge with exact gradients the y-gradient is zero forever, so no method ever leaves; "
                 "add a hair of offset or of noise.")
    else:
        story = ((f"SGD's prediction ln(1/|y0|)/ln(1+2η) gives {fmt(predicted)}. " if noise == 0 else
                  f"With gradient noise σ = {noise:g} SGD needs no offset to leave. ")
                 + ("Momentum, RMSProp and Adam all leave no later than SGD"
                    if len(faster) == 3 else "Not every one of momentum, RMSProp and Adam left before SGD")
                 + ("; AdaGrad, whose ever-growing sum shrinks its steps, is the slow exception."
                    if escape["adagrad"] > escape["sgd"] else "."))
    verdict = f"Steps to |y| > 1: {timing}. {story}"
    keep = np.arange(0, steps + 1, max(1, steps // 400))
    frame = pd.concat([pd.DataFrame({"step": keep, "|y|": np.abs(result.paths[i, 0, keep, 1]), "optimizer": names[o]})
                       for i, o in enumerate(SADDLE_OPTIMIZERS)], ignore_index=True)
    frame = frame[frame["|y|"] <= 3.0]  # after the escape |y| grows without bound: the chart stops there
    bars = pd.DataFrame({"optimizer": [names[o] for o in SADDLE_OPTIMIZERS],
                         "escape step": [escape[o] if escape[o] < math.inf else np.nan for o in SADDLE_OPTIMIZERS]})
    return LabResult(
        passed, {f"{names[o]} escape step": escape[o] for o in SADDLE_OPTIMIZERS},
        {"SGD escape step (noise-free prediction)": predicted},
        verdict, {"y": frame, "escape": bars},
        (Plot("y", "step", "|y|", "optimizer", "Distance from the ridge line y = 0", y_log=True,
              refs=(RefLine("y", 1.0, "escaped"),), colors=tuple((names[o], o) for o in SADDLE_OPTIMIZERS)),
         Plot("escape", "optimizer", "escape step", "optimizer", "Steps until |y| > 1", mark="bar",
              colors=tuple((names[o], o) for o in SADDLE_OPTIMIZERS))),
        {"surface": "saddle f = x² − y²", "start": f"(1.5, {y0:g})", "η": f"{lr:g} for every optimizer",
         "other hyperparameters": "defaults (momentum μ = 0.9, RMSProp α = 0.99, Adam β = (0.9, 0.999))",
         "gradient noise": f"σ = {noise:g}, seed 0"},
    )


# --------------------------------------------------------------------------------------------------------------
# 12. zero_grad


def zero_grad(lr: float, steps: int) -> LabResult:
    """The same torch.nn.Linear trained with torch.optim.SGD twice: with optimizer.zero_grad() and without."""
    records: dict[str, dict[str, list[float]]] = {}
    worst = 0.0
    with torch.inference_mode(False), torch.enable_grad():  # a real training loop needs autograd
        generator = torch.Generator().manual_seed(0)
        X = torch.randn(64, 3, generator=generator, dtype=F64)
        y = X @ torch.tensor([[2.0], [-1.0], [0.5]], dtype=F64) + 0.3
        with torch.random.fork_rng(devices=[]):  # seeded initial weights without touching the global generator
            torch.manual_seed(0)
            first = torch.nn.Linear(3, 1, dtype=F64)
            second = torch.nn.Linear(3, 1, dtype=F64)
        second.load_state_dict(first.state_dict())
        models = {"with zero_grad()": first, "without zero_grad()": second}
        for name, model in models.items():
            opt = torch.optim.SGD(model.parameters(), lr=lr)
            params = list(model.parameters())
            total = [torch.zeros_like(p) for p in params]  # running sum of the fresh gradients
            rec = records.setdefault(name, {"loss": [], "step": [], "fresh": [], "grad buffer": []})
            for _ in range(steps):
                if name == "with zero_grad()":
                    opt.zero_grad()
                loss = torch.nn.functional.mse_loss(model(X), y)
                fresh = torch.autograd.grad(loss, params, retain_graph=True)  # this iteration's gradient alone
                loss.backward()  # adds into p.grad
                before = [p.detach().clone() for p in params]
                opt.step()
                step = torch.cat([(b - p.detach()).flatten() for b, p in zip(before, params)])
                total = [s + f for s, f in zip(total, fresh)]
                used = fresh if name == "with zero_grad()" else total
                predicted = lr * torch.cat([u.flatten() for u in used])
                # Relative error, floored at 1e-9 of the weights' size: a step below that is lost to rounding.
                scale = max(float(predicted.norm()), 1e-9 * float(torch.cat([p.detach().flatten() for p in params]).norm()))
                worst = max(worst, float((step - predicted).norm()) / scale)
                rec["loss"].append(float(loss.detach()))
                rec["step"].append(float(step.norm()))
                rec["fresh"].append(float(torch.cat([f.flatten() for f in fresh]).norm()))
                rec["grad buffer"].append(float(torch.cat([p.grad.flatten() for p in params]).norm()))
    passed = worst < 1e-6
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = {n: np.array(r["step"]) / (lr * np.array(r["fresh"])) for n, r in records.items()}
    verdict = (f"With zero_grad() every step is η times this iteration's gradient; without it, step t is η times the "
               f"sum of every gradient so far (checked at all {steps} iterations; largest relative mismatch "
               f"{fmt(worst)}). By the "
               f"last iteration the missing zero_grad() makes the step {fmt(ratio['without zero_grad()'][-1])} times "
               f"the fresh gradient's, and the loss is {fmt(records['without zero_grad()']['loss'][-1])} instead of "
               f"{fmt(records['with zero_grad()']['loss'][-1])}. "
               + ("p.grad accumulates exactly as described." if passed else "The accumulation rule did not hold."))
    t = np.arange(1, steps + 1)
    frames = {
        "loss": pd.concat([pd.DataFrame({"iteration": t, "loss": r["loss"], "loop": n}) for n, r in records.items()],
                          ignore_index=True),
        "buffer": pd.concat([pd.DataFrame({"iteration": t, "norm": r["grad buffer"], "loop": n, "quantity": "‖p.grad‖"})
                             for n, r in records.items()]
                            + [pd.DataFrame({"iteration": t, "norm": records[n]["fresh"], "loop": n,
                                             "quantity": "‖fresh gradient‖"}) for n in records],
                            ignore_index=True).assign(series=lambda d: d["quantity"] + ", " + d["loop"]),
        "multiplier": pd.concat([pd.DataFrame({"iteration": t, "step / (η·‖fresh gradient‖)": ratio[n], "loop": n})
                                 for n in records], ignore_index=True),
    }
    return LabResult(
        passed,
        {"largest relative mismatch vs rule": worst, "final loss with zero_grad()": records["with zero_grad()"]["loss"][-1],
         "final loss without zero_grad()": records["without zero_grad()"]["loss"][-1],
         "last step / (η·fresh), without": float(ratio["without zero_grad()"][-1])},
        {"mismatch below": 1e-6, "step / (η·fresh), with zero_grad()": 1.0},
        verdict, frames,
        (Plot("loss", "iteration", "loss", "loop", "Training loss", y_log=True),
         Plot("buffer", "iteration", "norm", "series", "What p.grad holds", y_log=True),
         Plot("multiplier", "iteration", "step / (η·‖fresh gradient‖)", "loop", "Effective step multiplier",
              y_log=True)),
        {"model": "torch.nn.Linear(3, 1), float64, the same initial weights for both loops",
         "data": "64 seeded samples, y = 2x₁ − x₂ + 0.5x₃ + 0.3", "loss": "mean squared error",
         "optimizer": "torch.optim.SGD (no momentum)",
         "fresh gradient": "torch.autograd.grad of this iteration's loss, taken before backward()"},
    )


# --------------------------------------------------------------------------------------------------------------
# 13. nesterov_rate


def nesterov_worst_case(dim: int, L: float):
    """Nesterov's hard convex quadratic f = (L/8)(x₁² + Σ(xᵢ − xᵢ₊₁)² + x_d²) − (L/4)x₁: loss, gradient,
    minimiser and f*.

    Its Hessian is (L/4)·tridiag(−1, 2, −1), whose largest eigenvalue is below L, so f is L-smooth."""

    def grad(x: Tensor) -> Tensor:
        padded = torch.nn.functional.pad(x, (1, 1))
        g = (L / 4) * (2 * x - padded[:, :-2] - padded[:, 2:])
        g[:, 0] -= L / 4
        return g

    def loss(x: Tensor) -> Tensor:
        padded = torch.nn.functional.pad(x, (1, 1))
        return (L / 8) * (padded.diff(dim=1) ** 2).sum(1) - (L / 4) * x[:, 0]

    x_star = 1.0 - torch.arange(1, dim + 1, dtype=F64) / (dim + 1)
    f_star = -(L / 8) * float(x_star[0])
    return loss, grad, x_star, f_star


def nesterov_accelerated(x0: Tensor, grad, L: float, steps: int) -> list[Tensor]:
    """The accelerated iterates, batched over rows:
    y_k = x_k + ((k−1)/(k+2))(x_k − x_{k−1}), x_{k+1} = y_k − ∇f(y_k)/L, with x_{−1} = x_0."""
    previous, x, trail = x0, x0, [x0]
    for k in range(steps):
        y = x + ((k - 1) / (k + 2)) * (x - previous)
        previous, x = x, y - grad(y) / L
        trail.append(x)
    return trail


def nesterov_rate(L: float, dim: int, steps: int, starts: int) -> LabResult:
    """Nesterov's accelerated schedule against GD at 1/L on Nesterov's hard quadratic, several starts in a batch."""
    loss, grad, x_star, f_star = nesterov_worst_case(dim, L)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.cat([torch.zeros(1, dim, dtype=F64), torch.randn(starts - 1, dim, generator=generator, dtype=F64)])
    radius2 = ((x0 - x_star) ** 2).sum(1).numpy()  # ‖x0 − x*‖² per run
    nesterov_gap = torch.stack([loss(x) for x in nesterov_accelerated(x0, grad, L, steps)]).numpy() - f_star
    gd = make_stepper("gd", lr=1.0 / L)
    x, state, gd_trail = x0, gd.init(x0), [loss(x0)]
    for _ in range(steps):
        x, state = gd.update(x, grad(x), state)
        gd_trail.append(loss(x))
    gd_gap = torch.stack(gd_trail).numpy() - f_star  # (steps + 1, runs)

    t = np.arange(steps + 1)[:, None]
    nesterov_scaled = (t + 1) ** 2 * nesterov_gap / (2 * L * radius2)  # ≤ 1 is the O(1/t²) bound
    gd_scaled = t[1:] * gd_gap[1:] / (L * radius2 / 2)  # ≤ 1 is the O(1/t) bound
    worst_nesterov, worst_gd = float(nesterov_scaled.max()), float(gd_scaled.max())
    passed = worst_nesterov <= 1 + 1e-9 and worst_gd <= 1 + 1e-9
    verdict = (f"Over {steps} steps and {starts} starts, (t+1)²·(f − f*) for Nesterov peaks at {fmt(worst_nesterov)} "
               f"of its bound 2L‖x0 − x*‖², and t·(f − f*) for GD at {fmt(worst_gd)} of L‖x0 − x*‖²/2. "
               + ("Both bounds hold. " if passed else "A bound was broken. ")
               + f"At the last step Nesterov's gap is {fmt(nesterov_gap[-1, 0])} against GD's {fmt(gd_gap[-1, 0])} "
                 "(start 0).")
    keep = log_indices(steps + 1)
    keep = keep[keep > 0]
    run0 = lambda a: a[keep, 0]  # noqa: E731
    tt = keep.astype(float)
    frames = {
        "t2": pd.concat([pd.DataFrame({"t": tt, "(t+1)²·(f − f*)": (tt + 1) ** 2 * run0(gap), "method": name})
                         for name, gap in (("Nesterov", nesterov_gap), ("GD at 1/L", gd_gap))], ignore_index=True),
        "t1": pd.concat([pd.DataFrame({"t": tt, "t·(f − f*)": tt * run0(gd_gap), "method": "GD at 1/L"}),
                         pd.DataFrame({"t": tt, "t·(f − f*)": tt * run0(nesterov_gap), "method": "Nesterov"})],
                        ignore_index=True),
    }
    colors = (("Nesterov", "nesterov"), ("GD at 1/L", "gd"))
    return LabResult(
        passed,
        {"max (t+1)²·gap / (2L‖x0−x*‖²), Nesterov": worst_nesterov,
         "max t·gap / (L‖x0−x*‖²/2), GD": worst_gd,
         "final gap, Nesterov (start 0)": float(nesterov_gap[-1, 0]), "final gap, GD (start 0)": float(gd_gap[-1, 0])},
        {"bound ratio at most": 1.0, "2L‖x0−x*‖² (start 0)": float(2 * L * radius2[0]),
         "L‖x0−x*‖²/2 (start 0)": float(L * radius2[0] / 2)},
        verdict, frames,
        (Plot("t2", "t", "(t+1)²·(f − f*)", "method", "(t+1)²·(f − f*): bounded for Nesterov",
              x_log=True, y_log=True,
              refs=(RefLine("y", float(2 * L * radius2[0]), "2L‖x0 − x*‖²"),), colors=colors),
         Plot("t1", "t", "t·(f − f*)", "method", "t·(f − f*): bounded for GD", x_log=True, y_log=True,
              refs=(RefLine("y", float(L * radius2[0] / 2), "L‖x0 − x*‖²/2"),), colors=colors)),
        {"function": f"Nesterov's hard quadratic in {dim} dimensions, L = {L:g}",
         "starts": f"x0 = 0 and {starts - 1} seeded Gaussian starts (charts show x0 = 0)",
         "Nesterov": "y_k = x_k + ((k−1)/(k+2))(x_k − x_{k−1}), x_{k+1} = y_k − ∇f(y_k)/L",
         "GD": "descent_core's gd stepper at lr = 1/L"},
    )


# --------------------------------------------------------------------------------------------------------------
# The registry.


def _lab(experiment: Callable[..., LabResult], title: str, section: str, claim: str, params: tuple[Spec, ...],
         heavy: bool = False) -> Lab:
    """A lab whose id is its experiment's function name."""
    return Lab(experiment.__name__, title, section, claim, params, experiment, heavy)


def _lr(name="lr", label="learning rate η", low=1e-4, high=1.0, default=0.01) -> Param:
    return Param(name, label, low, high, default, log=True)


LABS: dict[str, Lab] = {lab.id: lab for lab in [
    _lab(stability_map, "Where gradient descent blows up", "gd",
        "Sweeping the learning rate on a quadratic shows gradient descent's final loss jump from tiny to huge "
        "exactly where η crosses 2/λmax; each optimizer's sweep is one batched run.",
        (Param("lam_max", "largest curvature λmax", 2.0, 1000.0, 100.0, log=True),
         Param("edge_factor", "predicted edge c, in η = c/λmax", 0.25, 8.0, 2.0, step=0.05,
               help="The badge checks that GD's measured edge lands on your prediction."),
         Choice("optimizers", "optimizers", tuple(OPTIMIZERS), STABILITY_DEFAULT_SET, multi=True,
                help="GD always runs: the verdict is about its edge."),
         Param("grid_points", "learning rates in the sweep", 11, 241, 81, integer=True, step=10),
         Param("steps", "steps per run", 20, 2000, 200, integer=True, step=10))),
    _lab(convergence_rates, "Linear rates: GD against heavy ball", "gd",
        "At its best step size GD shrinks the error by (κ−1)/(κ+1) per step, while heavy ball at its best (η, μ) "
        "reaches (√κ−1)/(√κ+1): the measured rates sit on both curves for every κ.",
        (Param("kappa", "condition number κ to highlight", 2.0, 10000.0, 100.0, log=True),
         Param("steps", "steps", 200, 4000, 2000, integer=True, step=100))),
    _lab(momentum_effective_lr, "Momentum multiplies the learning rate", "momentum",
        "On a steady slope the heavy-ball step settles at η/(1−μ) times the gradient, on a slope that flips sign "
        "at η/(1+μ): momentum amplifies persistent directions and damps oscillating ones.",
        (Param("mu", "momentum μ", 0.0, 0.99, 0.9, step=0.01),
         _lr(low=1e-4, high=0.1, default=0.01),
         Param("steps", "steps", 10, 5000, 500, integer=True, step=10))),
    _lab(adagrad_decay, "AdaGrad's shrinking step", "adagrad",
        "On a constant gradient AdaGrad's step falls like η/√t because its sum of squares only grows, while "
        "RMSProp's leaky average settles and its step levels off near η.",
        (_lr(low=1e-3, high=1.0, default=0.1),
         Param("alpha", "RMSProp decay α", 0.5, 0.999, 0.99, step=0.001),
         Param("steps", "steps", 100, 5000, 1000, integer=True, step=100))),
    _lab(bias_correction, "Adam with and without bias correction", "adam",
        "Without bias correction Adam's zero-initialised averages make its early steps several times η, peaking "
        "after a dozen steps; with the correction every step on a constant gradient is η.",
        (Param("b1", "β1", 0.0, 0.99, 0.9, step=0.01),
         Param("b2", "β2", 0.9, 0.9999, 0.999, step=0.0001),
         Param("g", "gradient g", 1e-4, 1e3, 1.0, log=True),
         Param("steps", "steps", 10, 3000, 1000, integer=True, step=10))),
    _lab(epsilon_placement, "Where ε goes", "adam",
        "When gradients are tiny, ε inside the square root acts like √ε outside it: the inside placement cuts "
        "the step orders of magnitude earlier than torch's √v̂ + ε.",
        (Param("eps", "ε", 1e-12, 1e-2, 1e-8, log=True),
         Param("g", "your gradient scale |g|", 1e-10, 1.0, 1e-6, log=True))),
    _lab(l2_vs_decoupled, "L2 penalty against decoupled weight decay", "adamw",
        "With Adam + L2 the decay is divided by √v̂, so weights with large gradients barely decay; AdamW shrinks "
        "every weight by the same factor (1 − ηλ) per step.",
        (_lr(low=1e-4, high=0.05, default=1e-3),
         Param("wd", "weight decay λ", 1e-3, 1.0, 0.1, log=True),
         Param("g_busy", "busy weight's gradient size", 1e-2, 100.0, 10.0, log=True),
         Param("g_quiet", "quiet weight's gradient size", 1e-4, 1.0, 0.01, log=True),
         Param("steps", "steps", 10, 2000, 200, integer=True, step=10))),
    _lab(amsgrad_counterexample, "Adam's counterexample, and AMSGrad's fix", "amsgrad",
        "On Reddi, Kale and Kumar's problem Adam with a short-memory β2 is driven to the worst point +1 while "
        "AMSGrad, which never lets its second moment shrink, heads for the optimum −1.",
        (Param("C", "rare gradient C", 2.0, 10.0, 3.0, step=0.1),
         Param("b2", "β2 (β1 = 0)", 0.01, 0.999, 0.1, step=0.001,
               help="The paper's setting is 1/(1 + C²) = 0.1 for C = 3."),
         Param("steps", "steps", 300, 30000, 30000, integer=True, step=300))),
    _lab(warmup, "Adam's first steps with and without warmup", "schedules",
        "On a noisy problem Adam's earliest steps are its largest, each a noisy sample normalised by itself; a "
        "linear warmup keeps them short until the averages have settled.",
        (_lr("lr", "peak learning rate η", 0.01, 2.0, 0.5),
         Param("noise", "gradient noise σ", 0.5, 20.0, 3.0, step=0.5),
         Param("warmup_steps", "warmup steps", 5, 200, 50, integer=True, step=5),
         Param("seed", "noise seed", 0, 99, 0, integer=True))),
    _lab(clipping_scaling, "Clipping and the linear scaling rule", "schedules",
        "Scaling the batch by k and the learning rate by k lands where the small batch does after the same "
        "number of examples, while clipping turns every oversized step into one of length η·c.",
        (_lr(low=1e-3, high=0.05, default=0.01),
         Param("batch", "small batch size B", 1, 64, 4, integer=True),
         Param("k", "batch multiplier k", 2, 16, 4, integer=True),
         Param("sigma", "per-example gradient noise σ", 0.0, 20.0, 8.0, step=0.5),
         Param("clip", "clipping threshold c", 0.1, 50.0, 5.0, log=True),
         Param("big_steps", "large-batch steps", 10, 200, 60, integer=True, step=10),
         Param("seed", "noise seed", 0, 99, 0, integer=True))),
    _lab(saddle_escape, "Escaping the saddle of x² − y²", "sgd",
        "From just off the ridge of x² − y², plain SGD needs ln(1/|y0|)/ln(1+2η) steps to leave; momentum builds "
        "speed and RMSProp and Adam normalise the tiny gradient, so they leave sooner.",
        (Param("y0", "start offset y0", 0.0, 0.1, 0.001, step=0.0005),
         _lr(low=1e-3, high=0.1, default=0.01),
         Param("noise", "gradient noise σ", 0.0, 1.0, 0.0, step=0.05),
         Param("steps", "steps", 100, 5000, 1500, integer=True, step=100))),
    _lab(zero_grad, "Forgetting optimizer.zero_grad()", "sgd",
        "loss.backward() adds into p.grad, so without zero_grad() the step at iteration t is η times the sum of "
        "every gradient so far: momentum with μ = 1.",
        (_lr(low=1e-3, high=0.5, default=0.05),
         Param("steps", "iterations", 5, 200, 40, integer=True, step=5))),
    _lab(nesterov_rate, "Nesterov's O(1/t²) against GD's O(1/t)", "nesterov",
        "On Nesterov's hard convex quadratic, (t+1)²(f − f*) stays below 2L‖x0 − x*‖² for the accelerated "
        "method, while GD at 1/L only keeps t(f − f*) below L‖x0 − x*‖²/2.",
        (Param("L", "smoothness L", 0.1, 100.0, 1.0, log=True),
         Param("dim", "dimension d", 10, 1000, 200, integer=True, step=10),
         Param("steps", "steps", 10, 2000, 400, integer=True, step=10),
         Param("starts", "starts in the batch", 1, 16, 4, integer=True))),
]}


def labs_in_section(section_id: str) -> list[Lab]:
    return [lab for lab in LABS.values() if lab.section == section_id]


def get_lab(lab_id: str) -> Lab:
    if lab_id not in LABS:
        raise ValueError(f"Unknown lab {lab_id!r}; valid ids: {', '.join(LABS)}")
    return LABS[lab_id]
